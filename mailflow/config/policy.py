"""rules/*.toml → frozen dataclasses: the company's policy, editable by HR."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from ..errors import Problem
from .codes import CHECKS, NOTICE_CODES
from .healthrules import HealthRules, load_health
from .tomlread import TableReader, load_toml, raise_if

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
class LawHoliday:
    """One holiday of the law: its first day is a Gregorian date (kind "date"), a lunar
    date ("lunar"), 除夕 ("eve") or a solar term ("term"); `days` days from there."""

    name: str
    kind: str
    month: int
    day: int
    term: str
    days: int


@dataclass(frozen=True)
class StatutoryLaw:
    """全国年节及纪念日放假办法 as in force from the year `since`."""

    since: int
    holidays: tuple[LawHoliday, ...]


def _law(since: int, spring: LawHoliday, labour_days: int) -> StatutoryLaw:
    return StatutoryLaw(since, (
        LawHoliday("元旦", "date", 1, 1, "", 1), spring,
        LawHoliday("清明", "term", 0, 0, "清明", 1),
        LawHoliday("劳动节", "date", 5, 1, "", labour_days),
        LawHoliday("端午", "lunar", 5, 5, "", 1), LawHoliday("中秋", "lunar", 8, 15, "", 1),
        LawHoliday("国庆", "date", 10, 1, "", 3)))


# The law as amended in 2013 (2014–2024) and in 2024 (from 2025: 除夕 and 5-2 added).
# rules/workdays.toml [law.YEAR] replaces it when the law changes again.
DEFAULT_LAW = (_law(2014, LawHoliday("春节", "lunar", 1, 1, "", 3), 1),
               _law(2025, LawHoliday("春节", "eve", 0, 0, "", 4), 2))


@dataclass(frozen=True)
class YearArrangement:
    """A year's 调休 from the State Council's notice: weekdays off (beyond the statutory
    holidays themselves) and weekend days made workdays."""

    year: int
    days_off: frozenset[date]
    workdays: frozenset[date]


@dataclass(frozen=True)
class WorkdayRules:
    week: str
    statutory_holidays: bool
    days_off: frozenset[date]
    extra_workdays: frozenset[date]
    # The week of a year whose 调休 is not known (neither entered under [years] nor in the
    # chinesecalendar package): "" is the configured week (Mon–Fri for "statutory").
    unknown_year: str = ""
    years: tuple[YearArrangement, ...] = ()
    law: tuple[StatutoryLaw, ...] = DEFAULT_LAW
    file: str = "rules/workdays.toml"     # where HR enters [years.YEAR]


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
    # The supervisors' daily clearing (日清) of day D is due at this time on the next
    # workday after D.
    clearing_due_at: time = time(12, 0)
    # hr_assist_until = "auto": HR leaves a region's digests once it met both rates for
    # `hr_assist_weeks` complete weeks in a row; regions in `hr_assist_keep` never leave.
    hr_assist_auto: bool = False
    hr_assist_weeks: int = 4
    hr_assist_on_time_rate: float = 0.95
    hr_assist_clearing_rate: float = 0.90
    hr_assist_keep: tuple[str, ...] = ()
    # HR's compliance mails send their detail CSV zipped past this many MB.
    zip_detail_over_mb: float = 10.0


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class WeeklyRules:
    draft_weekday: int
    draft_at: time
    repeat_highlight_days: int
    due_weekday: int
    due_at: time
    reminder_weekday: int
    reminder_at: time
    close_at: time
    hr_weekday: int
    hr_at: time


@dataclass(frozen=True)
class MonthlyRules:
    indicators_due_day: int
    indicators_due_at: time
    assessment_reminder_at: time
    assessment_due_day: int
    assessment_due_at: time
    close_at: time
    hr_at: time


@dataclass(frozen=True)
class MeetingRules:
    weekday: int
    at: time
    place: str
    send_weekday: int
    send_at: time
    to_roles: tuple[str, ...]
    rules: tuple[str, ...]


DEFAULT_WEEKLY = WeeklyRules(4, time(21, 45), 3, 0, time(10), 0, time(8, 30), time(10, 30), 0, time(9))
DEFAULT_MONTHLY = MonthlyRules(10, time(18), time(10), 3, time(18), time(18, 30), time(9))
DEFAULT_MEETING = MeetingRules(5, time(9), "", 4, time(17), ("sales", "supervisor", "management",
                                                             "hr"), ())


@dataclass(frozen=True)
class LeaveKind:
    name: str
    aliases: tuple[str, ...]
    excused: bool            # true: no report is due on its whole workdays


APPROVALS = ("supervisor", "none")


@dataclass(frozen=True)
class LeaveRules:
    kinds: tuple[LeaveKind, ...]
    approval: str                       # "supervisor" or "none"
    refuse_words: tuple[str, ...]
    approve_words: tuple[str, ...]
    half_day_words: tuple[str, ...]
    registration_words: tuple[str, ...]
    correction_words: tuple[str, ...]
    file: str = "rules/leave.toml"

    def kind(self, word: str) -> LeaveKind | None:
        """The kind a name or alias stands for."""
        for k in self.kinds:
            if word == k.name or word in k.aliases:
                return k
        return None

    @property
    def default_kind(self) -> str:
        """The kind of leave entered without one: the first excused kind."""
        return next((k.name for k in self.kinds if k.excused), self.kinds[0].name)


DEFAULT_LEAVE = LeaveRules(
    (LeaveKind("请假", ("事假", "病假", "年假", "婚假", "丧假", "产假", "陪产假", "休假", "调休"), True),
     LeaveKind("出差", (), False)),
    "supervisor", ("不同意", "不批准", "驳回", "不行", "不可以"),
    ("同意", "批准", "准假", "可以", "好的", "OK", "已批"), ("上午", "下午", "半天"),
    ("请假登记",), ("豁免", "更正"))


@dataclass(frozen=True)
class Policy:
    daily: DailyRules
    workdays: WorkdayRules
    kinds: KindRules
    notify: NotifyRules = field(default_factory=lambda: NotifyRules(
        None, 24, NOTICE_CODES, time(20, 0), time(21, 30), 30, 60))
    weekly: WeeklyRules = DEFAULT_WEEKLY
    monthly: MonthlyRules = DEFAULT_MONTHLY
    meeting: MeetingRules = DEFAULT_MEETING
    leave: LeaveRules = DEFAULT_LEAVE
    health: HealthRules = HealthRules()


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
    order = tuple(ch.str_list("order", list(CHECKS)))
    for name in order:
        if name not in CHECKS:
            ch.problem("order", f"names an unknown check {name!r}",
                       f"use only: {', '.join(CHECKS)}")
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
        return WorkdayRules("statutory", True, frozenset(), frozenset(), file=str(path))
    data = load_toml(path, problems)
    if data is None:
        return None
    t = TableReader(str(path), data, "", problems)
    week = t.get("week", str, "statutory") or "statutory"
    if week not in WEEKS:
        t.problem("week", f"is {week!r}", 'use "statutory", "mon-fri" or "mon-sat"')
    holidays = t.get("statutory_holidays", bool, True)
    unknown = t.get("unknown_year", str, "") or ""
    if unknown not in ("", "mon-fri", "mon-sat"):
        t.problem("unknown_year", f"is {unknown!r}",
                  'use "" (the configured week; Mon–Fri for "statutory"), "mon-fri" or "mon-sat"')
        unknown = ""
    law = _load_law(t) if "law" in data else DEFAULT_LAW
    years = _load_years(t) if "years" in data else ()
    rules = WorkdayRules(week, holidays is not False, _dates(t, "days_off"),
                         _dates(t, "extra_workdays"), unknown, years, law, str(path))
    t.finish()
    return rules


_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _date_list(t: TableReader, name: str) -> list[date]:
    """A list of dates, written as TOML dates (2027-02-05) or strings ("2027-02-05")."""
    out = []
    for value in t.get(name, list, []) or []:
        if isinstance(value, date) and not isinstance(value, datetime):
            out.append(value)
            continue
        try:
            out.append(date.fromisoformat(value))
        except (TypeError, ValueError):
            t.problem(name, f"{value!r} is not a date", "write dates as 2027-02-05")
    return out


def _load_years(root: TableReader) -> tuple[YearArrangement, ...]:
    """HR's entries. Whether a workday entry falls on a holiday by law is checked where the
    law is computed (dates/statutory.py law_conflicts), when the calendar is built."""
    table = root.get("years", dict, {}) or {}
    out = []
    for key, value in table.items():
        if not (key.isdigit() and len(key) == 4):
            root.problem(f"years.{key}", "is not a year",
                         "name each table after its year, e.g. [years.2027]")
            continue
        if not isinstance(value, dict):
            root.problem(f"years.{key}", "must be a table",
                         f"write [years.{key}] with days_off = [...] and workdays = [...]")
            continue
        year = int(key)
        t = TableReader(root.file, value, f"years.{key}", root.problems)
        off, work = _date_list(t, "days_off"), _date_list(t, "workdays")
        seen: set[date] = set()
        for name, days in (("days_off", off), ("workdays", work)):
            for day in days:
                weekday = _WEEKDAY_NAMES[day.weekday()]
                if day.year != year:
                    t.problem(name, f"{day} is not in {year}",
                              f"list only {year}'s dates here; {day.year}'s go under "
                              f"[years.{day.year}]")
                elif day in seen:
                    t.problem(name, f"{day} is listed twice",
                              "list each day once, in days_off or in workdays")
                elif name == "workdays" and day.weekday() < 5:
                    t.problem(name, f"{day} is a {weekday}, a workday anyway",
                              "list only the Saturdays and Sundays the notice makes workdays "
                              "(上班)")
                elif name == "days_off" and day.weekday() >= 5:
                    t.problem(name, f"{day} is a {weekday}, off anyway",
                              "list only the weekdays (Monday–Friday) the notice gives off "
                              "(放假)")
                seen.add(day)
        t.finish()
        out.append(YearArrangement(year, frozenset(off), frozenset(work)))
    return tuple(sorted(out, key=lambda y: y.year))


_LAW_FIX = ('write e.g. 元旦 = { date = "01-01", days = 1 }, 春节 = { lunar = "除夕", days = 4 }, '
            '中秋 = { lunar = "08-15", days = 1 } or 清明 = { term = "清明", days = 1 }')


def _month_day(value: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"(\d{2})-(\d{2})", value)
    if not m or not (1 <= int(m.group(1)) <= 12 and 1 <= int(m.group(2)) <= 31):
        return None
    return int(m.group(1)), int(m.group(2))


# The 24 solar terms, the names a [law] entry may give as `term` (dates/statutory.py finds
# each year's date of one).
SOLAR_TERMS = ("冬至", "小寒", "大寒", "立春", "雨水", "惊蛰", "春分", "清明", "谷雨", "立夏", "小满",
               "芒种", "夏至", "小暑", "大暑", "立秋", "处暑", "白露", "秋分", "寒露", "霜降", "立冬",
               "小雪", "大雪")


def _load_law(root: TableReader) -> tuple[StatutoryLaw, ...]:
    table = root.get("law", dict, {}) or {}
    laws = []
    for key, value in table.items():
        if not (key.isdigit() and len(key) == 4) or not isinstance(value, dict):
            root.problem(f"law.{key}", "is not a table named after the year the law is in "
                         "force from", "write [law.2025] with one line per holiday")
            continue
        found = []
        for name, spec in value.items():
            where = f"law.{key}.{name}"
            t = TableReader(root.file, spec if isinstance(spec, dict) else {}, where,
                            root.problems)
            days = t.get("days", int, 1) or 0
            if not 1 <= days <= 10:
                t.problem("days", f"is {days}", "give the holiday's days, 1 to 10")
            given = [k for k in ("date", "lunar", "term") if k in t.data]
            if not isinstance(spec, dict) or len(given) != 1:
                root.problem(where, "needs exactly one of date, lunar or term", _LAW_FIX)
                continue
            text = t.get(given[0], str, "") or ""
            md = _month_day(text)
            if given[0] == "term":
                if text not in SOLAR_TERMS:
                    t.problem("term", f"{text!r} is not a solar term", "e.g. term = \"清明\"")
                    continue
                found.append(LawHoliday(name, "term", 0, 0, text, days))
            elif given[0] == "lunar" and text == "除夕":
                found.append(LawHoliday(name, "eve", 0, 0, "", days))
            elif md is None or (given[0] == "lunar" and md[1] > 30):
                t.problem(given[0], f"{text!r} is not a month-day",
                          'write it as "MM-DD" (e.g. "10-01"; lunar: "08-15" or "除夕")')
                continue
            else:
                found.append(LawHoliday(name, given[0], md[0], md[1], "", days))
            t.finish()
        laws.append(StatutoryLaw(int(key), tuple(found)))
    if not laws:
        root.problem("law", "names no law", _LAW_FIX)
        return DEFAULT_LAW
    return tuple(sorted(laws, key=lambda x: x.since))


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
    auto = until_s.strip().lower() == "auto"
    if until_s and not auto:
        try:
            until = date.fromisoformat(until_s)
        except ValueError:
            t.problem("hr_assist_until", f"{until_s!r} is not a date",
                      'write "YYYY-MM-DD", "auto" (until each region\'s daily clearing runs in '
                      'order, see [hr_assist]), or "" when HR no longer helps')
    t.finish()
    c = root.sub("clearing")
    clearing_due = _parse_time(c, "due", "12:00")
    c.finish()
    h = root.sub("hr_assist")
    weeks = h.get("weeks", int, 4)
    if weeks is None or weeks < 1:
        h.problem("weeks", f"is {weeks}", "use a whole number of weeks, 1 or more (e.g. 4)")
        weeks = 4
    rates = []
    for key, default in (("on_time_rate", 0.95), ("clearing_rate", 0.90)):
        value = h.get(key, float, default)
        if value is None or not 0 <= value <= 1:
            h.problem(key, f"is {value}", f"use a share from 0 to 1, e.g. {default}")
            value = default
        rates.append(value)
    keep = tuple(h.str_list("keep", []))
    h.finish()
    m = root.sub("hr_mails")
    zip_over = m.get("zip_detail_over_mb", float, 10.0)
    if zip_over is None or zip_over <= 0:
        m.problem("zip_detail_over_mb", f"is {zip_over}",
                  "use a size in MB above 0, e.g. 10 (the mail stays under the 25 MB most "
                  "mail servers accept)")
        zip_over = 10.0
    m.finish()
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
                       send_every, poll_every, clearing_due, auto, weeks, rates[0], rates[1],
                       keep, zip_over)


def _weekday(t: TableReader, name: str, default: str) -> int:
    raw = (t.get(name, str, default) or default).lower()
    if raw not in WEEKDAYS:
        t.problem(name, f"{raw!r} is not a weekday", f"use one of: {', '.join(WEEKDAYS)}")
        return WEEKDAYS.index(default)
    return WEEKDAYS.index(raw)


def _day_of_month(t: TableReader, name: str, default: int) -> int:
    value = t.get(name, int, default) or default
    if not 1 <= value <= 28:
        t.problem(name, f"is {value}", "use a day from 1 to 28 (every month has it)")
        return default
    return value


def _load_weekly(path: Path, problems: list[Problem]) -> WeeklyRules | None:
    data = load_toml(path, problems) if path.exists() else {}
    if data is None:
        return None
    root = TableReader(str(path), data, "", problems)
    d, r, h = root.sub("draft"), root.sub("report"), root.sub("hr")
    to = r.get("to", str, "management")
    if to != "management":
        r.problem("to", f"is {to!r}", 'only "management" ([company] management) is supported')
    rules = WeeklyRules(
        _weekday(d, "weekday", "friday"), _parse_time(d, "time", "21:45"),
        d.get("repeat_highlight_days", int, 3) or 3,
        _weekday(r, "due_weekday", "monday"), _parse_time(r, "due_time", "10:00"),
        _weekday(r, "reminder_weekday", "monday"), _parse_time(r, "reminder_time", "08:30"),
        _parse_time(r, "close_time", "10:30"),
        _weekday(h, "weekday", "monday"), _parse_time(h, "time", "09:00"))
    for t in (d, r, h, root):
        t.finish()
    return rules


def _load_monthly(path: Path, problems: list[Problem]) -> MonthlyRules | None:
    data = load_toml(path, problems) if path.exists() else {}
    if data is None:
        return None
    root = TableReader(str(path), data, "", problems)
    i, a, h = root.sub("indicators"), root.sub("assessment"), root.sub("hr")
    rules = MonthlyRules(
        _day_of_month(i, "due_day", 10), _parse_time(i, "due_time", "18:00"),
        _parse_time(a, "reminder_time", "10:00"), _day_of_month(a, "due_day", 3),
        _parse_time(a, "due_time", "18:00"), _parse_time(a, "close_time", "18:30"),
        _parse_time(h, "time", "09:00"))
    for t in (i, a, h, root):
        t.finish()
    return rules


def _load_meeting(path: Path, problems: list[Problem]) -> MeetingRules | None:
    data = load_toml(path, problems) if path.exists() else {}
    if data is None:
        return None
    t = TableReader(str(path), data, "", problems)
    roles = tuple(t.str_list("to_roles", ["sales", "supervisor", "management", "hr"]))
    for role in roles:
        if role not in ("sales", "supervisor", "management", "hr"):
            t.problem("to_roles", f"{role!r} is not a role", "use sales, supervisor, management, hr")
    rules = MeetingRules(_weekday(t, "weekday", "saturday"), _parse_time(t, "time", "09:00"),
                         t.get("place", str, "") or "", _weekday(t, "send_weekday", "friday"),
                         _parse_time(t, "send_time", "17:00"), roles, tuple(t.str_list("rules")))
    t.finish()
    return rules


def _words(t: TableReader, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    words = tuple(w.strip() for w in t.str_list(name, list(default)))
    if not words or not all(words):
        t.problem(name, "is empty or holds an empty word",
                  f'list at least one word, e.g. {name} = ["{default[0]}"]')
        return default
    return words


def _load_leave(path: Path, problems: list[Problem]) -> LeaveRules | None:
    if not path.exists():
        return DEFAULT_LEAVE
    data = load_toml(path, problems)
    if data is None:
        return None
    d = DEFAULT_LEAVE
    root = TableReader(str(path), data, "", problems)
    approval = root.get("approval", str, d.approval) or d.approval
    if approval not in APPROVALS:
        root.problem("approval", f"is {approval!r}",
                     'use "supervisor" (the supervisor or HR decides by reply) or "none" '
                     "(approved on arrival)")
        approval = d.approval
    kinds: list[LeaveKind] = []
    seen: dict[str, str] = {}
    table = root.sub("kinds")
    for name in list(table.data):
        t = table.sub(name)
        aliases = tuple(a.strip() for a in t.str_list("aliases"))
        excused = t.get("excused", bool, None, required=True,
                        fix=f'add excused = true (no report due) or false to [kinds."{name}"]')
        t.finish()
        for word in (name, *aliases):
            if not word:
                t.problem("aliases", "holds an empty word", "remove the empty string")
            elif word in seen:
                t.problem("aliases", f"{word!r} is also a name of kind {seen[word]!r}",
                          "a word may stand for one kind only")
            seen[word] = name
        kinds.append(LeaveKind(name, aliases, bool(excused)))
    if not kinds:
        root.problem("kinds", "names no kind of leave",
                     'add one, e.g. [kinds."请假"] with aliases = ["病假", "年假"] and '
                     "excused = true")
        kinds = list(d.kinds)
    w = root.sub("words")
    refuse = _words(w, "refuse", d.refuse_words)
    approve = _words(w, "approve", d.approve_words)
    half = _words(w, "half_day", d.half_day_words)
    w.finish()
    s = root.sub("subjects")
    registration = _words(s, "registration", d.registration_words)
    correction = _words(s, "correction", d.correction_words)
    s.finish()
    root.finish()
    return LeaveRules(tuple(kinds), approval, refuse, approve, half, registration, correction,
                      str(path))


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
    weekly = _load_weekly(rules_dir / "weekly.toml", problems)
    monthly = _load_monthly(rules_dir / "monthly.toml", problems)
    meeting = _load_meeting(rules_dir / "meeting.toml", problems)
    leave = _load_leave(rules_dir / "leave.toml", problems)
    health = load_health(rules_dir / "health.toml", problems)
    raise_if(problems)
    assert daily is not None and workdays is not None and kinds is not None and notify
    assert weekly is not None and monthly is not None and meeting is not None
    assert leave is not None
    if notify.close_day_at <= daily.deadline:
        problems.append(Problem(str(rules_dir / "notify.toml"), "schedule.close_day",
                                f"{notify.close_day_at:%H:%M} is not after the deadline "
                                f"{daily.deadline:%H:%M}", "close the day after the deadline"))
        raise_if(problems)
    return Policy(daily, workdays, kinds, notify, weekly, monthly, meeting, leave, health)
