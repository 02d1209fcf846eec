"""Was the report sent To the sender's own supervisor, with HR in Cc?"""

from __future__ import annotations

from .base import Context, Facts, Verdict


def check(facts: Facts, ctx: Context) -> list[Verdict]:
    person = facts.cls.person
    if person is None or person.role != "sales":
        return []
    out: list[Verdict] = []
    to = set(facts.mail.to)
    if person.supervisor and person.supervisor not in to:
        sent_to = ", ".join(facts.mail.to) or "(nobody)"
        out.append(Verdict("not_to_supervisor", f"To: {sent_to}; supervisor: {person.supervisor}"))
    if not ctx.hr & set(facts.mail.cc):
        where = "in To instead of Cc" if ctx.hr & to else "not copied"
        out.append(Verdict("hr_not_cc", f"HR {where}; Cc: {', '.join(facts.mail.cc) or '(none)'}"))
    return out


def check_weekly(facts: Facts, ctx: Context) -> list[Verdict]:
    """A supervisor's weekly report goes To management with HR in Cc."""
    out: list[Verdict] = []
    if ctx.management and not ctx.management & set(facts.mail.to):
        out.append(Verdict("not_to_management", f"To: {', '.join(facts.mail.to) or '(nobody)'}"))
    if not ctx.hr & set(facts.mail.cc):
        where = "in To instead of Cc" if ctx.hr & set(facts.mail.to) else "not copied"
        out.append(Verdict("hr_not_cc", f"HR {where}; Cc: {', '.join(facts.mail.cc) or '(none)'}"))
    return out
