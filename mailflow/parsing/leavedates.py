"""The dates a leave mail names: read from its subject, else the first lines of its body.

Forms (SPEC §5): `12月3日`, `12月3日-12月5日`, `12月3日至5日`, `2026-12-03~2026-12-05`,
`12.3-12.5`, `今天/明天/后天` (relative to the arrival day in company time, which the
caller gives), and a half day (上午/下午/半天, words the caller gives from rules/leave.toml)
on a single day. Ranges are inclusive, as written; which of their days are workdays is not
decided here. A date without a year takes the year that puts it nearest the arrival; a
range's end before its start runs into the next year (12月30日-1月2日). Pure functions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

# How many non-empty lines of the body are read when the subject has no date.
BODY_LINES = 5

_RELATIVE = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2}
_SEP = r"\s*(?:-|~|至|到|—|–|－)\s*"
_FULL = r"(?P<{p}y>20\d{{2}})\s*[-/.年]\s*(?P<{p}m>\d{{1,2}})\s*[-/.月]\s*(?P<{p}d>\d{{1,2}})\s*[日号]?"
_CN = r"(?P<{p}m>\d{{1,2}})\s*月\s*(?P<{p}d>\d{{1,2}})\s*[日号]?"
_DOT = r"(?P<{p}m>\d{{1,2}})[./](?P<{p}d>\d{{1,2}})"
_REL = r"(?P<{p}r>今天|今日|明天|明日|后天)"
_DAY = r"(?P<{p}d>\d{{1,2}})\s*[日号]?"


def _alt(prefix: str, *forms: str) -> str:
    return "(?:" + "|".join(f.format(p=f"{prefix}{i}") for i, f in enumerate(forms)) + ")"


# A range first (its end may be a bare day: 12月3日至5日), then a single date. A dotted
# date counts only in a range: alone, 12.3 is as likely an amount as a day.
_RANGE = re.compile(r"(?<![\d.])" + _alt("a", _FULL, _CN, _DOT, _REL) + _SEP
                    + _alt("b", _FULL, _CN, _DOT, _REL, _DAY) + r"(?![\d.])")
_SINGLE = re.compile(r"(?<![\d.])" + _alt("a", _FULL, _CN, _REL) + r"(?![\d.])")


@dataclass(frozen=True)
class LeaveDates:
    start: date
    end: date
    half_day: bool = False


def _fields(m: re.Match[str], prefix: str) -> dict[str, str]:
    out = {}
    for key, value in m.groupdict().items():
        if value is not None and key.startswith(prefix):
            out[key[-1]] = value
    return out


def _nearest(month: int, day: int, arrival: date) -> date | None:
    found = []
    for year in (arrival.year, arrival.year - 1, arrival.year + 1):
        try:
            found.append(date(year, month, day))
        except ValueError:
            continue
    return min(found, key=lambda d: abs((d - arrival).days)) if found else None


def _one(parts: dict[str, str], arrival: date, start: date | None = None) -> date | None:
    try:
        if "r" in parts:
            return arrival + timedelta(days=_RELATIVE[parts["r"]])
        day = int(parts["d"])
        if "y" in parts:
            return date(int(parts["y"]), int(parts["m"]), day)
        if "m" not in parts:           # a bare day ends a range in the start's month
            if start is None:
                return None
            return date(start.year, start.month, day)
        month = int(parts["m"])
        if start is not None:
            # The end of a range runs into the next year only across New Year
            # (12月30日-1月2日); an end written before its start is no range.
            return date(start.year + (month < start.month), month, day)
        return _nearest(month, day, arrival)
    except ValueError:
        return None


def read_line(text: str, arrival: date, half_day_words: tuple[str, ...] = ()
              ) -> LeaveDates | None:
    """The first date or range written in one line of text, or None."""
    line = unicodedata.normalize("NFKC", text)
    half = any(w in line for w in half_day_words)
    for m in _RANGE.finditer(line):
        start = _one(_fields(m, "a"), arrival)
        end = _one(_fields(m, "b"), arrival, start) if start else None
        if start is not None and end is not None:
            # A range written backwards is a slip no single day of it can stand for.
            return LeaveDates(start, end, half and start == end) if end >= start else None
    for m in _SINGLE.finditer(line):
        start = _one(_fields(m, "a"), arrival)
        if start is not None:
            return LeaveDates(start, start, half)
    return None


def find_span(line: str) -> tuple[int, int] | None:
    """Where the first date or range is in a line (NFKC-normalised), for entry lines that
    put a name before the dates and a kind or note after them."""
    text = unicodedata.normalize("NFKC", line)
    m = _RANGE.search(text) or _SINGLE.search(text)
    return (m.start(), m.end()) if m else None


def read_dates(subject: str, body: str, arrival: date,
               half_day_words: tuple[str, ...] = ()) -> LeaveDates | None:
    """The leave dates of a request: from the subject, else the first lines of the body.
    A half-day word counts wherever the date was found (subject or that body line)."""
    found = read_line(subject, arrival, half_day_words)
    if found is not None:
        if not found.half_day and found.start == found.end and \
                any(w in body[:200] for w in half_day_words):
            return LeaveDates(found.start, found.end, True)
        return found
    lines = [line for line in body.splitlines() if line.strip()][:BODY_LINES]
    for line in lines:
        found = read_line(line, arrival, half_day_words)
        if found is not None:
            if not found.half_day and found.start == found.end and \
                    any(w in subject for w in half_day_words):
                return LeaveDates(found.start, found.end, True)
            return found
    return None
