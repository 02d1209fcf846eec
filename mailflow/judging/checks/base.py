"""What every check is given and what it answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..classify import Classification
from ...parsing.parse import ParsedMail
from ...config.policy import Policy
from ...config.roster import Roster
from ..sections import Extracted
from ...dates.workdays import Workdays

# Verdicts about the day (the first report decides late, the latest decides
# missing_section) versus verdicts about one mail (copy rules stay with the mail).
DAY_CODES = ("late", "missing_section", "missing")


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


@dataclass(frozen=True)
class Context:
    policy: Policy
    roster: Roster
    workdays: Workdays
    tz: ZoneInfo
    hr: frozenset[str]
    authserv_ids: tuple[str, ...]
    management: frozenset[str] = frozenset()
