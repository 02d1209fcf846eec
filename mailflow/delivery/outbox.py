"""The outbox: every mail mailflow sends is a row first, then a delivery.

Queuing is idempotent by the row's dedupe key (kind, recipient, period). Delivery moves a
row pending → sending (committed before the SMTP conversation) → sent; a row with an
`expires_at` (a reminder: its day's deadline) still pending then becomes `expired`. Just before the end
of the message's DATA is written, `data_at` is committed: only after that point can the
server have the mail. So a process killed at any point never sends a row twice and loses
none: a row still `sending` at the next start without `data_at` was never delivered and
goes back to pending; one with it had an unknown outcome, becomes `unknown`, is reported
and keeps its Message-ID.

A server that cannot be used at all (no connection, TLS, a refused login) touches no row:
the sender connects before it claims one, and records the problem (`server_problems`) so
`status` and `send` can say how much mail waits for it. The caller commits throughout.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from ..store import leases
from ..store.leases import process_gone
from ..store.models import OutboxMail, ServerProblem
from ..store.queries import insert_ignoring

MAX_ATTEMPTS = 8
_TABLE = OutboxMail.__table__


@dataclass(frozen=True)
class Outgoing:
    key: str
    kind: str
    period: str
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    subject: str
    message_id: str
    raw: bytes
    expires_at: datetime | None = None   # no use after this (a reminder: its deadline)


def queue_many(session: Session, mails: list[Outgoing], now: datetime) -> int:
    """Add each mail unless a row with its key exists (one statement for all). Returns
    how many were added."""
    if not mails:
        return 0
    added = session.execute(insert_ignoring(session, _TABLE, "dedupe_key").returning(_TABLE.c.id), [
        dict(dedupe_key=m.key, kind=m.kind, period=m.period, message_id=m.message_id,
             to_addrs=[a for _, a in m.to], cc_addrs=[a for _, a in m.cc], subject=m.subject,
             raw=m.raw, state="pending", attempts=0, next_attempt_at=now, queued_at=now,
             expires_at=m.expires_at)
        for m in mails])
    return len(added.all())   # a row whose key was queued already returns nothing


def keys_for(session: Session, kind: str, period: str) -> set[str]:
    """The dedupe keys already queued for a kind and period."""
    return set(session.scalars(select(OutboxMail.dedupe_key).where(
        OutboxMail.kind == kind, OutboxMail.period == period)))


def exists(session: Session, key: str) -> bool:
    return session.scalars(select(OutboxMail.id).where(OutboxMail.dedupe_key == key)).first() \
        is not None


CLAIM_STALE = timedelta(minutes=10)   # a claim in the older host:pid form, from elsewhere
SENDER_LEASE = "sender:"              # + the claimer: held while it sends (leases.py)


def claimer() -> str:
    """This process as a claim names it: instance:pid:nonce, the name of its lease. While
    it sends it holds the lease `sender:<that name>`, renewed every 5 s, which tells any
    machine whether it still works."""
    return leases.me()


def _alive(session: Session, claimed_by: str | None, now: datetime,
           claimed_at: datetime | None, sending: bool) -> bool:
    """Is the process that claimed a row still at work on it?"""
    who = claimed_by or ""
    if who == claimer():
        # While this process sends, its rows are its lanes' mail in hand; before it
        # sends, they are an earlier self's (none can be: its name is new at each start).
        return sending
    if who.count(":") == 2:
        return leases.alive(session, SENDER_LEASE + who)
    # The older form, host:pid.
    host, _, pid = who.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return sending
        return not process_gone(int(pid))
    return claimed_at is not None and now - claimed_at < CLAIM_STALE


def recover(session: Session, now: datetime | None = None,
            sending: bool = False) -> list[OutboxMail]:
    """Rows left in `sending` by a process that died. One that stopped before the end of
    its DATA was not delivered: it is pending again (not returned). One that stopped after
    it has an unknown outcome: it becomes `unknown` and is returned to be reported. Rows a
    live sender (another `mailflow send`) is delivering right now are left to it, and so
    are this process's own when `sending` (asked while its lanes deliver)."""
    now = now or datetime.now(timezone.utc)
    # Locked, and read as they are now: two senders settling the same dead sender's rows
    # at once must not set back a row that one of them has settled and claimed again.
    rows = [row for row in session.scalars(select(OutboxMail).where(
                OutboxMail.state == "sending").with_for_update(skip_locked=True))
            if not _alive(session, row.claimed_by, now, row.claimed_at, sending)]
    unknown = []
    for row in rows:
        if row.data_at is None:
            # It keeps its place: it was due when claimed, and put behind the backlog it
            # would wait for all of it (a killed instance's mail, under a day's load).
            row.state = "pending"
            row.last_error = ("the process stopped before the message was sent; "
                              "it is sent again")
            continue
        row.state = "unknown"
        row.unknown_since = now
        row.last_error = ("the process stopped after the message's data was sent, before "
                          "the server confirmed it; the server may or may not have accepted "
                          "it. Not resent automatically: check the recipient's mailbox for "
                          f"Message-ID <{row.message_id}>")
        unknown.append(row)
    return unknown


