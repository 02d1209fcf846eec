"""Which days are workdays: China's statutory calendar with 调休, or a fixed week.

A year is judged by the first that applies:
1. HR entered its 调休 (rules/workdays.toml [years.YEAR]): the statutory holidays computed
   from the law and the entered days_off are off, the entered workdays are on, else Mon–Fri;
2. the chinesecalendar package knows the year (it carries each published notice);
3. otherwise the statutory holidays computed from the law are off, on the week named by
   `unknown_year` (default: the configured week, Mon–Fri for "statutory"). Nothing stops:
   such a year is "not entered" (`unentered`), which check-config, the service's log, one
   mail to HR and each digest's footer say until HR enters it.
The company's own days_off and extra_workdays apply on top of all three.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import chinese_calendar

from ..errors import ConfigError
from . import statutory
from ..config.policy import WorkdayRules, YearArrangement

log = logging.getLogger(__name__)

ENTERED, PACKAGE, UNENTERED = "entered", "package", "unentered"


class Workdays:
    def __init__(self, rules: WorkdayRules) -> None:
        conflicts = statutory.law_conflicts(rules)
        if conflicts:
            raise ConfigError(conflicts)
        self.rules = rules
        self.years: dict[int, YearArrangement] = {y.year: y for y in rules.years}
        # chinese_calendar validates and looks up each call (~0.1 ms); every report asks
        # about the same few weeks, so each day is answered once per process.
        self._known: dict[date, tuple[bool, bool]] = {}
        self._said: set[int] = set()
        self._package_years: dict[int, bool] = {}

    @property
    def uses_calendar(self) -> bool:
        """Whether statutory holidays or 调休 matter at all to this company's week."""
        return self.rules.week == "statutory" or self.rules.statutory_holidays

    def source(self, year: int) -> str:
        """How `year` is judged: ENTERED, PACKAGE or UNENTERED (see the module doc)."""
        if year in self.years:
            return ENTERED
        known = self._package_years.get(year)
        if known is None:
            try:
                chinese_calendar.is_workday(date(year, 6, 1))
                known = True
            except NotImplementedError:
                known = False
            self._package_years[year] = known
        return PACKAGE if known else UNENTERED

    def unentered(self, today: date) -> list[int]:
        """The years whose 调休 HR should enter now: this year if it is not known, and from
        1 December next year too."""
        if not self.uses_calendar:
            return []
        years = [today.year] + ([today.year + 1] if today.month == 12 else [])
        return [y for y in years if self.source(y) == UNENTERED]

    def note(self, day: date) -> dict[str, object] | None:
        """For a mail about `day`: the year and week it was judged on, when its 调休 is not
        entered (the digest's footer says so); else None."""
        if not self.uses_calendar or self.source(day.year) != UNENTERED:
            return None
        return {"year": day.year, "week": self.default_week()}

    def unentered_warning(self, year: int) -> str:
        """check-config's and the service's words for a year whose 调休 is not entered."""
        held = ", ".join(f"{name} {a:%m-%d}" + (f"..{b:%m-%d}" if b > a else "")
                         for name, a, b in statutory.spans(self.rules.law, year))
        week = "Mon–Sat" if self.default_week() == "mon-sat" else "Mon–Fri"
        return (f"{self.rules.file}: the 调休 of {year} (the State Council's holiday notice) "
                f"is not entered yet; until it is, {year} is judged by its statutory holidays "
                f"computed from the law ({held}) on a {week} week. When the notice is out, "
                f"add [years.{year}] to {self.rules.file} with days_off = [the weekdays it "
                f"gives off] and workdays = [the weekend days it makes workdays], then run "
                f"`mailflow check-config` and restart `mailflow run`.")

    def unentered_line(self, year: int) -> str:
        """The same in one line, for logs: commands and the service's daily line."""
        week = "Mon–Sat" if self.default_week() == "mon-sat" else "Mon–Fri"
        return (f"the 调休 of {year} is not entered in {self.rules.file}: judged by the law's "
                f"holidays on a {week} week until [years.{year}] is added (`mailflow "
                "check-config` says how)")

    def default_week(self) -> str:
        """The week an unentered year is judged on."""
        if self.rules.unknown_year:
            return self.rules.unknown_year
        return "mon-fri" if self.rules.week == "statutory" else self.rules.week

    def law_holidays(self, year: int) -> dict[date, str]:
        """The year's statutory holiday days by law → name."""
        return statutory.holidays(self.rules.law, year)

    def _statutory(self, day: date) -> tuple[bool, bool]:
        """(is a statutory workday, is a statutory holiday) for the day."""
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._lookup(day)
        return known

    def _lookup(self, day: date) -> tuple[bool, bool]:
        source = self.source(day.year)
        if source == PACKAGE:
            return chinese_calendar.is_workday(day), chinese_calendar.is_holiday(day) and \
                chinese_calendar.get_holiday_detail(day)[1] is not None
        off = day in self.law_holidays(day.year)
        if source == ENTERED:
            entry = self.years[day.year]
            off = off or day in entry.days_off
            return (not off and (day.weekday() < 5 or day in entry.workdays)), off
        if day.year not in self._said:
            # One short line per command; check-config, the service's daily line and HR's
            # mail say how to enter it.
            self._said.add(day.year)
            log.warning("%s", self.unentered_line(day.year))
        last = 6 if self.default_week() == "mon-sat" else 5
        return (not off and day.weekday() < last), off

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
        """A day of a statutory holiday period (春节, 国庆 …, with the weekend days and 调休
        days off joined to it), not an ordinary weekend."""
        if self.source(day.year) == PACKAGE:
            return self._statutory(day)[1]
        # A holiday period is the unbroken run of days off around a holiday day, as the
        # notice writes it ("10月1日至7日放假调休").
        for step in (-1, 1):
            cur = day
            for _ in range(10):
                if self._statutory(cur)[1]:
                    return True
                if self._statutory(cur)[0]:
                    break
                cur += timedelta(days=step)
        return False

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
