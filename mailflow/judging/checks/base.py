"""What every check is given and what it answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ...app import Context
from ..classify import Classification
from ...parsing.parse import ParsedMail
from ..sections import Extracted


@dataclass(frozen=True)
class Verdict:
    code: str
    detail: str = ""


@dataclass(frozen=True)
class Facts:
    mail: ParsedMail
    cls: Classification
    received_at: datetime          # aware; the company server's INTERNALDATE
    extracted: Extracted


__all__ = ["Context", "Facts", "Verdict"]
