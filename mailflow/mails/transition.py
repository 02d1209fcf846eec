"""HR leaves a region's digests (`hr_assist_until = "auto"`): once a week, after the
week's last clearing was due, each region that met the on-time and 日清 rates for
`[hr_assist] weeks` complete weeks in a row is recorded (hr_assist_ends) and HR gets one
mail saying so; from the next workday that region's digests go without HR in Cc. The
record and the mail are written in one transaction per region."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ..app import App
from ..dates.deadlines import next_workday
from ..dates.periods import monday_of, week_label
from ..records.clearing import pct
from ..records.transition import Qualified, qualifying
from ..store.models import HrAssistEnd
from .letters import Queued, name_of, queue_mail, renderer_for


def check_transition(app: App, day: date) -> Queued:
    """Run on `day` for the week before it: record and announce the regions that qualify."""
    notify = app.policy.notify
    if not notify.hr_assist_auto:
        return Queued(0, 0, 'hr_assist_until is not "auto": nothing to check')
    last_monday = monday_of(day) - timedelta(days=7)
    added = 0
    for q in qualifying(app, last_monday, next_workday(app, day)):
        with app.db.begin() as session:
            if session.get(HrAssistEnd, q.region) is not None:
                continue
            session.add(HrAssistEnd(region=q.region, last_week=last_monday,
                                    from_day=q.from_day, decided_at=app.now()))
            if app.settings.smtp is not None and app.settings.company.hr:
                queue_mail(session, app, key=f"hr_assist|{q.region}", kind="hr_assist",
                           period=week_label(last_monday),
                           to=[(name_of(app, a, day), a) for a in app.settings.company.hr],
                           cc=[], context=context(app, q), renderer=renderer_for(app))
        added += 1
    return Queued(added, 0, "" if added else "no region left the transition")


def context(app: App, q: Qualified) -> dict[str, Any]:
    notify = app.policy.notify
    return {"region": q.region, "from_day": q.from_day.isoformat(),
            "weeks_needed": notify.hr_assist_weeks,
            "on_time_bar": pct(notify.hr_assist_on_time_rate),
            "clearing_bar": pct(notify.hr_assist_clearing_rate),
            "weeks": [{"week": week_label(w.monday), "on_time_rate": pct(w.on_time_rate),
                       "clearing_rate": pct(w.clearing_rate)} for w in q.weeks]}


def samples() -> dict[str, dict[str, Any]]:
    """Sample context of each kind written here, for check-config and the tests."""
    week = {"week": "2026-W48", "on_time_rate": "100%", "clearing_rate": "95%"}
    return {"hr_assist": {"region": "华东", "from_day": "2026-12-01", "weeks_needed": 4,
                          "on_time_bar": "95%", "clearing_bar": "90%", "weeks": [week]}}
