"""Is the sender on the roster, and is the mail really theirs?

Identity is the strictly parsed From address. Only the topmost Authentication-Results
header written by the company's own server counts: anything below it, or with another
authserv-id, may have been written by the sender.
"""

from __future__ import annotations

import re

from .base import Context, Facts, Verdict

_FAIL = re.compile(r"\b(dkim|spf|dmarc)\s*=\s*(fail|softfail|permerror)\b", re.I)


def trusted_auth_result(headers: tuple[str, ...], authserv_ids: tuple[str, ...]) -> str | None:
    for value in headers:
        serv = value.split(";", 1)[0].strip().split()[0].lower() if value.strip() else ""
        if serv in authserv_ids:
            return value
    return None


def check(facts: Facts, ctx: Context) -> list[Verdict]:
    email = facts.cls.email
    out: list[Verdict] = []
    if not ctx.roster.known(email):
        out.append(Verdict("unknown_sender", email))
        name = facts.mail.from_name.strip()
        owners = ctx.roster.names().get(name, set()) if name else set()
        if owners and email not in owners:
            out.append(Verdict("spoof_suspected",
                               f"display name {name!r} belongs to {', '.join(sorted(owners))}"))
    result = trusted_auth_result(facts.mail.auth_results, ctx.authserv_ids)
    if result:
        fails = sorted({f"{m.group(1).lower()}={m.group(2).lower()}" for m in _FAIL.finditer(result)})
        if fails:
            out.append(Verdict("spoof_suspected", f"company server reports {' '.join(fails)}"))
    return out
