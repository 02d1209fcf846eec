"""A day for each salesperson: closing it (who is missing) and its status."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from ..app import App
from ..dates.deadlines import deadline_for
from ..errors import UserError
from ..store import leave, queries
from ..store.models import DayClose, Report, Review, Violation


@dataclass(frozen=True)
class PersonDay:
    email: str
    name: str
    region: str
    supervisor: str
    status: str
    received_at: datetime | None
    violations: tuple[str, ...]
    message_id: str | None
    leave: str | None = None            # kind of approved leave covering the day
    approved_by: str | None = None      # who approved it
    reviewed_at: datetime | None = None  # the supervisor's first review (日清) of the day
    reviewed_by: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"email": self.email, "name": self.name, "region": self.region,
                "supervisor": self.supervisor, "status": self.status,
                "received_at": self.received_at.isoformat() if self.received_at else None,
                "violations": list(self.violations), "message_id": self.message_id,
                "leave": self.leave,
                "reviewed_at": self.reviewed_at.isoformat() if self.reviewed_at else None,
                "reviewed_by": self.reviewed_by}


@dataclass(frozen=True)
class CloseResult:
    day: date
    workday: bool
    already_closed: bool
    missing: tuple[str, ...]


def close_day(app: App, day: date) -> CloseResult:
    """Mark `missing` for every salesperson with no report on a workday, except those on
    leave that excuses the day. Idempotent."""
    now = app.now()
    ctx = app.context()
    if not app.workdays.is_workday(day):
        return CloseResult(day, False, False, ())
    due = deadline_for(day, ctx)
    if now <= due:
        raise UserError(f"{day} cannot be closed before its deadline "
                        f"({due.astimezone(app.tz):%Y-%m-%d %H:%M %Z}); it is now "
                        f"{now.astimezone(app.tz):%Y-%m-%d %H:%M %Z}")
    missing: list[str] = []
    with app.db.begin() as session:
        already = queries.day_closed(session, day) is not None
        reported = set(session.scalars(select(Report.email).where(
            Report.report_date == day, Report.kind == "daily")))
        excused = leave.cover(session, app.policy.leave, app.workdays, day, day).excused
        detail = f"no report by {due.astimezone(app.tz):%H:%M}"
        for person in app.roster.on(day, "sales"):
            if person.email in reported or (person.email, day) in excused:
                continue
            missing.append(person.email)
        # One statement for everyone missing (a large company misses thousands a day).
        queries.insert_violations(session, [queries.violation_row(
            email=email, day=day, code="missing", detail=detail, mail_id=None, now=now,
            scope="day") for email in missing])
        if not already:
            session.add(DayClose(day=day, closed_at=now, missing=len(missing)))
    return CloseResult(day, True, already, tuple(missing))


def _status(workday: bool, earned: str | None, due_passed: bool, excused: bool) -> str:
    """`due_passed`: the day was closed or its deadline is past."""
    if not workday:
        return "not_due"
    if excused:
        return "excused"
    if earned is not None:
        return earned
    return "missing" if due_passed else "not_due"


def day_status(app: App, day: date) -> list[PersonDay]:
    """Each salesperson on the roster that day: status, first report, violations."""
    return list(iter_day_status(app, day))


def iter_day_status(app: App, day: date) -> Iterator[PersonDay]:
    """The same, one person at a time (by region, then email): `status` writes each as it
    comes, so what it holds is the day's small per-person tuples, not the output."""
    people = app.roster.on(day, "sales")
    with app.read() as session:
        closed = queries.day_closed(session, day) is not None
        # The columns status shows, as small tuples, read with a cursor (server-side on
        # PostgreSQL): a day of a large company is tens of thousands of rows.
        reports: dict[str, tuple[str, datetime, str | None]] = {}
        for email, status, at, mid in session.execute(
                select(Report.email, Report.earned_status, Report.received_at,
                       Report.message_id)
                .where(Report.report_date == day, Report.kind == "daily")
                .order_by(Report.received_at, Report.id).execution_options(yield_per=2000)):
            if email not in reports:
                reports[email] = (status, at, mid)
        codes: dict[str, set[str]] = {}
        for email, code in session.execute(select(Violation.email, Violation.code)
                                           .where(Violation.date == day,
                                                  Violation.withdrawn.is_(False))
                                           .execution_options(yield_per=2000)):
            codes.setdefault(email, set()).add(code)
        cover = leave.cover(session, app.policy.leave, app.workdays, day, day,
                            [p.email for p in people])
        reviewed: dict[str, tuple[datetime, str]] = {}
        for email, at, by in session.execute(
                select(Review.email, Review.reviewed_at, Review.reviewer).where(
                    Review.report_date == day, Review.reviewed_at <= app.now())
                .order_by(Review.reviewed_at, Review.id).execution_options(yield_per=2000)):
            reviewed.setdefault(email, (at, by))
    # The day's facts are the same for everyone: asked once, not 50,000 times.
    workday = app.workdays.is_workday(day)
    due_passed = closed or (workday and app.now() > deadline_for(day, app.context()))
    for p in sorted(people, key=lambda p: (p.region, p.email)):
        first = reports.get(p.email)
        status = _status(workday, first[0] if first else None, due_passed,
                         (p.email, day) in cover.excused)
        found = codes.get(p.email, set())
        if status == "missing":
            found = found | {"missing"}
        covering = cover.leave.get((p.email, day))
        review = reviewed.get(p.email)
        yield PersonDay(p.email, p.name, p.region, p.supervisor, status,
                        first[1] if first else None, tuple(sorted(found)),
                        first[2] if first else None,
                        covering.kind if covering else None,
                        covering.decided_by if covering else None,
                        review[0] if review else None, review[1] if review else None)
