"""Alert mails to HR (and `[company] it`): a mailbox that has failed to log in or fetch for
longer than rules/health.toml allows, a mailbox that usually has reports and has none by a
workday's deadline, a job that failed. One mail per problem per day: its dedupe key is the
problem's key and the company-local date. SMTP failing cannot be mailed; `mailflow run`
logs it and `mailflow health` shows it. Queues each mail in a short transaction of its own
(letters.queue_letters); called by `mailflow run`'s health loop and `mailflow health`."""

from __future__ import annotations

from functools import partial
from typing import Any

from ..app import App
from ..errors import ConfigError
from ..records.health import Finding, Health
from .letters import Letter, Queued, name_of, queue_letters

KIND = "alert"
# Every key any alert's templates use: each mail gets all of them, so a template branch
# for one problem never meets an undefined name.
BLANK = {"mailbox": "", "folders": "", "error": "", "since": "", "last_fetch": "", "job": "",
         "period": "", "date": "", "deadline": "", "had": 0, "of": 0, "minutes": 0}


def recipients(app: App, today) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    seen: dict[str, str] = {}
    for address in (*app.settings.company.hr, *app.settings.company.it):
        name = name_of(app, address, today)
        seen.setdefault(address, "" if name == address else name)
    return [(name, address) for address, name in seen.items()]


def context(app: App, finding: Finding) -> dict[str, Any]:
    return {**BLANK, **finding.facts, "kind": finding.kind, "text": finding.text,
            "minutes": app.policy.health.mailbox_failing_minutes}


def queue_alerts(app: App, health: Health) -> Queued:
    """Queue a mail for each problem of `health` that is mailed, once per problem per day.
    Templates that cannot render it (a templates folder from before this mail existed)
    queue nothing and say so in the note: the health report itself must still be seen."""
    try:
        return _queue(app, health)
    except ConfigError as exc:
        return Queued(0, 0, "not queued: " + "; ".join(str(p) for p in exc.problems))


def _queue(app: App, health: Health) -> Queued:
    alerts = [f for f in health.problems if f.alert]
    if not alerts:
        return Queued(0, 0)
    if app.settings.smtp is None:
        return Queued(0, 0, "no [smtp]: alerts are not mailed")
    today = health.now.astimezone(app.tz).date()
    to = recipients(app, today)
    if not to:
        return Queued(0, 0, "no [company] hr or it address: alerts are not mailed")
    return queue_letters(app, KIND, today.isoformat(), (
        (f"{KIND}|{f.key}|{today}", partial(Letter, to, context(app, f))) for f in alerts))


def sample_context() -> dict[str, Any]:
    return {**BLANK, "kind": "mailbox", "mailbox": "hr", "folders": "INBOX",
            "error": "mailbox hr: login as hr@example.com at imap.example.com refused "
                     "([AUTHENTICATIONFAILED] Authentication failed.)",
            "since": "2026-11-30 08:12", "last_fetch": "2026-11-30 08:10", "minutes": 60,
            "text": "mailbox hr (INBOX): failing since 2026-11-30 08:12 (75 min)"}


def samples() -> dict[str, dict[str, Any]]:
    """Sample context of each kind written here, for check-config and the tests."""
    return {KIND: sample_context()}
