"""The supervisors' daily clearing (日清) read from the record: who reviewed which report
and when, each supervisor's day (cleared on time or not, or not yet due), closing a day's
clearing (`clearing_missing`), and the figures over a period.

A supervisor's day D counts the first reports their team (the roster of D) sent for D,
leaving out days a salesperson was on excused leave. It is cleared on time when each of
those reports was reviewed by `clearing_due(D)`. A day with no such report, or on which
the supervisor was on excused leave (on D or on the day the clearing is due), owes no
clearing. Reads as of the clock: a back-fill with --now sees the record as it stood then.
Functions given an App open their own short transactions.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..app import App
from ..config.roster import Person
from ..dates.deadlines import clearing_due, next_workday
from ..errors import UserError
from ..store import leave, queries
from ..store.among import narrowed
from ..store.models import Report, Review, Violation


@dataclass(frozen=True)
class ReviewMark:
    """The first review of a person's day."""

    reviewed_at: datetime
    reviewer: str


def first_reviews(app: App, start: date, end: date,
                  emails: list[str] | None = None) -> dict[tuple[str, date], ReviewMark]:
    """(salesperson, report date) → its first review, as of the clock."""
    query = select(Review.email, Review.report_date, Review.reviewed_at, Review.reviewer).where(
        Review.report_date >= start, Review.report_date <= end, Review.reviewed_at <= app.now())
    query = narrowed(query, Review.email, emails)
    out: dict[tuple[str, date], ReviewMark] = {}
    with app.read() as session:
        for r in session.execute(query.order_by(Review.reviewed_at, Review.id)):
            out.setdefault((r.email, r.report_date), ReviewMark(r.reviewed_at, r.reviewer))
    return out


@dataclass
class TeamDay:
    """A supervisor's day D. `state`: cleared (every counted report reviewed by the due
    time), uncleared (due passed, some not), pending (not yet due, some not reviewed),
    none (no report to review) or away (the supervisor on excused leave)."""

    supervisor: Person
    day: date
    due: datetime
    state: str
    reports: int = 0
    unreviewed_at_due: int = 0
    delays: list[float] = field(default_factory=list)     # hours, reviewed reports
    unreviewed: list[tuple[Person, datetime]] = field(default_factory=list)  # as of now

    @property
    def counted(self) -> bool:
        """Whether the day counts in the 日清 rate (it has reports and is settled)."""
        return self.state in ("cleared", "uncleared")


def team_days(app: App, start: date, end: date,
              supervisors: set[str] | None = None) -> dict[str, dict[date, TeamDay]]:
    """Supervisor → workday → their TeamDay, for every workday in [start, end]."""
    now = app.now()
    workdays = app.workdays.workdays_between(start, end)
    if not workdays:
        return {}
    teams: dict[date, dict[str, list[Person]]] = {}
    for day in workdays:
        on_day = app.roster.teams_on(day)
        # The teams asked for, not a pass over the whole roster each day: HR's month goes
        # through 2,000 teams a few at a time.
        teams[day] = dict(on_day) if supervisors is None else \
            {s: on_day[s] for s in supervisors if s in on_day}
    emails = sorted({p.email for t in teams.values() for ps in t.values() for p in ps})
    sups = sorted({s for t in teams.values() for s in t})
    last_due = next_workday(app, workdays[-1])
    with app.read() as session:
        query = select(Report.email, Report.report_date, Report.received_at).where(
            Report.kind == "daily", Report.report_date >= start, Report.report_date <= end,
            Report.received_at <= now)
        query = narrowed(query, Report.email, emails)
        first: dict[tuple[str, date], datetime] = {}
        for r in session.execute(query.order_by(Report.received_at, Report.id)):
            first.setdefault((r.email, r.report_date), r.received_at)
        cover = leave.cover(session, app.policy.leave, app.workdays, start, last_due,
                            emails + sups)
    reviewed = first_reviews(app, start, end, emails)
    out: dict[str, dict[date, TeamDay]] = defaultdict(dict)
    for day in workdays:
        due = clearing_due(day, app)
        for sup_email, team in sorted(teams[day].items()):
            sup = app.roster.person(sup_email, day)
            if sup is None:
                continue
            if (sup_email, day) in cover.excused or \
                    (sup_email, due.astimezone(app.tz).date()) in cover.excused:
                out[sup_email][day] = TeamDay(sup, day, due, "away")
                continue
            td = TeamDay(sup, day, due, "none")
            for p in team:
                arrived = first.get((p.email, day))
                if arrived is None or (p.email, day) in cover.excused:
                    continue
                td.reports += 1
                mark = reviewed.get((p.email, day))
                if mark is None or mark.reviewed_at > due:
                    td.unreviewed_at_due += 1
                if mark is None:
                    td.unreviewed.append((p, arrived))
                else:
                    td.delays.append(max(0.0, (mark.reviewed_at - arrived).total_seconds()
                                         / 3600))
            if td.reports:
                if td.unreviewed_at_due == 0 and (now >= due or not td.unreviewed):
                    td.state = "cleared"
                else:
                    td.state = "uncleared" if now >= due else "pending"
            out[sup_email][day] = td
    return dict(out)


