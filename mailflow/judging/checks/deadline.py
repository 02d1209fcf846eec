"""Was the report in before the deadline (and grace) of its report date?"""

from __future__ import annotations

from ...dates.deadlines import deadline_for
from .base import Context, Facts, Verdict


def earned_status(facts: Facts, ctx: Context) -> str:
    """on_time, late or not_due for this one report, judged alone."""
    day = facts.cls.report_date
    person = facts.cls.person
    if person is None or not person.active_on(day) or person.role != "sales":
        return "not_due"
    if not ctx.workdays.is_workday(day):
        return "not_due"
    return "late" if facts.received_at > deadline_for(day, ctx) else "on_time"


def check(facts: Facts, ctx: Context) -> list[Verdict]:
    if earned_status(facts, ctx) != "late":
        return []
    local = facts.received_at.astimezone(ctx.tz)
    due = deadline_for(facts.cls.report_date, ctx)
    return [Verdict("late", f"received {local:%Y-%m-%d %H:%M}, due {due:%Y-%m-%d %H:%M}")]
