"""Figures over a period (a week, a month) read from the record: each person's days,
metrics, the items they raised, the supervisors' weekly reports. The weekly drafts, HR's
compliance mails and the month-end sheets are built from these, and `export` reads the
same records, so their figures agree."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ..app import App
from ..dates.periods import weekly_due
from ..config.codes import BREAK_CODES
from ..config.roster import Person
from ..store import leave
from ..store.among import narrowed
from ..store.models import DayClose, Mail, Report, Violation


# The sections a period's items come from (its plan comes from "plan").
ITEM_SECTIONS = ("issues", "competitors")


@dataclass
class PersonPeriod:
    """A person's workdays in a period. A day's status is on_time or late (by the first
    report), missing (the day was closed without one), pending (not closed yet, no
    report), excused (leave, or a `missing` withdrawn: counted on its own, never due) or
    not_due (not on the roster as a salesperson that day)."""

    person: Person
    days: dict[date, str] = field(default_factory=dict)        # workday → status
    times: dict[date, str] = field(default_factory=dict)       # workday → HH:MM of first report
    metrics: dict[str, float] = field(default_factory=dict)
    breaks: Counter[str] = field(default_factory=Counter)
    items: list[tuple[str, date, str, str]] = field(default_factory=list)  # key, day, text, msgid
    plan: str = ""

    def count(self, status: str) -> int:
        return sum(1 for s in self.days.values() if s == status)

    @property
    def due(self) -> int:
        """Days that were due and have been judged (pending days are not counted yet;
        excused days are never due)."""
        return sum(1 for s in self.days.values() if s in ("on_time", "late", "missing"))


@dataclass
class WeeklyReportState:
    supervisor: Person
    status: str                      # on_time, late, missing, not_due (not yet due)
    received_at: datetime | None
    message_id: str | None


def person_periods(app: App, start: date, end: date, people: list[Person] | None = None, *,
                   supervisor: str | None = None, figures: bool = True,
                   items: bool = True, days: bool = True) -> list[PersonPeriod]:
    """Every salesperson on the roster at some point in [start, end], day by day, one
    PersonPeriod per team (region and supervisor) they were in: a person who moves region
    mid-period has one for each, holding that team's days, figures and rule breaks only,
    as the roster of each day says. `supervisor` keeps only that supervisor's team.
    `figures=False` leaves metrics, items and plan empty and does not read the reports'
    text: what the compliance mails need of a whole company's month. `items=False` reads
    the metrics but not the reports' text (items and plan stay empty): decoding each
    report's fields is most of what reading a month costs. `days=False` leaves days, times
    and breaks empty and reads neither rule breaks nor leave: the figures alone, for a
    period a draft compares with."""
    workdays = app.workdays.workdays_between(start, end)
    if people is None:
        people = sales_between(app, start, end)
    emails = [p.email for p in people]
    wanted = set(emails)
    with app.read() as session:
        # As of the clock: a back-fill with --now sees the record as it stood then. The
        # columns, not Report objects: a month of a large company is 100,000 rows.
        columns = [Report.email, Report.report_date, Report.received_at, Report.earned_status]
        if figures:
            # Of the report's text only the sections listed: the whole `fields` is most of
            # the row, and decoding it most of what reading a week costs.
            columns += [Report.metrics] + ([Report.fields[key].as_string().label(key)
                                            for key in (*ITEM_SECTIONS, "plan")]
                                           + [Report.message_id] if items else [])
        query = select(*columns).where(
            Report.kind == "daily", Report.report_date >= start, Report.report_date <= end,
            Report.received_at <= app.now())
        query = narrowed(query, Report.email, emails)
        # Streamed (a server-side cursor on PostgreSQL): only the first version of each
        # day (its status and time) and, for figures, the latest are kept.
        first: dict[tuple[str, date], tuple[str, datetime]] = {}
        latest: dict[str, dict[date, Any]] = defaultdict(dict)
        statuses: dict[str, str] = {}
        for r in session.execute(query.order_by(Report.received_at, Report.id)
                                 .execution_options(yield_per=2000)):
            if r.email not in wanted:
                continue
            key = (r.email, r.report_date)
            if key not in first:
                first[key] = (statuses.setdefault(r.earned_status, r.earned_status),
                              r.received_at)
            if figures:
                latest[r.email][r.report_date] = r
        violations: list[Any] = []
        closed: set[date] = set()
        excused: set[tuple[str, date]] = set()
        if days:
            query = select(Violation.email, Violation.date, Violation.code).where(
                Violation.date >= start, Violation.date <= end,
                Violation.code.in_(BREAK_CODES), Violation.withdrawn.is_(False))
            query = narrowed(query, Violation.email, emails)
            violations = list(session.execute(query))
            closed = set(session.scalars(select(DayClose.day).where(DayClose.day >= start,
                                                                    DayClose.day <= end)))
            excused = leave.cover(session, app.policy.leave, app.workdays, start, end,
                                  emails).excused
    breaks: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for email, day, code in violations:
        breaks[email].append((day, code))
    out = []
    tz = app.tz
    for person in people:
        email = person.email
        teams: dict[tuple[str, str], PersonPeriod] = {}
        # Most people have one roster row for the whole period: then it is the row of
        # every day, without a lookup per day (a million at 50,000 people).
        rows = app.roster.rows(email)
        steady = rows[0] if len(rows) == 1 and rows[0].active_on(start) and \
            rows[0].active_on(end) else None

        def team_on(day: date, *, latest_row: bool = False) -> PersonPeriod | None:
            row = steady if steady is not None else app.roster.person(email, day)
            if row is None or row.role != "sales" or \
                    (supervisor is not None and row.supervisor != supervisor):
                return None
            pp = teams.get((row.region, row.supervisor))
            if pp is None:
                pp = teams[(row.region, row.supervisor)] = PersonPeriod(row)
            elif latest_row:
                pp.person = row      # the team's latest row names it (probation may end)
            return pp

        # A steady person is in one team every day (or in none): asked once, not per day.
        same = team_on(start) if steady is not None and days and workdays else None
        for day in workdays if days else ():
            pp = same if steady is not None else team_on(day, latest_row=True)
            if pp is None:
                continue
            person_day = (email, day)
            got = first.get(person_day)
            if person_day in excused:
                pp.days[day] = "excused"
            elif got is not None:
                pp.days[day] = got[0]
                pp.times[day] = got[1].astimezone(tz).strftime("%H:%M")
            else:
                pp.days[day] = "missing" if day in closed else "pending"
        for day, r in sorted(latest.get(email, {}).items()):
            pp = team_on(day)
            if pp is None:
                continue
            for k, v in (r.metrics or {}).items():
                pp.metrics[k] = pp.metrics.get(k, 0) + float(v)
            if not items:
                continue
            for key in ITEM_SECTIONS:
                text = (getattr(r, key) or "").strip()
                if text and text not in ("无", "暂无", "没有"):
                    pp.items.append((key, day, text, r.message_id or ""))
            if (r.plan or "").strip():
                pp.plan = r.plan.strip()
        for day, code in breaks.get(email, ()):
            pp = team_on(day)
            if pp is not None:
                pp.breaks[code] += 1
        for pp in teams.values():
            if days:
                pp.days = {d: pp.days.get(d, "not_due") for d in workdays}
            out.append(pp)
    return out


def sales_between(app: App, start: date, end: date) -> list[Person]:
    """Every salesperson on the roster on some workday of [start, end] (their row of the
    first such day), by region and email: the people `person_periods` covers by default."""
    seen: dict[str, Person] = {}
    for day in app.workdays.workdays_between(start, end) or [start]:
        for p in app.roster.on(day, "sales"):
            seen.setdefault(p.email, p)
    return sorted(seen.values(), key=lambda p: (p.region, p.email))


# People whose records one read holds when a whole company's period is gone through, or
# its mails are built team by team: 2,000 teams cost a hundred reads, not thousands, and a
# read asks for its people by address and holds a few hundred people's rows at a time.
CHUNK = 500


def person_periods_chunked(app: App, start: date, end: date, *, figures: bool = True
                           ) -> Iterator[list[PersonPeriod]]:
    """`person_periods` of everyone, CHUNK people at a time in the same order: what a
    caller holds is one chunk's days, not a whole company's month (a million person-days
    at 50,000 people). Each chunk is its own short read."""
    people = sales_between(app, start, end)
    for i in range(0, len(people), CHUNK):
        yield person_periods(app, start, end, people[i:i + CHUNK], figures=figures)


def team_periods(app: App, start: date, end: date, teams: dict[str, list[Person]], *,
                 figures: bool = True, items: bool = True, days: bool = True
                 ) -> dict[str, list[PersonPeriod]]:
    """`person_periods(app, start, end, team, supervisor=sup)` for each supervisor → team
    of `teams`, read in one pass for all of them: the same PersonPeriods in the same
    order, without a round of queries per team."""
    people = sorted({p.email: p for team in teams.values() for p in team}.values(),
                    key=lambda p: p.email)
    members = {sup: {p.email: i for i, p in enumerate(team)} for sup, team in teams.items()}
    out: dict[str, list[PersonPeriod]] = {sup: [] for sup in teams}
    for pp in person_periods(app, start, end, people, figures=figures, items=items,
                             days=days):
        sup = pp.person.supervisor
        if sup in members and pp.person.email in members[sup]:
            out[sup].append(pp)
    for sup, found in out.items():   # in the team's order, as a call per team gives them
        found.sort(key=lambda pp: members[sup][pp.person.email])
    return out


def teams_between(app: App, start: date, end: date) -> dict[str, list[Person]]:
    """Supervisor → the salespeople in their team on some workday of [start, end] (each
    person's row of their first day in it)."""
    by_sup: dict[str, dict[str, Person]] = {}
    for day in app.workdays.workdays_between(start, end):
        for p in app.roster.on(day, "sales"):
            by_sup.setdefault(p.supervisor, {}).setdefault(p.email, p)
    return {sup: sorted(people.values(), key=lambda p: p.email) for sup, people in by_sup.items()}


def on_roster_for(app: App, email: str, role: str, due: date, today: date) -> bool:
    """Whether a form due on `due` is owed by this person: in `role` on the day it was due
    and still on the roster today. Someone who joined after the due date, or has left,
    owes nothing."""
    row = app.roster.person(email, due)
    return row is not None and row.role == role and \
        app.roster.person(email, today) is not None


def record_start(app: App) -> date | None:
    """The first day mailflow closed: before it there is no record to report on."""
    with app.read() as session:
        return session.scalars(select(DayClose.day).order_by(DayClose.day)).first()


def weekly_reports(app: App, monday: date) -> list[WeeklyReportState]:
    """Each supervisor's weekly report for the week starting `monday`."""
    rules = app.policy.weekly
    due = weekly_due(monday, rules.due_weekday, rules.due_at, app.tz)
    supervisors = sorted(app.roster.on(monday, "supervisor"), key=lambda p: p.email)
    with app.read() as session:
        firsts: dict[str, Report] = {}
        for r in session.scalars(select(Report).where(
                Report.kind == "weekly", Report.report_date == monday,
                Report.received_at <= app.now()).order_by(Report.received_at, Report.id)):
            firsts.setdefault(r.email, r)
    out = []
    for sup in supervisors:
        r = firsts.get(sup.email)
        if r is not None:
            status = "late" if r.received_at > due else "on_time"
        else:
            status = "missing" if app.now() > due else "not_due"
        out.append(WeeklyReportState(sup, status, r.received_at if r else None,
                                     r.message_id if r else None))
    return out


def repeated(items: list[tuple[str, date, str, str]], days: int) -> set[str]:
    """Texts raised on `days` or more different days (the same words, trimmed)."""
    seen: dict[str, set[date]] = {}
    for _, day, text, _ in items:
        seen.setdefault(text.strip("。. "), set()).add(day)
    return {text for text, ds in seen.items() if len(ds) >= days}


def unreadable_and_suspect(app: App, start: date, end: date) -> dict[str, list[str]]:
    """Mail HR should look at: unparsed, unknown senders, suspected spoofs."""
    lo = datetime.combine(start, datetime.min.time(), tzinfo=app.tz)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=app.tz)
    with app.read() as session:
        bad = [f"{m.received_at.astimezone(app.tz):%m-%d %H:%M} {m.mailbox}: {m.error}"
               for m in session.execute(select(Mail.received_at, Mail.mailbox, Mail.error).where(
                   Mail.state == "unparsed", Mail.received_at >= lo, Mail.received_at < hi)
                   .order_by(Mail.received_at))]
        # Each with its mail's subject, which says more to HR than the address again.
        codes = {code: [f"{v.date} {v.email}"
                        + (f": {v.detail}" if v.detail and v.detail != v.email else "")
                        + (f"「{subject}」" if subject else "")
                        for v, subject in session.execute(
            select(Violation, Mail.subject).outerjoin(Mail, Mail.id == Violation.mail_id)
            .where(Violation.code == code, Violation.date >= start,
                   Violation.date <= end, Violation.withdrawn.is_(False))
            .order_by(Violation.date))]
                 for code in ("unknown_sender", "spoof_suspected")}
    return {"unparsed": bad, **codes}
