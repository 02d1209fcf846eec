"""Small query functions. Each takes a Session; none commits (the caller owns the
transaction)."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..parse import clean_message_id, sha256
from ..rawmail import RawMail
from .models import DayClose, FolderState, Mail, MailLocation, Report, Violation


def _header_message_id(data: bytes) -> str | None:
    """The Message-ID from the header block alone, before the mail is parsed."""
    lines = re.split(rb"\r\n|\r|\n", data[:65536])
    if b"" in lines:
        lines = lines[:lines.index(b"")]
    for i, line in enumerate(lines):
        if line[:11].lower() == b"message-id:":
            value = line[11:]
            for cont in lines[i + 1:]:
                if cont[:1] in (b" ", b"\t"):
                    value += cont
                else:
                    break
            return clean_message_id(value.decode("ascii", "replace"))
    return None


def dedupe_key(data: bytes) -> tuple[str, str | None, str]:
    digest = sha256(data)
    mid = _header_message_id(data)
    if mid is None:
        return f"sha256:{digest}", None, digest
    if len(mid) > 250:  # the key column holds 300; a longer id is known by its hash
        return f"mid-sha256:{sha256(mid.encode())}", mid, digest
    return f"mid:{mid}", mid, digest


def record_raw(session: Session, raw: RawMail, now: datetime) -> tuple[Mail, bool]:
    """Keep the mail (once) and where it was seen. Returns (mail, newly recorded)."""
    key, mid, digest = dedupe_key(raw.data)
    mail = session.scalars(select(Mail).where(Mail.dedupe_key == key)).first()
    new = mail is None
    if mail is None:
        mail = Mail(dedupe_key=key, message_id=mid, sha256=digest,
                    size=raw.size if raw.size is not None else len(raw.data),
                    truncated=raw.truncated, received_at=raw.received_at, mailbox=raw.mailbox,
                    folder=raw.folder, state="received", raw=zlib.compress(raw.data, 6),
                    recorded_at=now)
        session.add(mail)
        session.flush()
    if raw.uid is not None and raw.uidvalidity is not None:
        exists = session.scalars(select(MailLocation.id).where(
            MailLocation.mailbox == raw.mailbox, MailLocation.folder == raw.folder,
            MailLocation.uidvalidity == raw.uidvalidity, MailLocation.uid == raw.uid)).first()
        if exists is None:
            session.add(MailLocation(mail_id=mail.id, mailbox=raw.mailbox, folder=raw.folder,
                                     uidvalidity=raw.uidvalidity, uid=raw.uid))
    return mail, new


def raw_bytes(mail: Mail) -> bytes:
    return zlib.decompress(mail.raw)


def pending_mail_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Mail.id).where(Mail.state == "received").order_by(Mail.id)))


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


def add_violation(session: Session, *, email: str, day: date, code: str, detail: str,
                  mail_id: int | None, now: datetime, scope: str) -> None:
    """Insert once: the key says what makes this violation the same one again."""
    key = f"{code}|{email}|{day.isoformat()}|{scope}|{mail_id or ''}|{detail}"[:400]
    if session.scalars(select(Violation.id).where(Violation.key == key)).first() is None:
        session.add(Violation(key=key, email=email, date=day, code=code, scope=scope,
                              detail=detail, mail_id=mail_id, recorded_at=now))


def reports_for(session: Session, email: str, day: date, kind: str) -> list[Report]:
    """Every version, oldest first (by the server's arrival time, then by id)."""
    return list(session.scalars(select(Report).where(
        Report.email == email, Report.report_date == day, Report.kind == kind)
        .order_by(Report.received_at, Report.id)))


def replace_day_violations(session: Session, email: str, day: date, codes: Iterable[str]) -> None:
    session.execute(delete(Violation).where(
        Violation.email == email, Violation.date == day, Violation.code.in_(list(codes)),
        Violation.scope == "day"))


def codes_for_mail(session: Session, mail_id: int) -> list[str]:
    """The rule codes now recorded against this mail (a superseded day verdict is gone)."""
    return sorted(set(session.scalars(select(Violation.code).where(Violation.mail_id == mail_id))))


def day_closed(session: Session, day: date) -> DayClose | None:
    return session.scalars(select(DayClose).where(DayClose.day == day)).first()
