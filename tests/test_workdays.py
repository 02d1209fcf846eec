from datetime import date

import pytest

from mailflow.errors import UserError
from mailflow.config.policy import WorkdayRules
from mailflow.dates.workdays import Workdays


def wd(week="statutory", off=(), extra=(), holidays=True):
    return Workdays(WorkdayRules(week, holidays, frozenset(off), frozenset(extra)))


def test_statutory_calendar_with_adjusted_workdays():
    w = wd()
    assert not w.is_workday(date(2026, 10, 1))       # 国庆
    assert w.is_workday(date(2026, 9, 20))           # Sunday made a workday (调休)
    assert w.is_workday(date(2026, 10, 10))          # Saturday made a workday (调休)
    assert not w.is_workday(date(2026, 11, 28))      # ordinary Saturday
    assert w.is_workday(date(2026, 11, 27))


def test_mon_sat_week_keeps_statutory_holidays():
    w = wd("mon-sat")
    assert w.is_workday(date(2026, 11, 28))
    assert not w.is_workday(date(2026, 10, 3))       # Saturday inside 国庆
    assert not w.is_workday(date(2026, 11, 29))


def test_company_days_off_and_extra_workdays():
    w = wd(off={date(2026, 11, 27)}, extra={date(2026, 11, 29)})
    assert not w.is_workday(date(2026, 11, 27))
    assert w.is_workday(date(2026, 11, 29))


def test_unknown_year_is_a_clear_error():
    with pytest.raises(UserError, match="does not know 2031.*unknown_year"):
        wd().is_workday(date(2031, 3, 3))


def test_workdays_back_skips_holidays():
    assert wd().workdays_back(date(2026, 10, 9), 3) == date(2026, 9, 29)


def test_unknown_year_can_fall_back_to_a_fixed_week():
    w = Workdays(WorkdayRules("statutory", True, frozenset({date(2031, 1, 1)}), frozenset(),
                              "mon-fri"))
    assert w.is_workday(date(2031, 3, 3)) and not w.is_workday(date(2031, 3, 8))
    assert not w.is_workday(date(2031, 1, 1))      # the company's own day off
