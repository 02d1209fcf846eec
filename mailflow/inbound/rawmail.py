"""What the fetch stage hands on: the bytes of one mail and where and when it arrived."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RawMail:
    data: bytes
    received_at: datetime      # aware; the company server's INTERNALDATE
    mailbox: str
    folder: str
    uidvalidity: int | None = None
    uid: int | None = None
    size: int | None = None    # the server's RFC822.SIZE; larger than data when truncated
    truncated: bool = False

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None:
            raise ValueError("RawMail.received_at must be timezone-aware")
