"""rules/*.toml → frozen dataclasses: the company's policy, editable by HR."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path

from .errors import Problem
from .tomlread import TableReader, load_toml, raise_if

KNOWN_CHECKS = ("sender", "deadline", "copy", "sections", "dates")
NOTICE_CODES = ("hr_not_cc", "not_to_supervisor", "missing_section", "date_mismatch")
WEEKS = ("statutory", "mon-fri", "mon-sat")


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    aliases: tuple[str, ...]
    required: bool

    @property
    def names(self) -> tuple[str, ...]:
        return (self.heading, *self.aliases)


@dataclass(frozen=True)
class Metric:
    name: str
    section: str
    pattern: re.Pattern[str] | None


@dataclass(frozen=True)
class DailyRules:
    deadline: time
    grace_minutes: int
    max_backdate_workdays: int
    patterns: tuple[str, ...]
    reply_prefixes: tuple[str, ...]
    forward_prefixes: tuple[str, ...]
    checks: tuple[str, ...]
    sections: tuple[Section, ...]
    metrics: tuple[Metric, ...]


@dataclass(frozen=True)
class WorkdayRules:
    week: str
    statutory_holidays: bool
    days_off: frozenset[date]
    extra_workdays: frozenset[date]


@dataclass(frozen=True)
class KindRule:
    kind: str
    patterns: tuple[str, ...]
    from_role: str
    attachment: bool


@dataclass(frozen=True)
class KindRules:
    others: tuple[KindRule, ...]
    auto_subject_prefixes: tuple[str, ...]
    auto_senders: tuple[str, ...]


@dataclass(frozen=True)
class NotifyRules:
    hr_assist_until: date | None
    notice_max_age_hours: int
    notice_codes: tuple[str, ...]
    reminder_at: time
    close_day_at: time
    send_every_seconds: int
    poll_every_seconds: int


@dataclass(frozen=True)
class Policy:
    daily: DailyRules
    workdays: WorkdayRules
    kinds: KindRules
    notify: NotifyRules = field(default_factory=lambda: NotifyRules(
        None, 24, NOTICE_CODES, time(20, 0), time(21, 30), 30, 60))


def _parse_time(t: TableReader, name: str, default: str) -> time:
    raw = t.get(name, str, default) or default
    try:
        hh, mm = raw.split(":")
        return time(int(hh), int(mm))
    except ValueError:
        t.problem(name, f"{raw!r} is not a time of day", 'write it as "HH:MM", e.g. "21:00"')
        return time.fromisoformat(default)


def _dates(t: TableReader, name: str) -> frozenset[date]:
    out = set()
    for raw in t.str_list(name):
        try:
            out.add(date.fromisoformat(raw))
        except ValueError:
            t.problem(name, f"{raw!r} is not a date", 'write dates as "YYYY-MM-DD"')
    return frozenset(out)


def _load_daily(path: Path, problems: list[Problem]) -> DailyRules | None:
    data = load_toml(path, problems)
    if data is None:
        return None
    file = str(path)
    root = TableReader(file, data, "", problems)
    d = root.sub("deadline")
    deadline = _parse_time(d, "time", "21:00")
    grace = d.get("grace_minutes", int, 0) or 0
    backdate = d.get("max_backdate_workdays", int, 3)
    if grace < 0:
        d.problem("grace_minutes", "is negative", "use 0 or more minutes")
    d.finish()
    s = root.sub("subject")
    patterns = tuple(p.lower() for p in s.str_list("patterns", ["日报", "工作日报", "daily report"]))
    if not patterns:
        s.problem("patterns", "is empty", 'list at least one subject word, e.g. ["日报"]')
    replies = tuple(p.lower() for p in s.str_list("reply_prefixes", ["re", "回复", "答复"]))
    forwards = tuple(p.lower() for p in s.str_list("forward_prefixes", ["fw", "fwd", "转发"]))
    s.finish()
    ch = root.sub("checks")
    order = tuple(ch.str_list("order", list(KNOWN_CHECKS)))
    for name in order:
        if name not in KNOWN_CHECKS:
            ch.problem("order", f"names an unknown check {name!r}",
                       f"use only: {', '.join(KNOWN_CHECKS)}")
    ch.finish()

    sections: list[Section] = []
    seen_keys: set[str] = set()
    seen_names: dict[str, str] = {}
    for i, raw in enumerate(root.get("sections", list, []) or []):
        if not isinstance(raw, dict):
            root.problem(f"sections[{i}]", "must be a table", "write it as [[sections]]")
            continue
        t = TableReader(file, raw, f"sections[{i}]", problems)
        key = t.get("key", str, f"s{i}", required=True) or f"s{i}"
        heading = t.get("heading", str, "", required=True) or ""
        aliases = tuple(t.str_list("aliases"))
        required = bool(t.get("required", bool, False))
        t.finish()
        if key in seen_keys:
            t.problem("key", f"{key!r} is used by two sections", "give each section its own key")
        seen_keys.add(key)
        for name in (heading, *aliases):
            if name in seen_names and seen_names[name] != key:
                t.problem("aliases", f"{name!r} is also a heading of section {seen_names[name]!r}",
                          "a heading may belong to one section only")
            seen_names[name] = key
        sections.append(Section(key, heading, aliases, required))
    if not sections:
        root.problem("sections", "no [[sections]] are defined",
                     "describe the report's sections (key, heading, aliases, required)")

    metrics: list[Metric] = []
    m = root.sub("metrics")
    for name in list(m.data):
        t = m.sub(name)
        section = t.get("section", str, "", required=True) or ""
        if section and section not in seen_keys:
            t.problem("section", f"{section!r} is not a section key",
                      f"use one of: {', '.join(sorted(seen_keys))}")
        pattern_s = t.get("pattern", str, None)
        pattern = None
        if pattern_s:
            try:
                pattern = re.compile(pattern_s)
                if pattern.groups != 1:
                    t.problem("pattern", "must have exactly one (group) around the number",
                              r'e.g. pattern = "共拜访(\d+)家"')
            except re.error as exc:
                t.problem("pattern", f"is not a valid regular expression: {exc}",
                          "correct the expression")
        t.finish()
        metrics.append(Metric(name, section, pattern))
    root.finish()
    return DailyRules(deadline, grace, backdate if backdate is not None else 3, patterns,
                      replies, forwards, order, tuple(sections), tuple(metrics))


def _load_workdays(path: Path, problems: list[Problem]) -> WorkdayRules | None:
    if not path.exists():
        return WorkdayRules("statutory", True, frozenset(), frozenset())
    data = load_toml(path, problems)
    if data is None:
        return None
    t = TableReader(str(path), data, "", problems)
    week = t.get("week", str, "statutory") or "statutory"
    if week not in WEEKS:
        t.problem("week", f"is {week!r}", 'use "statutory", "mon-fri" or "mon-sat"')
    holidays = t.get("statutory_holidays", bool, True)
    rules = WorkdayRules(week, holidays is not False, _dates(t, "days_off"),
                         _dates(t, "extra_workdays"))
    t.finish()
    return rules


_KIND_DEFAULTS = {
    "weekly": (["周报"], "supervisor", False),
    "assessment": (["考核表"], "supervisor", True),
    "indicators": (["考核指标", "指标确认"], "", True),
}


def _load_kinds(path: Path, problems: list[Problem]) -> KindRules | None:
    data = load_toml(path, problems) if path.exists() else {}
    if data is None:
        return None
    root = TableReader(str(path), data, "", problems)
    others = []
    for kind, (patterns, role, attachment) in _KIND_DEFAULTS.items():
        t = root.sub(kind)
        role_v = t.get("from_role", str, role)
        if role_v and role_v not in ("sales", "supervisor", "hr", "management"):
            t.problem("from_role", f"is {role_v!r}", 'use sales, supervisor, hr, management or ""')
        others.append(KindRule(kind, tuple(p.lower() for p in t.str_list("patterns", patterns)),
                               role_v or "", bool(t.get("attachment", bool, attachment))))
        t.finish()
    a = root.sub("auto_reply")
    prefixes = tuple(p.lower() for p in a.str_list("subject_prefixes", ["自动回复", "auto reply",
                                                                        "out of office"]))
    senders = tuple(p.lower() for p in a.str_list("senders", ["mailer-daemon", "postmaster"]))
    a.finish()
    root.finish()
    return KindRules(tuple(others), prefixes, senders)


def _load_notify(path: Path, problems: list[Problem]) -> NotifyRules | None:
    data = load_toml(path, problems) if path.exists() else {}
    if data is None:
        return None
    root = TableReader(str(path), data, "", problems)
    t = root.sub("transition")
    until_s = t.get("hr_assist_until", str, "") or ""
    until = None
    if until_s:
        try:
            until = date.fromisoformat(until_s)
        except ValueError:
            t.problem("hr_assist_until", f"{until_s!r} is not a date",
                      'write "YYYY-MM-DD", or "" when HR no longer helps')
    t.finish()
    n = root.sub("notices")
    max_age = n.get("max_age_hours", int, 24)
    codes = tuple(n.str_list("codes", list(NOTICE_CODES)))
    for code in codes:
        if code not in NOTICE_CODES:
            n.problem("codes", f"{code!r} cannot have a notice",
                      f"use only: {', '.join(NOTICE_CODES)}")
    n.finish()
    s = root.sub("schedule")
    reminder = _parse_time(s, "reminder", "20:00")
    close = _parse_time(s, "close_day", "21:30")
    send_every = s.get("send_every_seconds", int, 30) or 30
    poll_every = s.get("poll_every_seconds", int, 60) or 60
    s.finish()
    root.finish()
    return NotifyRules(until, max_age if max_age is not None else 24, codes, reminder, close,
                       send_every, poll_every)


def load_policy(rules_dir: Path) -> Policy:
    problems: list[Problem] = []
    if not rules_dir.is_dir():
        problems.append(Problem(str(rules_dir), "(folder)", "does not exist",
                                "point [company] rules at the folder of policy files, or run "
                                "`mailflow init` to write one"))
        raise_if(problems)
    daily = _load_daily(rules_dir / "daily.toml", problems)
    workdays = _load_workdays(rules_dir / "workdays.toml", problems)
    kinds = _load_kinds(rules_dir / "kinds.toml", problems)
    notify = _load_notify(rules_dir / "notify.toml", problems)
    raise_if(problems)
    assert daily is not None and workdays is not None and kinds is not None and notify
    if notify.close_day_at <= daily.deadline:
        problems.append(Problem(str(rules_dir / "notify.toml"), "schedule.close_day",
                                f"{notify.close_day_at:%H:%M} is not after the deadline "
                                f"{daily.deadline:%H:%M}", "close the day after the deadline"))
        raise_if(problems)
    return Policy(daily, workdays, kinds, notify)
