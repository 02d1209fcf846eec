"""Mail from files (.eml, mbox, Maildir) as RawMail, for `mailflow ingest`.

A file has no INTERNALDATE; the nearest thing is when the receiving server stamped it,
so the topmost Received header's date is used, then the delivery time the mail store
kept (the mbox "From " line, the Maildir file name), then the Date header, then the
file's modification time. Nothing here reads the clock: a back-fill judges each mail
by when it came, whenever the back-fill is run.
"""

from __future__ import annotations

import email.utils
import mailbox
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from ..errors import UserError
from .rawmail import RawMail


def _header_block(data: bytes) -> bytes:
    return re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]


def _received_date(data: bytes) -> datetime | None:
    head = re.sub(rb"\r?\n[ \t]+", b" ", _header_block(data))
    for line in head.split(b"\n"):
        if line[:9].lower() == b"received:":
            stamp = line.rsplit(b";", 1)[-1].strip().decode("ascii", "replace")
            return _parse_date(stamp)
    return None


def _date_header(data: bytes) -> datetime | None:
    head = re.sub(rb"\r?\n[ \t]+", b" ", _header_block(data))
    for line in head.split(b"\n"):
        if line[:5].lower() == b"date:":
            return _parse_date(line[5:].strip().decode("ascii", "replace"))
    return None


def _parse_date(text: str) -> datetime | None:
    try:
        dt = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def arrival_time(data: bytes, fallback: datetime) -> datetime:
    return _received_date(data) or _date_header(data) or fallback


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def _from_eml(path: Path) -> Iterator[RawMail]:
    data = path.read_bytes()
    yield RawMail(data, arrival_time(data, _mtime(path)), "file", str(path))


def _from_mbox(path: Path) -> Iterator[RawMail]:
    box = mailbox.mbox(str(path), create=False)
    try:
        for key in box.iterkeys():
            msg = box.get_message(key)
            data = box.get_bytes(key)
            from_line = msg.get_from() or ""
            stamp = None
            parts = from_line.split(None, 1)
            if len(parts) == 2:
                try:
                    stamp = datetime.strptime(" ".join(parts[1].split()), "%a %b %d %H:%M:%S %Y")
                    stamp = stamp.replace(tzinfo=timezone.utc)
                except ValueError:
                    stamp = None
            yield RawMail(data, _received_date(data) or stamp or _date_header(data) or
                          _mtime(path), "mbox", str(path))
    finally:
        box.close()


def _from_maildir(path: Path) -> Iterator[RawMail]:
    box = mailbox.Maildir(str(path), factory=None, create=False)
    for key in sorted(box.iterkeys()):
        data = box.get_bytes(key)
        # Maildir file names start with the delivery time in seconds.
        m = re.match(r"(\d{9,11})\.", key)
        delivered = datetime.fromtimestamp(int(m.group(1)), timezone.utc) if m else None
        yield RawMail(data, _received_date(data) or delivered or _date_header(data) or
                      _mtime(path), "maildir", str(path))


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(5) == b"From "


def read_paths(paths: list[Path]) -> Iterator[RawMail]:
    for path in paths:
        if not path.exists():
            raise UserError(f"{path}: no such file or folder")
        if path.is_dir():
            if (path / "cur").is_dir() and (path / "new").is_dir():
                yield from _from_maildir(path)
            else:
                for child in sorted(path.rglob("*.eml")):
                    yield from _from_eml(child)
        elif _is_mbox(path):
            yield from _from_mbox(path)
        else:
            yield from _from_eml(path)
