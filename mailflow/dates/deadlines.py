"""When each thing is due, in one place: the daily report, the weekly report, the month's
forms, the meeting. Every answer is an aware datetime in the company's zone (or a date).

The functions take the setup (App or the checks' Context: anything with the policy, the
workdays and the company's zone), so the checks, the record, the mails and the schedule
ask the same question the same way. Pure: no database, no clock.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from ..config.policy import Policy
from .periods import at, month_end, next_month, weekly_due
from .workdays import Workdays


class Setup(Protocol):
    @property
    def policy(self) -> Policy: ...
    @property
    def workdays(self) -> Workdays: ...
    @property
    def tz(self) -> ZoneInfo: ...


def deadline_for(day: date, setup: Setup) -> datetime:
    """The daily report of `day` is late after this (deadline plus grace)."""
    rules = setup.policy.daily
    local = datetime.combine(day, rules.deadline, tzinfo=setup.tz)
    return local + timedelta(minutes=rules.grace_minutes)


def weekly_report_due(setup: Setup, monday: date) -> datetime:
    """The supervisors' weekly report for the week starting `monday`."""
    rules = setup.policy.weekly
    return weekly_due(monday, rules.due_weekday, rules.due_at, setup.tz)


def last_workday(setup: Setup, first: date) -> date:
    """The month's last workday (its month-end reminder goes out then)."""
    days = setup.workdays.workdays_between(first, month_end(first))
    return days[-1] if days else month_end(first)


def assessment_due(setup: Setup, first: date) -> datetime:
    """The supervisors' assessment forms for the month starting `first`."""
    rules = setup.policy.monthly
    return at(next_month(first).replace(day=rules.assessment_due_day), rules.assessment_due_at,
              setup.tz)


def indicators_due(setup: Setup, first: date) -> datetime:
    """The salespeople's indicator forms for the month starting `first`."""
    rules = setup.policy.monthly
    return at(first.replace(day=rules.indicators_due_day), rules.indicators_due_at, setup.tz)


def meeting_day(setup: Setup, send_day: date) -> date:
    """The meeting a notice sent on `send_day` announces: the next meeting weekday."""
    ahead = (setup.policy.meeting.weekday - send_day.weekday()) % 7
    return send_day + timedelta(days=ahead or 7)


def meeting_starts(setup: Setup, day: date) -> datetime:
    return datetime.combine(day, setup.policy.meeting.at, tzinfo=setup.tz)


def next_workday(setup: Setup, day: date) -> date:
    """The first workday after `day` (a long holiday is at most a few weeks)."""
    nxt = day + timedelta(days=1)
    for _ in range(60):
        if setup.workdays.is_workday(nxt):
            return nxt
        nxt += timedelta(days=1)
    return nxt


def previous_workday(setup: Setup, day: date) -> date | None:
    """The last workday before `day`, or None when there is none within 60 days."""
    prev = day - timedelta(days=1)
    for _ in range(60):
        if setup.workdays.is_workday(prev):
            return prev
        prev -= timedelta(days=1)
    return None


def clearing_due(day: date, setup: Setup) -> datetime:
    """The supervisors' daily clearing (日清) of `day`: `[clearing] due` on the next workday."""
    return datetime.combine(next_workday(setup, day), setup.policy.notify.clearing_due_at,
                            tzinfo=setup.tz)