def expire(session: Session, now: datetime) -> list[str]:
    """Pending rows whose time has passed become `expired` (never sent); returns a line
    for each, to report. A reminder delivered after its deadline would ask someone
    already marked missing to send a report."""
    rows = session.execute(select(_TABLE.c.id, _TABLE.c.message_id, _TABLE.c.subject,
                                  _TABLE.c.expires_at).where(
        _TABLE.c.state == "pending", _TABLE.c.expires_at.is_not(None),
        _TABLE.c.expires_at <= now)).all()
    if not rows:
        return []
    session.execute(update(_TABLE).where(_TABLE.c.id.in_([r.id for r in rows]),
                                         _TABLE.c.state == "pending")
                    .values(state="expired",
                            last_error="not delivered before it was of use; not sent"))
    return [f"<{r.message_id}> {r.subject}: no use after {r.expires_at:%Y-%m-%d %H:%M %Z}"
            for r in rows]


def any_due(session: Session, now: datetime) -> bool:
    """Is a row waiting to be delivered now? (Asked before connecting to the server.)"""
    return session.execute(select(_TABLE.c.id).where(
        _TABLE.c.state == "pending", _TABLE.c.next_attempt_at <= now).limit(1)).first() \
        is not None


_DUE = (select(_TABLE).where(_TABLE.c.state == "pending",
                             _TABLE.c.next_attempt_at <= bindparam("now"))
        .order_by(_TABLE.c.next_attempt_at, _TABLE.c.id).limit(bindparam("limit"))
        .with_for_update(skip_locked=True))
_TAKE = (update(_TABLE).where(_TABLE.c.id == bindparam("row_id"))
         .values(state="sending", attempts=_TABLE.c.attempts + 1, data_at=None,
                 claimed_by=bindparam("me"), claimed_at=bindparam("now")))
_DATA_END = (update(_TABLE).where(_TABLE.c.id == bindparam("row_id"),
                                  _TABLE.c.state == "sending",
                                  _TABLE.c.claimed_by == bindparam("me"))
             .values(data_at=bindparam("now")))
_SENT = (update(_TABLE).where(_TABLE.c.id == bindparam("row_id"))
         .values(state="sent", sent_at=bindparam("now"), refused=bindparam("refused"),
                 last_error=None))


