"""The CSV files HR keeps (the roster, the leave sheet): read as Excel saves them (UTF-8,
with or without a BOM), the header checked, and dates read cell by cell. A problem names
the file, the line and the fix. Reads only."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from ..errors import ConfigError, Problem


def read_rows(path: Path, header: tuple[str, ...], missing_fix: str,
              data: bytes | None = None) -> list[list[str]]:
    """Every row of the file (or of `data`, its bytes read already), the header first; a
    ConfigError when the file is missing, not UTF-8 or starts with another header."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig") if data is None \
            else data.decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError([Problem(file, "(file)", "does not exist", missing_fix)]) from None
    except UnicodeDecodeError:
        raise ConfigError([Problem(file, "(encoding)", "is not UTF-8",
                                   "save it as CSV UTF-8 (Excel: 另存为 → CSV UTF-8)")]) from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(h.strip().lower() for h in rows[0]) != header:
        raise ConfigError([Problem(file, "line 1", f"header is {rows[0] if rows else 'missing'}",
                                   "the first line must be exactly " + ",".join(header))])
    return rows


def cell_date(value: str, file: str, line: int, column: str, problems: list[Problem],
              fix: str = "write dates as YYYY-MM-DD, or leave the cell empty") -> date | None:
    """The cell's date; None (and a problem, unless the cell is empty) when it has none."""
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(Problem(file, f"line {line}, {column}", f"{value!r} is not a date", fix))
        return None