@dataclass(frozen=True)
class ClearingFigures:
    """A supervisor's 日清 over a period: days with reports (settled), days cleared on time,
    days not yet due (未到期), the rate and the median review delay (hours)."""

    supervisor: Person
    days: int
    cleared: int
    pending: int
    reports: int
    reviewed: int
    median_hours: float | None

    @property
    def rate(self) -> float | None:
        return self.cleared / self.days if self.days else None

    def as_row(self) -> dict[str, Any]:
        return {"name": self.supervisor.name, "email": self.supervisor.email,
                "region": self.supervisor.region, "days": self.days, "cleared": self.cleared,
                "pending": self.pending, "rate": pct(self.rate), "_rate": self.rate,
                "median": hours(self.median_hours), "_median": self.median_hours,
                "reports": self.reports, "reviewed": self.reviewed}


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def figures(app: App, start: date, end: date,
            supervisors: set[str] | None = None) -> list[ClearingFigures]:
    """Each supervisor's 日清 figures over [start, end], by region then email."""
    out = []
    for sup_email, days in team_days(app, start, end, supervisors).items():
        delays = [d for td in days.values() for d in td.delays]
        sup = max(days.values(), key=lambda td: td.day).supervisor
        median = round(statistics.median(delays), 1) if delays else None
        out.append(ClearingFigures(
            sup, sum(td.counted for td in days.values()),
            sum(td.state == "cleared" for td in days.values()),
            sum(td.state == "pending" for td in days.values()),
            sum(td.reports for td in days.values()), len(delays), median))
    return sorted(out, key=lambda f: (f.supervisor.region, f.supervisor.email))


@dataclass(frozen=True)
class ClearingClose:
    day: date
    workday: bool
    flagged: tuple[tuple[str, int, int], ...]     # (supervisor, unreviewed, reports)


def close_clearing(app: App, day: date) -> ClearingClose:
    """At the due time of day D's clearing: `clearing_missing` for each supervisor whose
    team's counted reports of D were not all reviewed by then. Idempotent: a supervisor
    flagged once keeps that one violation (a later review is recorded; the code stays)."""
    if not app.workdays.is_workday(day):
        return ClearingClose(day, False, ())
    due = clearing_due(day, app)
    now = app.now()
    if now < due:
        raise UserError(f"the daily clearing of {day} is due "
                        f"{due.astimezone(app.tz):%Y-%m-%d %H:%M %Z}; it cannot be closed "
                        f"before (it is now {now.astimezone(app.tz):%Y-%m-%d %H:%M %Z})")
    flagged = []
    days = team_days(app, day, day)
    with app.db.begin() as session:
        already = set(session.scalars(select(Violation.email).where(
            Violation.date == day, Violation.code == "clearing_missing")))
        for sup_email, by_day in sorted(days.items()):
            td = by_day.get(day)
            if td is None or td.state != "uncleared":
                continue
            flagged.append((sup_email, td.unreviewed_at_due, td.reports))
            if sup_email in already:
                continue
            queries.add_violation(session, email=sup_email, day=day, code="clearing_missing",
                                  detail=f"{td.unreviewed_at_due} of {td.reports} unreviewed",
                                  mail_id=None, now=now, scope="day")
    return ClearingClose(day, True, tuple(flagged))


def reviews_between(app: App, start: date, end: date) -> list[dict[str, Any]]:
    """Every review of a report dated in [start, end], for export."""
    with app.read() as session:
        return list(iter_reviews(session, start, end))


def iter_reviews(session: Session, start: date, end: date) -> Iterator[dict[str, Any]]:
    """The same, streamed from the caller's session: a day of a large company is tens of
    thousands of reviews."""
    columns = [Review.report_message_id, Review.email, Review.report_date, Review.reviewer,
               Review.reviewed_at, Review.comment, Review.bulk]
    for r in session.execute(select(*columns).where(
            Review.report_date >= start, Review.report_date <= end)
            .order_by(Review.report_date, Review.email, Review.reviewed_at, Review.id)
            .execution_options(yield_per=2000)):
        yield {"report_message_id": r.report_message_id, "email": r.email,
               "report_date": r.report_date.isoformat(), "reviewer": r.reviewer,
               "reviewed_at": r.reviewed_at.isoformat(), "comment": r.comment,
               "bulk": r.bulk}


def week_mondays(start: date, end: date) -> list[date]:
    monday = start - timedelta(days=start.weekday())
    out = []
    while monday <= end:
        out.append(monday)
        monday += timedelta(days=7)
    return out
