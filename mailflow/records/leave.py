"""The leave ledger and HR's corrections: adding, listing and cancelling leave, HR's
leave sheet followed into the record, withdrawing violations, and the history of every
change to a person's day.

Leave approved for a day already closed turns the day `excused` and withdraws its
`missing` (and a `late` its report earned): the rows are kept, marked withdrawn with
the reason and who. Cancelling leave puts back what it withdrew. Nothing here queues
mail: what was sent stays sent, and the next mail and `export` read the new state.
Each function given an App writes in one transaction of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..app import App
from ..config.codes import CODES
from ..config.leavesheet import load_leave_sheet
from ..errors import UserError
from ..judging.judge import settle_days
from ..store import leave as cover_of
from ..store import queries
from ..store.models import Change, DayClose, LeaveEntry, Mail, Report, Review, Violation

# What leave withdraws from a day it excuses: no report was due, so none was missing or
# late.
LEAVE_WITHDRAWS = ("missing", "late")
STATES = ("pending", "approved", "refused", "cancelled")


@dataclass(frozen=True)
class Entry:
    id: int
    email: str
    start: date
    end: date
    kind: str
    half_day: bool
    state: str
    source: str
    decided_by: str | None
    message_id: str | None
    note: str

    @classmethod
    def of(cls, row: LeaveEntry) -> "Entry":
        return cls(row.id, row.email, row.date_from, row.date_to, row.kind, row.half_day,
                   row.state, row.source, row.decided_by, row.message_id, row.note)

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "email": self.email, "from": self.start.isoformat(),
                "to": self.end.isoformat(), "kind": self.kind, "half_day": self.half_day,
                "state": self.state, "source": self.source, "decided_by": self.decided_by,
                "message_id": self.message_id, "note": self.note}


@dataclass(frozen=True)
class Actor:
    """Who makes a change and through what: a Message-ID, "csv" or "cli"."""

    by: str
    via: str


def _label(entry: LeaveEntry) -> str:
    half = "，半天" if entry.half_day else ""
    return f"leave #{entry.id} {entry.kind}{half} {entry.date_from}~{entry.date_to}"


def _reason(entry: LeaveEntry) -> str:
    return cover_of.leave_reason(entry.id, entry.kind)


def _change(session: Session, now: datetime, actor: Actor, email: str, day: date, what: str,
            before: str, after: str) -> None:
    session.add(Change(at=now, by=actor.by, via=actor.via, what=what, before=before,
                       after=after, email=email, date=day))


def _check_entry(app: App, email: str, start: date, end: date, kind: str) -> None:
    if not app.roster.known(email):
        raise UserError(f"{email} is not on the roster ({app.settings.company.roster}); use the "
                        "address the roster has for this person")
    if end < start:
        raise UserError(f"--to {end} is before --from {start}")
    if app.policy.leave.kind(kind) is None:
        names = ", ".join(w for k in app.policy.leave.kinds for w in (k.name, *k.aliases))
        raise UserError(f"{kind!r} is not a kind of leave in {app.policy.leave.file}; use one "
                        f"of: {names}")


def add_leave(app: App, email: str, start: date, end: date | None, kind: str | None,
              note: str, actor: Actor, *, source: str = "cli", half_day: bool = False,
              message_id: str | None = None) -> int:
    """Record approved leave and apply it to the days already judged. Returns its id."""
    email = email.strip().lower()
    end = end or start
    kind = kind or app.policy.leave.default_kind
    _check_entry(app, email, start, end, kind)
    now = app.now()
    with app.db.begin() as session:
        entry = LeaveEntry(email=email, date_from=start, date_to=end, kind=kind,
                           half_day=half_day, state="approved", source=source,
                           decided_by=actor.by, message_id=message_id, note=note,
                           created_at=now)
        session.add(entry)
        session.flush()
        _approved(session, app, entry, actor, now)
        return entry.id


def approve_in(session: Session, app: App, entry: LeaveEntry, actor: Actor,
               now: datetime) -> None:
    """Approve an entry (new, or a pending request) in the caller's transaction: the
    history of each of its days, and what it withdraws from days already closed."""
    entry.state, entry.decided_by = "approved", actor.by
    session.flush()
    _approved(session, app, entry, actor, now)


def refuse_in(session: Session, app: App, entry: LeaveEntry, actor: Actor,
              now: datetime) -> None:
    """Refuse a pending request in the caller's transaction: it changes no day, and its
    history says who refused it."""
    entry.state, entry.decided_by = "refused", actor.by
    for day in cover_of.days_of(entry, entry.date_from, entry.date_to):
        if app.workdays.is_workday(day):
            _change(session, now, actor, entry.email, day, "leave refused",
                    f"{_label(entry)} (pending)", "refused")


def _approved(session: Session, app: App, entry: LeaveEntry, actor: Actor,
              now: datetime) -> None:
    """The history of each day of a newly approved entry, and what it withdraws."""
    excused = cover_of.excuses(entry, app.policy.leave)
    for day in cover_of.days_of(entry, entry.date_from, entry.date_to):
        if not app.workdays.is_workday(day):
            continue
        _change(session, now, actor, entry.email, day, "leave approved", "",
                _label(entry) + ("" if excused else " (report still due)"))
        if not excused:
            continue
        for v in session.scalars(select(Violation).where(
                Violation.email == entry.email, Violation.date == day,
                Violation.code.in_(LEAVE_WITHDRAWS), Violation.withdrawn.is_(False))):
            _withdraw(session, v, _reason(entry), actor, now)


def _withdraw(session: Session, v: Violation, reason: str, actor: Actor,
              now: datetime) -> None:
    v.withdrawn, v.withdrawn_reason, v.withdrawn_by, v.withdrawn_at = True, reason, actor.by, now
    _change(session, now, actor, v.email, v.date, f"{v.code} withdrawn", v.code,
            f"withdrawn: {reason}")


def cancel_leave(app: App, entry_id: int, actor: Actor) -> Entry:
    """Cancel an entry and put back what it withdrew: the days it excused are judged
    again as if it had never been (missing where the day was closed without a report)."""
    now = app.now()
    with app.db.begin() as session:
        entry = session.get(LeaveEntry, entry_id)
        if entry is None:
            raise UserError(f"there is no leave entry {entry_id}; `mailflow leave list` shows "
                            "them")
        if entry.state == "cancelled":
            raise UserError(f"leave entry {entry_id} is already cancelled")
        _cancel(session, app, entry, actor, now)
        return Entry.of(entry)


def _cancel(session: Session, app: App, entry: LeaveEntry, actor: Actor, now: datetime) -> None:
    was = entry.state
    entry.state = "cancelled"
    days = [d for d in cover_of.days_of(entry, entry.date_from, entry.date_to)
            if app.workdays.is_workday(d)]
    if not days:
        return
    still = cover_of.cover(session, app.policy.leave, app.workdays, days[0], days[-1],
                           [entry.email], exclude=entry.id).excused
    closed = set(session.scalars(select(DayClose.day).where(DayClose.day >= days[0],
                                                            DayClose.day <= days[-1])))
    reported = set(session.scalars(select(Report.report_date).where(
        Report.email == entry.email, Report.kind == "daily", Report.report_date >= days[0],
        Report.report_date <= days[-1])))
    for day in days:
        _change(session, now, actor, entry.email, day, "leave cancelled", f"{_label(entry)} "
                f"({was})", "cancelled")
        if (entry.email, day) in still:
            continue
        for v in session.scalars(select(Violation).where(
                Violation.email == entry.email, Violation.date == day,
                Violation.withdrawn.is_(True), Violation.withdrawn_reason == _reason(entry))):
            v.withdrawn, v.withdrawn_reason, v.withdrawn_by, v.withdrawn_at = \
                False, None, None, None
            _change(session, now, actor, entry.email, day, f"{v.code} restored",
                    f"withdrawn: {_reason(entry)}", v.code)
        session.flush()
        standing = session.scalars(select(Violation.id).where(
            Violation.email == entry.email, Violation.date == day,
            Violation.code == "missing")).first()
        if day in closed and day not in reported and standing is None and \
                app.roster.person(entry.email, day) is not None:
            queries.add_violation(session, email=entry.email, day=day, code="missing",
                                  detail="no report (leave cancelled)", mail_id=None, now=now,
                                  scope="day")
    session.flush()
    # A report sent on a day that is no longer excused earns its late again.
    again = {(entry.email, d) for d in reported if (entry.email, d) not in still}
    queries.insert_violations(session, settle_days(session, again, app.context(), now))


def list_leave(app: App, start: date | None = None, end: date | None = None) -> list[Entry]:
    query = select(LeaveEntry)
    if start is not None:
        query = query.where(LeaveEntry.date_to >= start)
    if end is not None:
        query = query.where(LeaveEntry.date_from <= end)
    with app.read() as session:
        return [Entry.of(e) for e in session.scalars(
            query.order_by(LeaveEntry.date_from, LeaveEntry.email, LeaveEntry.id))]


def sync_sheet(app: App) -> tuple[int, int]:
    """Follow HR's leave sheet: a row not in the record yet is approved leave (source
    csv), an entry whose row HR removed is cancelled. Returns (added, cancelled)."""
    path = app.settings.company.leave
    if path is None:
        return 0, 0
    rows = load_leave_sheet(path, app.policy.leave, app.roster)
    actor = Actor(app.settings.company.hr[0] if app.settings.company.hr else "hr", "csv")
    now = app.now()
    with app.read() as session:
        known = {(e.email, e.date_from, e.date_to, e.kind, e.note): e.id for e in
                 session.scalars(select(LeaveEntry).where(LeaveEntry.source == "csv",
                                                          LeaveEntry.state == "approved"))}
    wanted = {r.key: r for r in rows}
    fresh = [r for k, r in wanted.items() if k not in known]
    gone = [i for k, i in known.items() if k not in wanted]
    if not fresh and not gone:
        return 0, 0
    with app.db.begin() as session:
        for entry_id in gone:
            entry = session.get(LeaveEntry, entry_id)
            if entry is not None and entry.state == "approved":
                _cancel(session, app, entry, actor, now)
        for r in fresh:
            entry = LeaveEntry(email=r.email, date_from=r.start, date_to=r.end, kind=r.kind,
                               half_day=False, state="approved", source="csv",
                               decided_by=actor.by, message_id=None, note=r.note,
                               created_at=now)
            session.add(entry)
            session.flush()
            _approved(session, app, entry, actor, now)
    return len(fresh), len(gone)


def excuse(app: App, email: str, day: date, code: str | None, reason: str,
           actor: Actor) -> list[str]:
    """HR's correction: withdraw the person's violations of that day (only `code` when
    given). Returns the codes withdrawn; a withdrawn `missing` makes the day excused."""
    email = email.strip().lower()
    if not reason.strip():
        raise UserError("--reason is empty; say why the violation is withdrawn")
    if not app.roster.known(email):
        raise UserError(f"{email} is not on the roster ({app.settings.company.roster})")
    with app.db.begin() as session:
        return excuse_in(session, email, day, code, reason.strip(), actor, app.now())


def excuse_in(session: Session, email: str, day: date, code: str | None, reason: str,
              actor: Actor, now: datetime) -> list[str]:
    """`excuse` in the caller's transaction (a correction mail). Raises UserError, naming
    what stands, when there is nothing to withdraw."""
    found = list(session.scalars(select(Violation).where(
        Violation.email == email, Violation.date == day, Violation.withdrawn.is_(False))
        .order_by(Violation.code, Violation.id)))
    if code is not None and code not in CODES:
        raise UserError(f"{code} is not a rule code; use one of {', '.join(CODES)}")
    chosen = [v for v in found if code is None or v.code == code]
    if not chosen:
        has = ", ".join(sorted({v.code for v in found})) or "none"
        raise UserError(f"{email} has no {code + ' ' if code else ''}violation on {day} to "
                        f"withdraw (standing: {has}; one already withdrawn is listed by "
                        "`mailflow history`)")
    for v in chosen:
        _withdraw(session, v, reason, actor, now)
    return [v.code for v in chosen]


def history(app: App, email: str, day: date) -> list[dict[str, Any]]:
    """Every change to a person's day, oldest first: each daily report received (a later
    one replaces the earlier as the day's content), each review of it (日清), and each
    change made by leave, a correction or the operator (the `changes` table)."""
    email = email.strip().lower()
    out: list[tuple[datetime, int, dict[str, Any]]] = []
    with app.read() as session:
        for c in session.scalars(select(Change).where(Change.email == email,
                                                      Change.date == day)):
            out.append((c.at, 2, {"at": c.at.isoformat(), "by": c.by, "via": c.via,
                                  "what": c.what, "before": c.before, "after": c.after}))
        reports = list(session.scalars(select(Report).where(
            Report.email == email, Report.report_date == day, Report.kind == "daily")
            .order_by(Report.received_at, Report.id)))
        for n, r in enumerate(reports):
            out.append((r.received_at, 0, {
                "at": r.received_at.isoformat(), "by": email, "via": r.message_id or "",
                "what": "daily report" if n == 0 else "daily report sent again",
                "before": "" if n == 0 else (reports[n - 1].message_id or ""),
                "after": r.earned_status if n == 0 else (r.message_id or "")}))
        for rv, reply in session.execute(select(Review, Mail.message_id)
                                         .join(Mail, Mail.id == Review.mail_id)
                                         .where(Review.email == email,
                                                Review.report_date == day)):
            out.append((rv.reviewed_at, 1, {
                "at": rv.reviewed_at.isoformat(), "by": rv.reviewer, "via": reply or "",
                "what": "reviewed by replying to the digest" if rv.bulk else "reviewed",
                "before": "", "after": (rv.comment or "")[:200]}))
    return [entry for _, _, entry in sorted(out, key=lambda t: (t[0], t[1]))]
