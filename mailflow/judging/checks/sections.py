"""Does the report have every required section, with something in it?"""

from __future__ import annotations

from .base import Context, Facts, Verdict


def check(facts: Facts, ctx: Context) -> list[Verdict]:
    return [Verdict("missing_section", heading) for heading in facts.extracted.missing]
