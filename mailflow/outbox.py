"""The outbox: every mail mailflow sends is a row first, then a delivery.

Queuing is idempotent by the row's dedupe key (kind, recipient, period). Delivery moves a
row pending → sending (committed before the SMTP conversation) → sent, so that a process
killed at any point never sends a row twice: a row still `sending` at the next start had
an unknown outcome and becomes `unknown`, is reported, and keeps its Message-ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .store.models import OutboxMail

MAX_ATTEMPTS = 8


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


def queue(session: Session, mail: Outgoing, now: datetime) -> bool:
    """Add the mail unless a row with its key exists. True when it was added."""
    if session.scalars(select(OutboxMail.id).where(OutboxMail.dedupe_key == mail.key)).first():
        return False
    session.add(OutboxMail(dedupe_key=mail.key, kind=mail.kind, period=mail.period,
                           message_id=mail.message_id, to_addrs=[a for _, a in mail.to],
                           cc_addrs=[a for _, a in mail.cc], subject=mail.subject, raw=mail.raw,
                           state="pending", attempts=0, next_attempt_at=now, queued_at=now))
    session.flush()
    return True


def exists(session: Session, key: str) -> bool:
    return session.scalars(select(OutboxMail.id).where(OutboxMail.dedupe_key == key)).first() \
        is not None


def recover(session: Session) -> list[OutboxMail]:
    """Rows left in `sending` by a process that died: their outcome is unknown."""
    rows = list(session.scalars(select(OutboxMail).where(OutboxMail.state == "sending")))
    for row in rows:
        row.state = "unknown"
        row.last_error = ("the process stopped during delivery; the server may or may not "
                          "have accepted it. Not resent automatically: check the recipient's "
                          f"mailbox for Message-ID <{row.message_id}>")
    return rows


def claim(session: Session, now: datetime, limit: int = 100) -> list[OutboxMail]:
    """Take due pending rows and mark them `sending` (the caller commits before SMTP)."""
    rows = list(session.scalars(
        select(OutboxMail).where(OutboxMail.state == "pending", OutboxMail.next_attempt_at <= now)
        .order_by(OutboxMail.id).limit(limit)))
    for row in rows:
        row.state = "sending"
        row.attempts += 1
    return rows


def mark_sent(session: Session, row_id: int, now: datetime,
              refused: dict[str, str] | None = None) -> None:
    session.execute(update(OutboxMail).where(OutboxMail.id == row_id).values(
        state="sent", sent_at=now, refused=refused or None, last_error=None))


def mark_retry(session: Session, row: OutboxMail, now: datetime, error: str) -> None:
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
