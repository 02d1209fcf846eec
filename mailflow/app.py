"""Everything a command needs, loaded once: settings, policy, roster, database, clock; and
the Context the checks are given, built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from .errors import UserError
from .config.policy import Policy, load_policy
from .config.roster import Roster, load_roster
from .config.settings import Settings, load_settings
from .store.db import open_db
from .dates.workdays import Workdays


@dataclass(frozen=True)
class Context:
    """The setup as the rules see it, without the database: what every check is given,
    and enough for the deadlines (config/, dates/ and the roles in the roster)."""

    policy: Policy
    roster: Roster
    workdays: Workdays
    tz: ZoneInfo
    hr: frozenset[str]
    authserv_ids: tuple[str, ...]
    management: frozenset[str] = frozenset()


@dataclass
class App:
    settings: Settings
    policy: Policy
    roster: Roster
    workdays: Workdays
    db: sessionmaker[Session]       # transactions that write
    read: sessionmaker[Session]     # transactions that only read
    fixed_now: datetime | None = None
    clock_offset: timedelta | None = None
    _context: Context | None = field(default=None, repr=False)

    def now(self) -> datetime:
        """The clock every command uses: --now when given, else the real one (aware)."""
        if self.clock_offset is not None:
            return datetime.now(timezone.utc) + self.clock_offset
        return self.fixed_now or datetime.now(timezone.utc)

    def run_clock_from_now(self) -> None:
        """For the service: --now is where the clock starts, and it then runs."""
        if self.fixed_now is not None:
            self.clock_offset = self.fixed_now - datetime.now(timezone.utc)

    @property
    def tz(self):  # type: ignore[no-untyped-def]
        return self.settings.company.timezone

    def context(self) -> Context:
        """What the checks are given; built once (the roster and rules do not change while
        a command runs)."""
        if self._context is None:
            self._context = self._make_context()
        return self._context

    def _make_context(self) -> Context:
        company = self.settings.company
        hr = frozenset(company.hr) | frozenset(self.roster.emails_with_role("hr"))
        management = frozenset(company.management) | \
            frozenset(self.roster.emails_with_role("management"))
        return Context(self.policy, self.roster, self.workdays, company.timezone, hr,
                       company.authserv_ids, management)


def parse_now(value: str | None, tz: object = timezone.utc) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"--now {value!r} is not an ISO-8601 time; write e.g. "
                        "2026-11-26T21:30+08:00") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)  # type: ignore[arg-type]
    return dt


def load_app(config: Path, now: str | None = None) -> App:
    settings = load_settings(config)
    policy = load_policy(settings.company.rules)
    roster = load_roster(settings.company.roster)
    db = open_db(settings.database_url)
    return App(settings, policy, roster, Workdays(policy.workdays), db.write, db.read,
               parse_now(now, settings.company.timezone))
