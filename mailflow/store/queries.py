"""Small query functions. Each takes a Session; none commits (the caller owns the
transaction)."""

from __future__ import annotations

import threading
import zlib
from typing import Any
from datetime import date, datetime

import zstandard
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from ..inbound.identity import dedupe_key
from ..inbound.rawmail import RawMail
from .among import among
from .models import DayClose, FolderState, Mail, MailLocation, Violation


def record_mails(session: Session, raws: list[RawMail], now: datetime) -> int:
    """Keep each mail (once) and where it was seen, a few statements for the whole batch.
    Returns how many were newly recorded."""
    keyed = [(dedupe_key(raw.data), raw) for raw in raws]
    known: dict[str, int] = {}
    keys = sorted({k for (k, _, _), _ in keyed})
    for start in range(0, len(keys), 500):
        known.update((k, i) for k, i in session.execute(select(Mail.dedupe_key, Mail.id).where(
            among(Mail.dedupe_key, keys[start:start + 500]))))
    fresh: dict[str, dict[str, Any]] = {}
    for (key, mid, digest), raw in keyed:
        if key in known or key in fresh:
            continue
        fresh[key] = dict(dedupe_key=key, message_id=mid, sha256=digest,
                          size=raw.size if raw.size is not None else len(raw.data),
                          truncated=raw.truncated, received_at=raw.received_at,
                          mailbox=raw.mailbox, folder=raw.folder, state="received",
                          raw=compress(raw.data), recorded_at=now)
    if fresh:
        mails = Mail.__table__
        inserted = session.execute(mails.insert().returning(mails.c.dedupe_key, mails.c.id,
                                                            sort_by_parameter_order=True),
                                   list(fresh.values()))
        known.update((k, i) for k, i in inserted)
    places = [dict(mail_id=known[key], mailbox=raw.mailbox, folder=raw.folder,
                   uidvalidity=raw.uidvalidity, uid=raw.uid)
              for (key, _, _), raw in keyed if raw.uid is not None and raw.uidvalidity is not None]
    if places:
        session.execute(insert_ignoring(session, MailLocation.__table__,
                                        "mailbox", "folder", "uidvalidity", "uid"), places)
    return len(fresh)


# A mail is stored as a Zstandard frame: recording is on the ingest's critical path, and
# zstd at level 3 compresses report mail 4× faster than zlib did (80 against 300 µs a
# mail with an attachment) to a smaller size. Mail recorded before is a zlib stream and
# stays readable: the first bytes tell the two apart.
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_codecs = threading.local()   # a zstd context is not to be shared between threads


def _zstd() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    try:
        return _codecs.pair  # type: ignore[no-any-return]
    except AttributeError:
        _codecs.pair = (zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor())
        return _codecs.pair  # type: ignore[no-any-return]


def compress(data: bytes) -> bytes:
    """A mail's bytes as the mails table keeps them."""
    return _zstd()[0].compress(data)


def decompress(stored: bytes) -> bytes:
    """A mail's original bytes from the stored (compressed) column."""
    if stored[:4] == _ZSTD_MAGIC:
        return _zstd()[1].decompress(stored)
    return zlib.decompress(stored)


def pending_mail_ids(session: Session, after: int = 0) -> list[int]:
    """Recorded mail not yet judged, oldest first (above `after` only)."""
    return list(session.scalars(select(Mail.id).where(Mail.state == "received", Mail.id > after)
                                .order_by(Mail.id)))


def folder_state(session: Session, mailbox: str, folder: str) -> FolderState | None:
    return session.scalars(select(FolderState).where(
        FolderState.mailbox == mailbox, FolderState.folder == folder)).first()


def save_folder_state(session: Session, mailbox: str, folder: str, uidvalidity: int,
                      last_uid: int, now: datetime) -> None:
    state = folder_state(session, mailbox, folder)
    if state is None:
        session.add(FolderState(mailbox=mailbox, folder=folder, uidvalidity=uidvalidity,
                                last_uid=last_uid, synced_at=now))
    else:
        state.uidvalidity, state.last_uid, state.synced_at = uidvalidity, last_uid, now


def violation_key(code: str, email: str, day: date, scope: str, mail_id: int | None,
                  detail: str) -> str:
    """What makes a violation the same one again."""
    return f"{code}|{email}|{day.isoformat()}|{scope}|{mail_id or ''}|{detail}"[:400]


def violation_row(*, email: str, day: date, code: str, detail: str, mail_id: int | None,
                  now: datetime, scope: str) -> dict[str, Any]:
    """A row for `insert_violations`, with the key that makes it the same one again."""
    return {"key": violation_key(code, email, day, scope, mail_id, detail), "email": email,
            "date": day, "code": code, "scope": scope, "detail": detail, "mail_id": mail_id,
            "recorded_at": now}


def add_violation(session: Session, *, email: str, day: date, code: str, detail: str,
                  mail_id: int | None, now: datetime, scope: str) -> None:
    """Insert once: the key says what makes this violation the same one again."""
    insert_violations(session, [violation_row(email=email, day=day, code=code, detail=detail,
                                              mail_id=mail_id, now=now, scope=scope)])


def insert_violations(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert each row unless its key is already recorded (one statement for all)."""
    if not rows:
        return
    session.execute(insert_ignoring(session, Violation.__table__, "key"), rows)


def insert_ignoring(session: Session, table: Table, *key: str) -> Any:
    """INSERT … ON CONFLICT (key) DO NOTHING, in the dialect of the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=list(key))


def day_closed(session: Session, day: date) -> DayClose | None:
    return session.scalars(select(DayClose).where(DayClose.day == day)).first()
