"""Weeks (ISO, 2026-W48) and months (2026-11): parsing, their days, and which period a
weekly report or a month-end form covers when its subject does not say."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..errors import UserError


def parse_week(text: str) -> date:
    """The Monday of an ISO week written 2026-W48 (or 2026W48)."""
    m = re.fullmatch(r"(\d{4})-?W(\d{1,2})", text.strip(), re.I)
    if not m:
        raise UserError(f"{text!r} is not a week; write it as YYYY-Www, e.g. 2026-W48")
    try:
        return date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise UserError(f"{text!r}: {m.group(1)} has no week {m.group(2)}") from None


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def parse_month(text: str) -> date:
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise UserError(f"{text!r} is not a month; write it as YYYY-MM, e.g. 2026-11")
    return date(int(m.group(1)), int(m.group(2)), 1)


def month_label(first: date) -> str:
    return f"{first:%Y-%m}"


def next_month(first: date) -> date:
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def prev_month(first: date) -> date:
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def month_end(first: date) -> date:
    return next_month(first) - timedelta(days=1)


def at(day: date, t: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, t, tzinfo=tz)


def weekly_due(monday: date, due_weekday: int, due_at: time, tz: ZoneInfo) -> datetime:
    """The supervisor's report for the week starting `monday` is due the next `due_weekday`."""
    return at(monday + timedelta(days=7 + due_weekday), due_at, tz)


def _subject(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def week_covered(subject: str, subject_day: date | None, arrival: date) -> date:
    """Monday of the week a weekly report covers: a week number or date in the subject,
    else the previous week when it arrives early in the week (Monday, Tuesday)."""
    text = _subject(subject)
    m = re.search(r"(\d{4})\s*-?\s*W(\d{1,2})", text, re.I)
    if m:
        try:
            return date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            pass
    m = re.search(r"第\s*(\d{1,2})\s*周", text)
    if m:
        try:
            return date.fromisocalendar(arrival.isocalendar()[0], int(m.group(1)), 1)
        except ValueError:
            pass
    if subject_day is not None:
        return monday_of(subject_day)
    this = monday_of(arrival)
    return this - timedelta(days=7) if arrival.weekday() < 2 else this


def month_covered(subject: str, subject_day: date | None, arrival: date, *,
                  early_means_previous: bool) -> date:
    """First day of the month a month-end form covers: 11月 or a date in the subject, else
    (for forms handed in after the month) the previous month in the first half."""
    text = _subject(subject)
    m = re.search(r"(?<!\d)(\d{1,2})\s*月份?(?!\s*\d{1,2}\s*[日号])", text)
    if m and 1 <= int(m.group(1)) <= 12:
        month = int(m.group(1))
        year = arrival.year - (month > arrival.month + 6)
        return date(year, month, 1)
    if subject_day is not None:
        return date(subject_day.year, subject_day.month, 1)
    first = date(arrival.year, arrival.month, 1)
    return prev_month(first) if early_means_previous and arrival.day <= 15 else first
