"""The supervisor's daily-clearing (日清) digest: one per supervisor per workday, after the
day's close, also when everyone reported (HR in Cc during the transition)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, partial
from typing import Any

from sqlalchemy import Row, select

from ..app import App
from ..config.roster import Person
from ..dates.deadlines import deadline_for, previous_workday
from ..records.clearing import TeamDay, team_days
from ..records.transition import ended, hr_on_digest
from ..records.days import PersonDay, day_status
from ..store import queries
from ..store.among import narrowed
from ..store.models import Report, Violation
from .letters import (COLOURS, Letter, Queued, money, name_of, queue_letters, renderer_for,
                      weekday_label)


@dataclass(frozen=True)
class DayReads:
    """What the digests of some teams read of the record for a day: when it was closed,
    each person's reports of the day (in the order received) and standing rule breaks
    (in the order recorded), and the supervisors' days before (日清)."""

    cutoff: datetime
    reports: dict[str, list[Row[Any]]]
    violations: dict[str, list[Row[Any]]]
    before: dict[str, dict[date, TeamDay]]


def day_reads(app: App, day: date, teams: list[tuple[Person, list[Person]]]) -> DayReads:
    """The reads of the digests of `teams`, a few queries for all of them. Many people
    are read as the whole day, the rows of others dropped."""
    wanted = {p.email for _, team in teams for p in team}
    reports: dict[str, list[Row[Any]]] = defaultdict(list)
    violations: dict[str, list[Row[Any]]] = defaultdict(list)
    with app.read() as session:
        closed = queries.day_closed(session, day)
        cutoff = closed.closed_at if closed is not None else app.now()
        query = select(
            Report.email, Report.received_at, Report.mail_id, Report.metrics,
            # Only the section the digest quotes: the whole report is most of the row.
            Report.fields["issues"].as_string().label("issues")).where(
            Report.report_date == day, Report.kind == "daily")
        for r in session.execute(narrowed(query, Report.email, wanted).order_by(Report.received_at, Report.id)
                                 .execution_options(yield_per=2000)):
            if r.email in wanted:
                reports[r.email].append(r)
        query = select(Violation.email, Violation.code, Violation.detail, Violation.scope,
                       Violation.mail_id).where(Violation.date == day,
                                                Violation.withdrawn.is_(False))
        for v in session.execute(narrowed(query, Violation.email, wanted)
                                 .order_by(Violation.id)):
            if v.email in wanted:
                violations[v.email].append(v)
    prev = previous_workday(app, day)
    before = team_days(app, prev, prev, {sup.email for sup, _ in teams}) \
        if prev is not None else {}
    return DayReads(cutoff, reports, violations, before)


def digest_context(app: App, day: date, supervisor: Person, team: list[Person],
                   statuses: dict[str, PersonDay], reads: DayReads | None = None
                   ) -> dict[str, Any]:
    """A supervisor's day. A copy or subject break that the person corrected by sending
    again before the day's close is shown as corrected, not as something to follow up;
    the record keeps the break. `reads`: what `day_reads` read for this team among
    others, else it is read here."""
    renderer = renderer_for(app)
    if reads is None:
        reads = day_reads(app, day, [(supervisor, team)])
    cutoff = reads.cutoff
    latest: dict[str, Row[Any]] = {}
    by_close: dict[str, int | None] = {}
    early: set[int | None] = set()
    found = []
    for p in team:
        for r in reads.reports.get(p.email, ()):
            latest[r.email] = r
            if r.received_at <= cutoff:
                by_close[r.email] = r.mail_id
                early.add(r.mail_id)
        found += reads.violations.get(p.email, ())
    details = {(v.email, v.code): v.detail for v in found}
    # A break the notice asks to correct by sending again stands while the latest version
    # sent before the day's close still carries it.
    correctable = set(app.policy.notify.notice_codes)
    standing = {(v.email, v.code) for v in found
                if v.scope != "mail" or v.code not in correctable or v.mail_id not in early
                or v.mail_id == by_close.get(v.email)}
    people, issues = [], []
    totals = {"visits": 0.0, "sales": 0.0, "collections": 0.0}
    counts = {"due": 0, "reported": 0, "late": 0, "missing": 0, "breaks": 0, "corrected": 0,
              "excused": 0}
    tz, label = app.tz, renderer.label
    statuses_seen: dict[str, int] = dict.fromkeys(COLOURS, 0)
    for person in team:
        st = statuses[person.email]
        report = latest.get(person.email)
        metrics = report.metrics if report else {}
        for k in totals:
            totals[k] += float(metrics.get(k, 0) or 0)
        breaks: list[str] = []
        corrected: list[str] = []
        for c in st.violations:      # most people have none
            if c in ("late", "missing"):
                continue
            text = label(c, details.get((person.email, c), ""))
            if (person.email, c) in standing:
                breaks.append(text)
            else:
                corrected.append(label("corrected", text))
        statuses_seen[st.status] += 1
        counts["breaks"] += bool(breaks)
        counts["corrected"] += bool(corrected) and not breaks
        people.append({
            "name": person.name, "probation": person.probation,
            "status_text": label(st.status), "colour": COLOURS[st.status],
            "time": st.received_at.astimezone(tz).strftime("%H:%M") if st.received_at else "",
            "breaks": breaks, "corrected": corrected,
            "leave": {"kind": st.leave, "approved_by": name_of(app, st.approved_by, day)
                      if st.approved_by else ""} if st.leave else None,
            "metrics": {k: money(metrics.get(k, 0) or 0) for k in totals} if report else None,
        })
        if report and (report.issues or "").strip() not in ("", "无"):
            issues.append({"name": person.name, "text": report.issues.strip()})
    counts["due"] = len(team) - statuses_seen["not_due"] - statuses_seen["excused"]
    counts["excused"] = statuses_seen["excused"]
    counts["reported"] = statuses_seen["on_time"] + statuses_seen["late"]
    counts["late"] = statuses_seen["late"]
    counts["missing"] = statuses_seen["missing"]
    due = deadline_for(day, app.context())
    return {"unreviewed": unreviewed_before(app, day, supervisor, reads.before),
            "supervisor_name": supervisor.name, "region": supervisor.region or team[0].region,
            "date": day.isoformat(), "weekday": weekday_label(day),
            "deadline": f"{due.astimezone(app.tz):%H:%M}", "people": people, "issues": issues,
            "counts": counts, "totals": {k: money(v) for k, v in totals.items()},
            "calendar_note": app.workdays.note(day)}


