"""The checks a daily report goes through. Each check answers one question and returns
verdicts; none sends mail, writes the database or raises for a bad mail. The order they
run in is data (rules/daily.toml [checks] order)."""

from __future__ import annotations

from collections.abc import Callable

from .base import Context, Facts, Verdict
from . import copy, dates, deadline, sections, sender

Check = Callable[[Facts, Context], list[Verdict]]

REGISTRY: dict[str, Check] = {
    "sender": sender.check,
    "deadline": deadline.check,
    "copy": copy.check,
    "sections": sections.check,
    "dates": dates.check,
}


def run_checks(facts: Facts, ctx: Context) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for name in ctx.policy.daily.checks:
        verdicts.extend(REGISTRY[name](facts, ctx))
    return verdicts


__all__ = ["Context", "Facts", "Verdict", "run_checks", "REGISTRY"]
