"""The checks a daily report goes through. Each check answers one question and returns
verdicts; none sends mail, writes the database or raises for a bad mail. The order they
run in is data (rules/daily.toml [checks] order).

The check called <name> is the module <name>.py here; config/codes.py CHECK_CODES is the
one list of names and of the codes each may give."""

from __future__ import annotations

from collections.abc import Callable

from ...config.codes import CHECKS
from .base import Context, Facts, Verdict
from . import copy, dates, deadline, sections, sender

Check = Callable[[Facts, Context], list[Verdict]]

_MODULES = {m.__name__.rpartition(".")[2]: m for m in (copy, dates, deadline, sections, sender)}
REGISTRY: dict[str, Check] = {name: _MODULES[name].check for name in CHECKS}


def run_checks(facts: Facts, ctx: Context) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for name in ctx.policy.daily.checks:
        verdicts.extend(REGISTRY[name](facts, ctx))
    return verdicts


__all__ = ["Context", "Facts", "Verdict", "run_checks", "REGISTRY"]
