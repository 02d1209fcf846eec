"""The statutory holidays of any year, computed from the law (全国年节及纪念日放假办法).

The law names each holiday by an anchor and a number of days: a Gregorian date (元旦 01-01),
a lunar date (端午 五月初五, 中秋 八月十五, 春节 from 除夕) or a solar term (清明). Which law is in
force for a year, and what it says, is policy (rules/workdays.toml [law.*], read by
policy.py); this module only turns it into dates. Lunar dates and solar terms come from
lunar-python (computed astronomically, so every year has an answer). Pure: no I/O.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from lunar_python import Lunar

from ..config.policy import LawHoliday, StatutoryLaw, WorkdayRules
from ..errors import Problem

# The 24 solar terms by their Chinese names (lunar-python lists a few twice under pinyin).
_PINYIN = {"DA_XUE": "大雪", "DONG_ZHI": "冬至", "XIAO_HAN": "小寒", "DA_HAN": "大寒",
           "LI_CHUN": "立春", "YU_SHUI": "雨水", "JING_ZHE": "惊蛰"}


def _solar(lunar: Lunar) -> date:
    s = lunar.getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


def first_day(holiday: LawHoliday, year: int) -> date:
    """The holiday's first day in the Gregorian year `year`."""
    if holiday.kind == "date":
        return date(year, holiday.month, holiday.day)
    if holiday.kind == "eve":
        # 除夕 is the day before 正月初一: 腊月廿九 when 腊月 has 29 days, else 三十.
        return _solar(Lunar.fromYmd(year, 1, 1)) - timedelta(days=1)
    if holiday.kind == "lunar":
        return _solar(Lunar.fromYmd(year, holiday.month, holiday.day))
    return solar_term(holiday.term, year)


@lru_cache(maxsize=256)
def solar_term(name: str, year: int) -> date:
    """The day of solar term `name` in the Gregorian year `year`."""
    # A lunar year's table runs from the 大雪 before it to the 惊蛰 after it; the terms of
    # the next round carry pinyin keys (DONG_ZHI is the 冬至 at the table's end).
    for lunar_year in (year, year - 1, year + 1):
        for key, s in Lunar.fromYmd(lunar_year, 1, 1).getJieQiTable().items():
            if name in (key, _PINYIN.get(key)) and s.getYear() == year:
                return date(s.getYear(), s.getMonth(), s.getDay())
    raise ValueError(f"no solar term {name!r} in {year}")


def law_for(laws: tuple[StatutoryLaw, ...], year: int) -> StatutoryLaw | None:
    """The law in force in `year`: the latest one in force from that year or before."""
    found = None
    for law in sorted(laws, key=lambda x: x.since):
        if law.since <= year:
            found = law
    return found


@lru_cache(maxsize=64)
def holidays(laws: tuple[StatutoryLaw, ...], year: int) -> dict[date, str]:
    """Every statutory holiday day of `year` → the holiday's name (元旦, 春节 …)."""
    law = law_for(laws, year)
    out: dict[date, str] = {}
    if law is None:
        return out
    for holiday in law.holidays:
        start = first_day(holiday, year)
        for n in range(holiday.days):
            out.setdefault(start + timedelta(days=n), holiday.name)
    return out


def spans(laws: tuple[StatutoryLaw, ...], year: int) -> list[tuple[str, date, date]]:
    """(name, first day, last day) of each statutory holiday of `year`, in date order."""
    law = law_for(laws, year)
    if law is None:
        return []
    out = []
    for holiday in law.holidays:
        start = first_day(holiday, year)
        out.append((holiday.name, start, start + timedelta(days=holiday.days - 1)))
    return sorted(out, key=lambda s: s[1])


def law_conflicts(rules: WorkdayRules) -> list[Problem]:
    """HR's [years.YEAR] entries that contradict the law that year: a workday on a statutory
    holiday (the notice never makes one a workday), or a day off that is a holiday already
    (the notice lists the extra weekdays off, not the holidays): a typo either way."""
    found = []
    for arrangement in rules.years:
        law_days = holidays(rules.law, arrangement.year)
        for day in sorted(arrangement.workdays & set(law_days)):
            found.append(Problem(rules.file, f"years.{arrangement.year}.workdays",
                                 f"{day} is {law_days[day]}, a statutory holiday by law",
                                 "check the date against the State Council's notice"))
        for day in sorted(arrangement.days_off & set(law_days)):
            found.append(Problem(rules.file, f"years.{arrangement.year}.days_off",
                                 f"{day} is {law_days[day]}, off by law anyway",
                                 "list only the weekdays the notice gives off besides the "
                                 "holidays themselves (调休 days such as the day before or "
                                 "after), and check the date against the notice"))
    return found
