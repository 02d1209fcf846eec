"""The outbox: every mail mailflow sends is a row first, then a delivery.

Queuing is idempotent by the row's dedupe key (kind, recipient, period). Delivery moves a
row pending → sending (committed before the SMTP conversation) → sent, so that a process
killed at any point never sends a row twice: a row still `sending` at the next start had
an unknown outcome and becomes `unknown`, is reported, and keeps its Message-ID.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ..store.leases import process_gone
from ..store.models import OutboxMail
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


def queue_many(session: Session, mails: list[Outgoing], now: datetime) -> int:
    """Add each mail unless a row with its key exists (one statement for all). Returns
    how many were added."""
    if not mails:
        return 0
    added = session.execute(insert_ignoring(session, _TABLE, "dedupe_key").returning(_TABLE.c.id), [
        dict(dedupe_key=m.key, kind=m.kind, period=m.period, message_id=m.message_id,
             to_addrs=[a for _, a in m.to], cc_addrs=[a for _, a in m.cc], subject=m.subject,
             raw=m.raw, state="pending", attempts=0, next_attempt_at=now, queued_at=now)
        for m in mails])
    return len(added.all())   # a row whose key was queued already returns nothing


def keys_for(session: Session, kind: str, period: str) -> set[str]:
    """The dedupe keys already queued for a kind and period."""
    return set(session.scalars(select(OutboxMail.dedupe_key).where(
        OutboxMail.kind == kind, OutboxMail.period == period)))


def exists(session: Session, key: str) -> bool:
    return session.scalars(select(OutboxMail.id).where(OutboxMail.dedupe_key == key)).first() \
        is not None


CLAIM_STALE = timedelta(minutes=10)   # no delivery takes this long (timeouts are 30 s)


def claimer() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(claimed_by: str | None, now: datetime, claimed_at: datetime | None) -> bool:
    """Is the process that claimed a row still at work on it?"""
    host, _, pid = (claimed_by or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return False          # this process starts now: its earlier self is gone
        return not process_gone(int(pid))
    return claimed_at is not None and now - claimed_at < CLAIM_STALE


def recover(session: Session, now: datetime | None = None) -> list[OutboxMail]:
    """Rows left in `sending` by a process that died: their outcome is unknown. Rows a
    live sender (another `mailflow send`) is delivering right now are left to it."""
    now = now or datetime.now(timezone.utc)
    rows = [row for row in session.scalars(select(OutboxMail).where(OutboxMail.state == "sending"))
            if not _alive(row.claimed_by, now, row.claimed_at)]
    for row in rows:
        row.state = "unknown"
        row.last_error = ("the process stopped during delivery; the server may or may not "
                          "have accepted it. Not resent automatically: check the recipient's "
                          f"mailbox for Message-ID <{row.message_id}>")
    return rows


_DUE = (select(_TABLE).where(_TABLE.c.state == "pending",
                             _TABLE.c.next_attempt_at <= bindparam("now"))
        .order_by(_TABLE.c.next_attempt_at, _TABLE.c.id).limit(bindparam("limit"))
        .with_for_update(skip_locked=True))
_TAKE = (update(_TABLE).where(_TABLE.c.id == bindparam("row_id"))
         .values(state="sending", attempts=_TABLE.c.attempts + 1,
                 claimed_by=bindparam("me"), claimed_at=bindparam("now")))
_SENT = (update(_TABLE).where(_TABLE.c.id == bindparam("row_id"))
         .values(state="sent", sent_at=bindparam("now"), refused=bindparam("refused"),
                 last_error=None))


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


def mark_retry(session: Session, row: Claimed, now: datetime, error: str) -> None:
    """A temporary failure (4xx, dropped connection before DATA): try again later."""
    if row.attempts >= MAX_ATTEMPTS:
        mark_failed(session, row.id, f"gave up after {row.attempts} attempts: {error}")
        return
    delay = timedelta(seconds=min(3600, 30 * 2 ** (row.attempts - 1)))
    session.execute(update(OutboxMail).where(OutboxMail.id == row.id).values(
        state="pending", next_attempt_at=now + delay, last_error=error))


def mark_failed(session: Session, row_id: int, error: str) -> None:
    session.execute(update(OutboxMail).where(OutboxMail.id == row_id).values(
        state="failed", last_error=error))


def mark_unknown(session: Session, row_id: int, error: str) -> None:
    session.execute(update(OutboxMail).where(OutboxMail.id == row_id).values(
        state="unknown", last_error=error))


def counts(session: Session) -> dict[str, int]:
    out: dict[str, int] = {}
    for state in session.scalars(select(OutboxMail.state)):
        out[state] = out.get(state, 0) + 1
    return out
