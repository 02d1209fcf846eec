"""The roster HR keeps as CSV, with effective dates: who was who on a given day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..errors import ConfigError, Problem
from . import rostercache
from .csvfile import cell_date, read_rows

HEADER = ("email", "name", "role", "region", "supervisor", "start_date", "end_date", "probation")
ROLES = ("sales", "supervisor", "hr", "management")
_CODE = Path(__file__).read_bytes()   # part of the cache key: what parsed the roster


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    role: str
    region: str
    supervisor: str
    start: date | None
    end: date | None
    probation: bool

    def active_on(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


class Roster:
    """All roster rows; a person may have several rows for successive periods."""

    def __init__(self, people: list[Person]) -> None:
        self.people = people
        self._by_email: dict[str, list[Person]] = {}
        # Who was on the roster each day, by role: a command over thousands of teams asks
        # for the same few days again and again, and each answer is a pass over everyone.
        self._on: dict[tuple[date, str | None], list[Person]] = {}
        self._teams: dict[date, dict[str, list[Person]]] = {}
        for p in people:
            self._by_email.setdefault(p.email, []).append(p)

    def person(self, email: str, day: date) -> Person | None:
        """The row in force for this address on that day."""
        for p in self._by_email.get(email.lower(), ()):
            if p.active_on(day):
                return p
        return None

    def rows(self, email: str) -> list[Person]:
        """Every row of this address, in roster order."""
        return list(self._by_email.get(email.lower(), ()))

    def teams_on(self, day: date) -> dict[str, list[Person]]:
        """Supervisor's address → the salespeople reporting to them that day, in roster
        order. Kept per day: a command over 2,000 teams asks for a few teams at a time."""
        found = self._teams.get(day)
        if found is None:
            found = self._teams[day] = {}
            for p in self.on(day, "sales"):
                found.setdefault(p.supervisor, []).append(p)
        return found

    def known(self, email: str) -> bool:
        return email.lower() in self._by_email

    def names(self) -> dict[str, set[str]]:
        """Display name → the addresses that carry it on the roster."""
        out: dict[str, set[str]] = {}
        for p in self.people:
            if p.name:
                out.setdefault(p.name, set()).add(p.email)
        return out

    def on(self, day: date, role: str | None = None) -> list[Person]:
        found = self._on.get((day, role))
        if found is None:
            found = self._on[(day, role)] = [p for p in self.people if p.active_on(day)
                                             and (role is None or p.role == role)]
        return list(found)

    def emails_with_role(self, role: str) -> set[str]:
        return {p.email for p in self.people if p.role == role}


def load_roster(path: Path) -> Roster:
    """The roster at `path`, checked: a ConfigError names each problem. A roster read
    before, unchanged, comes from the cache (config/rostercache.py)."""
    try:
        data = path.read_bytes()
    except OSError:
        data = None          # read_rows says what is wrong with the file
    if data is not None:
        people = rostercache.load(data, _CODE)
        if people is not None:
            return Roster(people)
    roster = _parse(path, data)
    if data is not None:
        rostercache.store(data, _CODE, roster.people)
    return roster


def _parse(path: Path, data: bytes | None) -> Roster:
    problems: list[Problem] = []
    file = str(path)
    rows = read_rows(path, HEADER, "create the roster CSV with the header "
                     + ",".join(HEADER) + " or fix [company] roster", data)
    people: list[Person] = []
    # Every command reads the roster at its start: at 50,000 people this loop is most of
    # a status's second. A roster holds few distinct dates, so each is parsed once.
    dates: dict[str, date | None] = {"": None}

    def day(value: str, n: int, column: str) -> date | None:
        if value in dates:
            return dates[value]
        found = cell_date(value, file, n, column, problems)
        if found is not None:
            dates[value] = found
        return found

    for n, row in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) != len(HEADER):
            problems.append(Problem(file, f"line {n}", f"has {len(row)} cells, not {len(HEADER)}",
                                    "give every row all eight columns (empty cells allowed)"))
            continue
        given_email, name, given_role, region, supervisor, start_cell, end_cell, given_probation \
            = cells
        email = given_email.lower()
        if email.count("@") != 1 or " " in email:
            problems.append(Problem(file, f"line {n}, email", f"{given_email!r} is not an address",
                                    "write one plain address, e.g. zhang.san@example.com"))
        role = given_role.lower()
        if role not in ROLES:
            problems.append(Problem(file, f"line {n}, role", f"{given_role!r} is not a role",
                                    f"use one of: {', '.join(ROLES)}"))
        probation = given_probation.lower()
        if probation not in ("", "yes", "no"):
            problems.append(Problem(file, f"line {n}, probation", f"{given_probation!r}",
                                    "write yes or no"))
        start = day(start_cell, n, "start_date")
        end = day(end_cell, n, "end_date")
        if start and end and end < start:
            problems.append(Problem(file, f"line {n}, end_date", f"{end} is before {start}",
                                    "correct the dates: end_date is the last day in this role"))
        people.append(Person(email, name, role, region, supervisor.lower(), start, end,
                             probation == "yes"))
    problems.extend(_cross_check(people, file, rows))
    if problems:
        raise ConfigError(problems)
    return Roster(people)


def _overlap(a: Person, b: Person) -> bool:
    a_start, b_start = a.start or date.min, b.start or date.min
    a_end, b_end = a.end or date.max, b.end or date.max
    return a_start <= b_end and b_start <= a_end


def _cross_check(people: list[Person], file: str, rows: list[list[str]]) -> list[Problem]:
    problems: list[Problem] = []
    line_of = {id(p): n for n, p in enumerate(people, start=2)}
    by_email: dict[str, list[Person]] = {}
    for p in people:
        by_email.setdefault(p.email, []).append(p)
    for email, rows_of in by_email.items():
        for i, a in enumerate(rows_of):
            for b in rows_of[i + 1:]:
                if _overlap(a, b):
                    problems.append(Problem(
                        file, f"line {line_of[id(b)]}, email",
                        f"{email} appears twice for overlapping dates (also line {line_of[id(a)]})",
                        "keep one row per person and period: end the old row (end_date) the day "
                        "before the new one starts"))
    supervisors: dict[str, list[Person]] = {}
    for p in people:
        if p.role != "sales":
            continue
        line = line_of[id(p)]
        if not p.supervisor:
            problems.append(Problem(file, f"line {line}, supervisor", f"{p.email} has no supervisor",
                                    "write the address of the regional supervisor"))
            continue
        sups = supervisors.get(p.supervisor)
        if sups is None:
            sups = supervisors[p.supervisor] = [s for s in by_email.get(p.supervisor, [])
                                                if s.role == "supervisor"]
        if not sups:
            problems.append(Problem(file, f"line {line}, supervisor",
                                    f"{p.supervisor} is not a supervisor on the roster",
                                    "add the supervisor (role supervisor) or correct the address"))
        elif p.start and not any(s.active_on(p.start) for s in sups):
            problems.append(Problem(file, f"line {line}, supervisor",
                                    f"{p.supervisor} is not on the roster on {p.start}",
                                    "check the supervisor's start_date/end_date"))
    return problems
