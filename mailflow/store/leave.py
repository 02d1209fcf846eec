"""Which days leave covers: read from the leave ledger and the withdrawn violations, for
everything that decides or counts a person's day (close-day, reminders, status, figures,
judging). Takes a Session; never commits (the caller owns the transaction)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config.policy import LeaveRules
from ..dates.workdays import Workdays
from .among import narrowed
from .models import LeaveEntry, Violation

Day = tuple[str, date]   # (email, day)


def leave_reason(entry_id: int, kind: str) -> str:
    """The reason written on a violation leave withdrew. Such a day is excused by its leave
    (while that stands), not by the withdrawal, so cancelling the leave restores it."""
    return f"leave #{entry_id} ({kind})"


_LEAVE_PREFIX = "leave #"


@dataclass(frozen=True)
class Covering:
    """The approved leave entry covering a person's day, as a day's record shows it."""

    entry_id: int
    kind: str
    decided_by: str | None
    half_day: bool


@dataclass
class Cover:
    """`leave`: the approved entry covering each (person, day), excused or not, half day or
    not; `excused`: workdays no report is due (approved, whole-day leave of an excused kind,
    or a `missing` HR or leave withdrew); `pending`: workdays inside a pending request for
    whole days of an excused kind (no reminder)."""

    leave: dict[Day, Covering] = field(default_factory=dict)
    excused: set[Day] = field(default_factory=set)
    pending: set[Day] = field(default_factory=set)

    def kind(self, email: str, day: date) -> str | None:
        found = self.leave.get((email, day))
        return found.kind if found else None


def days_of(entry: LeaveEntry, start: date, end: date) -> Iterable[date]:
    day = max(entry.date_from, start)
    while day <= min(entry.date_to, end):
        yield day
        day += timedelta(days=1)


def excuses(entry: LeaveEntry, rules: LeaveRules) -> bool:
    """Whether this entry, once approved, means no report is due on its workdays."""
    kind = rules.kind(entry.kind)
    return kind is not None and kind.excused and not entry.half_day


def cover(session: Session, rules: LeaveRules, workdays: Workdays, start: date, end: date,
          emails: Iterable[str] | None = None, *, exclude: int | None = None) -> Cover:
    """Leave over [start, end] for `emails` (everyone when None). `exclude` leaves one
    entry out (the one being cancelled)."""
    wanted = None if emails is None else sorted(set(emails))
    query = select(LeaveEntry).where(LeaveEntry.state.in_(("approved", "pending")),
                                     LeaveEntry.date_from <= end, LeaveEntry.date_to >= start)
    withdrawn = select(Violation.email, Violation.date).where(
        Violation.code == "missing", Violation.withdrawn.is_(True),
        Violation.withdrawn_reason.not_like(_LEAVE_PREFIX + "%"),
        Violation.date >= start, Violation.date <= end)
    query = narrowed(query, LeaveEntry.email, wanted)
    withdrawn = narrowed(withdrawn, Violation.email, wanted)
    keep = None if wanted is None else set(wanted)
    out = Cover()
    for entry in session.scalars(query.order_by(LeaveEntry.id)):
        if (keep is not None and entry.email not in keep) or entry.id == exclude:
            continue
        excused = excuses(entry, rules)
        for day in days_of(entry, start, end):
            key = (entry.email, day)
            if entry.state == "approved":
                found = out.leave.get(key)
                # A whole day of an excused kind names the day over a half day or a trip.
                if found is None or (excused and key not in out.excused):
                    out.leave[key] = Covering(entry.id, entry.kind, entry.decided_by,
                                              entry.half_day)
                if excused and workdays.is_workday(day):
                    out.excused.add(key)
            elif excused and workdays.is_workday(day):
                out.pending.add(key)
    for email, day in session.execute(withdrawn):
        if keep is None or email in keep:
            out.excused.add((email, day))
    return out
