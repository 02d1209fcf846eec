"""Is the date in the subject plausible: not in the future, not too far back?"""

from __future__ import annotations

from .base import Context, Facts, Verdict


def check(facts: Facts, ctx: Context) -> list[Verdict]:
    written = facts.cls.subject_date
    if written is None:
        return []
    arrival = facts.cls.arrival_date
    if written > arrival:
        return [Verdict("date_mismatch", f"subject date {written} is after arrival {arrival}")]
    limit = ctx.policy.daily.max_backdate_workdays
    earliest = ctx.workdays.workdays_back(arrival, limit)
    if written < earliest:
        return [Verdict("date_mismatch",
                        f"subject date {written} is more than {limit} workdays before "
                        f"arrival {arrival}")]
    return []
