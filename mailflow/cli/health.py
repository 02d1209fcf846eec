"""`mailflow health`: what is wrong now, for a person (a few lines) or for monitoring
(`--json`, the shape documented in the README); exit 1 when anything is. It also queues
the day's alert mails to HR for what has been wrong long enough (mails/alerts.py), as the
running service does, so a setup that polls from cron is alerted too."""

from __future__ import annotations

import json
from datetime import datetime

from ..app import App
from ..mails.alerts import queue_alerts
from ..records.health import Health, check


def _when(app: App, t: datetime | None) -> str:
    return t.astimezone(app.tz).strftime("%Y-%m-%d %H:%M") if t else "never"


def health(app: App, as_json: bool) -> int:
    found = check(app)
    queued = queue_alerts(app, found)
    if as_json:
        print(json.dumps({**found.as_json(), "alerts_queued": queued.added},
                         ensure_ascii=False, indent=2))
    else:
        _print(app, found, queued.added, queued.note)
    return 0 if found.ok else 1


def _print(app: App, found: Health, alerts: int, note: str) -> None:
    head = "ok" if found.ok else f"{len(found.problems)} problem(s)"
    print(f"health at {_when(app, found.now)} ({app.tz.key}): {head}")
    for p in found.problems:
        print(f"problem: {p.text}")
    for w in found.warnings:
        print(f"warning: {w.text}")
    for f in found.folders:
        state = "FAILING" if f.failing_since else "stale" if f.stale else "ok"
        print(f"  mailbox {f.mailbox}/{f.folder}: last fetched {_when(app, f.last_fetch)} "
              f"({state})")
    if app.settings.smtp is not None:
        smtp = f"failing since {_when(app, found.smtp_failing_since)}" \
            if found.smtp_failing_since else "ok"
        print(f"  smtp: last delivery {_when(app, found.last_delivery)} ({smtp}); "
              f"{found.unknown} mail(s) of unknown outcome")
    if found.calendar:
        print("  calendar: " + ", ".join(f"{y} {s}" for y, s in found.calendar))
    if alerts:
        print(f"alert mails to HR: {alerts} queued (`mailflow send` delivers them)")
    elif note and any(p.alert for p in found.problems):
        print(f"alert mails: {note}")
