"""HR's leave sheet (`[company] leave = "leave.csv"`): one row per approved leave,
header email,from,to,kind,note. Read and checked here; the record follows it at each
command's start (records/leave.py sync_sheet)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..errors import ConfigError, Problem
from .csvfile import cell_date, read_rows
from .policy import LeaveRules
from .roster import Roster

HEADER = ("email", "from", "to", "kind", "note")


@dataclass(frozen=True)
class SheetRow:
    line: int
    email: str
    start: date
    end: date
    kind: str
    note: str

    @property
    def key(self) -> tuple[str, date, date, str, str]:
        return (self.email, self.start, self.end, self.kind, self.note)


def load_leave_sheet(path: Path, rules: LeaveRules, roster: Roster) -> list[SheetRow]:
    """Every row, or a ConfigError naming the file, line and fix of each bad one."""
    file = str(path)
    rows = read_rows(path, HEADER, "create it with the header email,from,to,kind,note, or "
                     "remove leave = … from [company]")
    kinds = ", ".join(w for k in rules.kinds for w in (k.name, *k.aliases))
    problems: list[Problem] = []
    out: list[SheetRow] = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(HEADER):
            problems.append(Problem(file, f"line {n}", f"has {len(row)} cells, not {len(HEADER)}",
                                    "write email,from,to,kind,note (to, kind and note may be "
                                    "empty; a note with a comma goes in double quotes)"))
            continue
        email, start_s, end_s, kind, note = (c.strip() for c in row)
        email = email.lower()
        if not roster.known(email):
            problems.append(Problem(file, f"line {n}, email", f"{email!r} is not on the roster",
                                    "use the address the roster has for this person"))
        start = _day(file, n, "from", start_s, problems) if start_s else None
        if not start_s:
            problems.append(Problem(file, f"line {n}, from", "is empty",
                                    "write the first day of leave as YYYY-MM-DD"))
        end = _day(file, n, "to", end_s, problems) if end_s else start
        kind = kind or rules.default_kind
        if rules.kind(kind) is None:
            problems.append(Problem(file, f"line {n}, kind", f"{kind!r} is not a kind of leave",
                                    f"use one of rules/leave.toml's kinds: {kinds}"))
        if start and end and end < start:
            problems.append(Problem(file, f"line {n}, to", f"{end} is before from {start}",
                                    "put the last day of leave in to, or leave it empty for one "
                                    "day"))
        if start and end:
            out.append(SheetRow(n, email, start, end, kind, note))
    if problems:
        raise ConfigError(problems)
    return out


def _day(file: str, line: int, column: str, value: str, problems: list[Problem]) -> date | None:
    return cell_date(value, file, line, column, problems,
                     "write dates as YYYY-MM-DD, e.g. 2026-12-03")