def commit_without_waiting(session: Session) -> None:
    """This transaction's commit does not wait for the disk (PostgreSQL: synchronous_commit
    off, for this transaction only): a claim, and a delivery marked sent. Either survives
    the sender's death like any commit; only a crash of the database server itself can
    lose it, and the next `data_at` commit, which does wait, makes it durable with
    everything before it. So a claim lost that way had no DATA end written for it (its
    row is pending, as before), and a confirmation lost that way leaves the row `sending`
    with its data_at: unknown, reported, never sent twice. One flush per mail, not two."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_NO_WAIT)


_NO_WAIT = text("SET LOCAL synchronous_commit = off")


@dataclass(frozen=True)
class Claimed:
    """A row taken for delivery."""

    id: int
    message_id: str
    to_addrs: list[str]
    cc_addrs: list[str]
    subject: str
    raw: bytes
    attempts: int


def claim(session: Session, now: datetime, limit: int = 100) -> list[Claimed]:
    """Take due rows (oldest due first) and mark them `sending`; the caller commits
    before SMTP.

    On PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED, so two senders never take
    the same row; SQLite's write lock (BEGIN IMMEDIATE) serialises claims instead. The
    statements are built once: a claim per message is on the sending path."""
    rows = session.execute(_DUE, {"now": now, "limit": limit}).all()
    if not rows:
        return []
    me = claimer()
    session.execute(_TAKE, [{"row_id": r.id, "me": me, "now": now} for r in rows])
    return [Claimed(r.id, r.message_id, r.to_addrs, r.cc_addrs, r.subject, r.raw,
                    r.attempts + 1) for r in rows]


def mark_sent(session: Session, row_id: int, now: datetime,
              refused: dict[str, str] | None = None) -> None:
    session.execute(_SENT, {"row_id": row_id, "now": now, "refused": refused or None})


def mark_data_end(session: Session, row_id: int, now: datetime) -> bool:
    """The end of the message's DATA is about to be written; committed before it is.
    False when the row is no longer this process's claim (another sender took it as a
    dead one's, after this one was silent too long): then the end must not be written."""
    return session.execute(_DATA_END, {"row_id": row_id, "now": now,
                                       "me": claimer()}).rowcount == 1


def mark_retry(session: Session, row: Claimed, now: datetime, error: str) -> None:
    """Not delivered, and the server said so or never saw the end of the message (a reply
    before the end of DATA, a dropped connection before it): try again later."""
    if row.attempts >= MAX_ATTEMPTS:
        mark_failed(session, row.id, f"gave up after {row.attempts} attempts: {error}")
        return
    delay = timedelta(seconds=min(3600, 30 * 2 ** (row.attempts - 1)))
    session.execute(update(OutboxMail).where(OutboxMail.id == row.id).values(
        state="pending", next_attempt_at=now + delay, last_error=error, data_at=None))


def mark_failed(session: Session, row_id: int, error: str) -> None:
    session.execute(update(OutboxMail).where(OutboxMail.id == row_id).values(
        state="failed", last_error=error))


def mark_unknown(session: Session, row_id: int, error: str, now: datetime) -> None:
    session.execute(update(OutboxMail).where(OutboxMail.id == row_id).values(
        state="unknown", last_error=error, unknown_since=now))


@dataclass(frozen=True)
class Listed:
    """An outbox row as `outbox list`, `status` and HR's mail show it."""

    id: int
    kind: str
    period: str
    state: str
    to_addrs: list[str]
    subject: str
    message_id: str
    queued_at: datetime
    unknown_since: datetime | None
    attempts: int
    resends: int
    last_error: str | None
    resolution: str | None

    def line(self, tz) -> str:  # type: ignore[no-untyped-def]
        since = self.unknown_since or self.queued_at
        return (f"#{self.id} {self.kind} {self.period} to {', '.join(self.to_addrs)} "
                f"<{self.message_id}>, unknown since {since.astimezone(tz):%Y-%m-%d %H:%M}")

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "period": self.period, "state": self.state,
                "to": self.to_addrs, "subject": self.subject, "message_id": self.message_id,
                "queued_at": self.queued_at.isoformat(),
                "unknown_since": self.unknown_since.isoformat() if self.unknown_since
                else None,
                "attempts": self.attempts, "resends": self.resends,
                "last_error": self.last_error, "resolution": self.resolution}


_LISTED = (_TABLE.c.id, _TABLE.c.kind, _TABLE.c.period, _TABLE.c.state, _TABLE.c.to_addrs,
           _TABLE.c.subject, _TABLE.c.message_id, _TABLE.c.queued_at, _TABLE.c.unknown_since,
           _TABLE.c.attempts, _TABLE.c.resends, _TABLE.c.last_error, _TABLE.c.resolution)


def listed(session: Session, states: tuple[str, ...] = ()) -> list[Listed]:
    """The rows in `states` (all rows when empty), oldest first, without their bytes."""
    query = select(*_LISTED).order_by(_TABLE.c.id)
    if states:
        query = query.where(_TABLE.c.state.in_(states))
    return [Listed(*row) for row in session.execute(query)]


