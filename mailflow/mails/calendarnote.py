"""While a year's 调休 is not entered: the service's daily log line and one mail to HR per
year saying so and how to enter it (from 1 December for next year, and for this year while
it is missing). Queues into the outbox in its own transaction; the scheduler records the
run (jobs.py)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from ..dates import statutory
from ..app import App
from ..errors import ConfigError
from .letters import Queued, name_of, queue_mail, renderer_for

log = logging.getLogger(__name__)


def hr_context(app: App, year: int, today: date) -> dict[str, Any]:
    rules = app.policy.workdays
    return {"year": year, "today": today.isoformat(), "file": rules.file,
            "week": app.workdays.default_week(),
            "holidays": [{"name": name, "first": f"{a:%m-%d}", "last": f"{b:%m-%d}",
                          "days": (b - a).days + 1}
                         for name, a, b in statutory.spans(rules.law, year)]}


def queue_hr_notice(app: App, year: int, today: date) -> Queued:
    """One mail to HR for `year`, ever (its dedupe key is the year)."""
    if app.settings.smtp is None:
        return Queued(0, 0, "no [smtp]: no mail to HR")
    hr = [(name_of(app, a, today), a) for a in app.settings.company.hr]
    if not hr:
        return Queued(0, 0, "no [company] hr address: no mail to HR")
    with app.db.begin() as session:
        added = queue_mail(session, app, key=f"calendar|{year}", kind="calendar",
                           period=str(year), to=hr, cc=[], context=hr_context(app, year, today),
                           renderer=renderer_for(app))
    return Queued(int(added), int(not added))


def check_year(app: App, day: date) -> str:
    """The daily job: say which 调休 is not entered, once a day, and mail HR once a year."""
    years = app.workdays.unentered(day)
    if not years:
        return "the 调休 of every year in use is known"
    notes = []
    for year in years:
        log.warning("%s", app.workdays.unentered_line(year))
        try:
            q = queue_hr_notice(app, year, day)
            mail = q.note or ("queued" if q.added else "queued before")
        except ConfigError as exc:  # e.g. a templates folder from before this mail existed
            mail = f"not queued: {'; '.join(str(p) for p in exc.problems)}"
            log.error("the mail to HR about %d's 调休 was not queued: %s", year, mail)
        notes.append(f"{year} not entered; mail to HR {mail}")
    return "; ".join(notes)


def sample_context() -> dict[str, Any]:
    return {"year": 2027, "today": "2026-12-01", "file": "rules/workdays.toml", "week": "mon-fri",
            "holidays": [{"name": "元旦", "first": "01-01", "last": "01-01", "days": 1},
                         {"name": "春节", "first": "02-05", "last": "02-08", "days": 4}]}


def samples() -> dict[str, dict[str, Any]]:
    """Sample context of each kind written here, for check-config and the tests."""
    return {"calendar": sample_context()}