def unreviewed_before(app: App, day: date, supervisor: Person,
                      before: dict[str, dict[date, TeamDay]] | None = None
                      ) -> dict[str, Any] | None:
    """The reports of the workday before `day` this supervisor has not reviewed yet.
    `before`: that day's `team_days` read already for this supervisor among others."""
    prev = previous_workday(app, day)
    if prev is None:
        return None
    if before is None:
        before = team_days(app, prev, prev, {supervisor.email})
    td = before.get(supervisor.email, {}).get(prev)
    if td is None or not td.unreviewed:
        return None
    return {"date": prev.isoformat(), "weekday": weekday_label(prev),
            "people": [p.name for p, _ in sorted(td.unreviewed, key=lambda u: u[1])]}


def teams(app: App, day: date) -> list[tuple[Person, list[Person]]]:
    out = []
    for email, team in sorted(app.roster.teams_on(day).items()):
        sup = app.roster.person(email, day)
        if sup is not None:
            out.append((sup, sorted(team, key=lambda p: p.email)))
    return out


def queue_digests(app: App, day: date) -> Queued:
    """One digest per supervisor per workday, also when everyone reported."""
    if not app.workdays.is_workday(day):
        return Queued(0, 0, f"{day} is not a workday: no digests")
    hr = [(name_of(app, a, day), a) for a in app.settings.company.hr]
    statuses = {p.email: p for p in day_status(app, day)}

    ends = ended(app) if app.policy.notify.hr_assist_auto else {}
    everyone = teams(app, day)
    # The day is read once for every team, when the first digest is built (a rerun that
    # finds them all queued reads nothing): a day's rows are small and bounded by the
    # day, and team by team 2,000 teams were 700 statements, half of close-day.
    reads = cache(lambda: day_reads(app, day, everyone))

    def letter(sup: Person, team: list[Person]) -> Letter:
        region = sup.region or team[0].region
        return Letter([(sup.name, sup.email)],
                      digest_context(app, day, sup, team, statuses, reads()),
                      hr if hr_on_digest(app, region, day, ends) else [])

    return queue_letters(app, "digest", day.isoformat(),
                         ((f"digest|{sup.email}|{day}", partial(letter, sup, team))
                          for sup, team in everyone))


def samples() -> dict[str, dict[str, Any]]:
    """Sample context of each kind written here, for check-config and the tests."""
    person = {"name": "张三", "status_text": "按时", "colour": COLOURS["on_time"], "time": "20:05",
              "breaks": ["人事未抄送"], "corrected": ["标题日期不符（已更正）"], "probation": True,
              "metrics": {"visits": "3", "sales": "12,000", "collections": "0"}, "leave": None}
    away = {**person, "status_text": "请假", "colour": COLOURS["excused"], "time": "",
            "breaks": [], "corrected": [], "metrics": None,
            "leave": {"kind": "年假", "approved_by": "钱主管"}}
    return {"digest": {"unreviewed": {"date": "2026-11-25", "weekday": "周三",
                                      "people": ["张三"]},
                       "supervisor_name": "钱主管", "region": "华东", "date": "2026-11-26",
                       "weekday": "周四", "deadline": "21:00", "people": [person, away],
                       "issues": [{"name": "张三", "text": "需要样品"}],
                       "counts": {"due": 1, "reported": 1, "late": 0, "missing": 0,
                                  "breaks": 1, "corrected": 0, "excused": 1},
                       "totals": {"visits": "3", "sales": "12,000", "collections": "0"},
                       "calendar_note": {"year": 2027, "week": "mon-fri"}}}