def unresolved(session: Session) -> list[Listed]:
    """Deliveries whose outcome is unknown and that nobody has resolved: listed by `send`,
    `run`, `status` and HR's mail until they are."""
    return listed(session, ("unknown",))


RESOLVABLE = ("unknown", "failed")


def resolve(session: Session, row_id: int, action: str, by: str, now: datetime) -> Listed:
    """`action` "resend": the row is pending again with the same Message-ID (a receiving
    server or client that has it already collapses the two); "mark-sent": the row is sent
    (someone saw it arrive). Either is recorded with who and when. Raises LookupError for
    no such row, ValueError for a row in another state."""
    row = session.get(OutboxMail, row_id, with_for_update=True)
    if row is None:
        raise LookupError(row_id)
    if row.state not in RESOLVABLE:
        raise ValueError(row.state)
    was = row.state
    if action == "resend":
        row.state, row.next_attempt_at, row.data_at = "pending", now, None
        row.attempts = 0
        row.resends += 1
        what = "sent again"
    else:
        row.state, row.sent_at = "sent", now
        what = "marked sent"
    row.resolved_by, row.resolved_at = by, now
    # Appended, so a mail resent, cut again and then marked sent keeps each step.
    step = f"{was}: {what} by {by} at {now.isoformat(timespec='seconds')}"
    row.resolution = f"{row.resolution}; {step}" if row.resolution else step
    return Listed(row.id, row.kind, row.period, row.state, row.to_addrs, row.subject,
                  row.message_id, row.queued_at, row.unknown_since, row.attempts,
                  row.resends, row.last_error, row.resolution)


def resend_unknown(session: Session, now: datetime, after: timedelta) -> list[Listed]:
    """`[smtp] on_unknown = "resend"`: each unknown row not sent again yet, unknown for
    `after`, is pending again with its Message-ID, once. A second unknown outcome is held."""
    rows = list(session.scalars(select(OutboxMail).where(
        OutboxMail.state == "unknown", OutboxMail.resends == 0,
        OutboxMail.unknown_since <= now - after).with_for_update(skip_locked=True)))
    out = []
    for row in rows:
        out.append(resolve(session, row.id, "resend", "on_unknown = \"resend\"", now))
    return out


def record_problem(session: Session, server: str, kind: str, detail: str,
                   now: datetime) -> bool:
    """Note that `server` cannot be used (kind: login, tls, connect). Returns whether this
    is news (no problem was recorded, or another one)."""
    row = session.get(ServerProblem, server)
    if row is None:
        session.add(ServerProblem(server=server, kind=kind, detail=detail, since=now,
                                  seen_at=now))
        return True
    news = (row.kind, row.detail) != (kind, detail)
    if row.kind != kind:
        row.since = now
    row.kind, row.detail, row.seen_at = kind, detail, now
    return news


def clear_problem(session: Session, server: str) -> bool:
    """The server works: forget its problem. Returns whether one was recorded."""
    return session.execute(ServerProblem.__table__.delete().where(
        ServerProblem.server == server)).rowcount > 0


@dataclass(frozen=True)
class Waiting:
    """Mail that waits for a server that cannot be used now."""

    count: int
    oldest: datetime          # the oldest waiting row's queue time
    kind: str                 # login, tls, connect
    detail: str               # the one-line message, with the server's words
    since: datetime           # the first failure of this kind


def waiting(session: Session, server: str = "smtp") -> Waiting | None:
    problem = session.get(ServerProblem, server)
    if problem is None:
        return None
    n, oldest = session.execute(select(func.count(), func.min(OutboxMail.queued_at)).where(
        OutboxMail.state == "pending")).one()
    if not n:
        return None
    return Waiting(n, oldest, problem.kind, problem.detail, problem.since)


def counts(session: Session) -> dict[str, int]:
    out: dict[str, int] = {}
    for state in session.scalars(select(OutboxMail.state)):
        out[state] = out.get(state, 0) + 1
    return out
