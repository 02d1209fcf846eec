"""Which days are workdays: China's statutory calendar with 调休, or a fixed week."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

from ..errors import UserError
from ..config.policy import WorkdayRules


class Workdays:
    def __init__(self, rules: WorkdayRules) -> None:
        self.rules = rules
        # chinese_calendar validates and looks up each call (~0.1 ms); every report asks
        # about the same few weeks, so each day is answered once per process.
        self._known: dict[date, tuple[bool, bool]] = {}

    def _statutory(self, day: date) -> tuple[bool, bool]:
        """(is a statutory workday, is a statutory holiday) for the day."""
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._lookup(day)
        return known

    def _lookup(self, day: date) -> tuple[bool, bool]:
        try:
            return chinese_calendar.is_workday(day), chinese_calendar.is_holiday(day) and \
                chinese_calendar.get_holiday_detail(day)[1] is not None
        except NotImplementedError:
            if self.rules.unknown_year:
                # The company chose a fixed week (and its days_off) until the calendar
                # package knows the year's holidays.
                last = 5 if self.rules.unknown_year == "mon-fri" else 6
                return day.weekday() < last, False
            raise UserError(
                f"the statutory calendar does not know {day.year} yet (the chinesecalendar "
                f"package covers the years its release knows). Upgrade it with "
                f"`pip install -U chinesecalendar`, or set unknown_year = \"mon-fri\" in "
                f"rules/workdays.toml and list that year's holidays under days_off.") from None

    def is_workday(self, day: date) -> bool:
        r = self.rules
        if day in r.extra_workdays:
            return True
        if day in r.days_off:
            return False
        if r.week == "statutory":
            return self._statutory(day)[0]
        weekday_ok = day.weekday() < (6 if r.week == "mon-sat" else 5)
        if not r.statutory_holidays:
            return weekday_ok
        statutory_workday, holiday = self._statutory(day)
        if holiday:
            return False
        return weekday_ok or statutory_workday

    def is_holiday(self, day: date) -> bool:
        """A named statutory holiday (春节, 国庆 …), not an ordinary weekend."""
        return self._statutory(day)[1]

    def workdays_between(self, start: date, end: date) -> list[date]:
        """Workdays in [start, end]."""
        out, day = [], start
        while day <= end:
            if self.is_workday(day):
                out.append(day)
            day += timedelta(days=1)
        return out

    def workdays_back(self, day: date, n: int) -> date:
        """The day n workdays before `day` (excluding `day` itself)."""
        count, cur = 0, day
        for _ in range(400):
            cur -= timedelta(days=1)
            if self.is_workday(cur):
                count += 1
                if count >= n:
                    return cur
        return cur
