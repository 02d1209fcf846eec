"""The reminder before the deadline: to each salesperson with no report for the day yet.
It expires at the deadline: one that could not be delivered before is never sent."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from ..app import App
from ..dates.deadlines import deadline_for
from ..delivery import outbox
from ..store import leave
from ..store.models import Report
from .letters import Queued, name_of, outgoing, renderer_for, weekday_label


def queue_reminders(app: App, day: date) -> Queued:
    """A reminder to each salesperson with no report for `day`, before its deadline; none to
    whoever is on leave that day or has asked for whole days of an excused kind."""
    if not app.workdays.is_workday(day):
        return Queued(0, 0, f"{day} is not a workday: no reminders")
    ctx = app.context()
    due = deadline_for(day, ctx)
    now = app.now()
    if now >= due:
        return Queued(0, 0, f"the deadline of {day} ({due.astimezone(app.tz):%H:%M}) has "
                            "passed: a reminder now would come too late, none queued")
    renderer = renderer_for(app)
    with app.db.begin() as session:
        reported = set(session.scalars(select(Report.email).where(
            Report.report_date == day, Report.kind == "daily")))
        # One read of what is queued and one insert for all: a reminder per salesperson
        # of a large company is thousands of mails at 20:00.
        queued = outbox.keys_for(session, "reminder", day.isoformat())
        cover = leave.cover(session, app.policy.leave, app.workdays, day, day)
        mails = []
        for person in app.roster.on(day, "sales"):
            key = f"reminder|{person.email}|{day}"
            if person.email in reported or key in queued or \
                    (person.email, day) in cover.excused or (person.email, day) in cover.pending:
                continue
            context = {"name": person.name, "date": day.isoformat(), "weekday": weekday_label(day),
                       "deadline": f"{due.astimezone(app.tz):%H:%M}",
                       "now_time": f"{now.astimezone(app.tz):%H:%M}",
                       "supervisor": person.supervisor,
                       "supervisor_name": name_of(app, person.supervisor, day)}
            mails.append(outgoing(app, key=key, kind="reminder", period=day.isoformat(),
                                  to=[(person.name, person.email)], cc=[], context=context,
                                  renderer=renderer, expires_at=due))
        added = outbox.queue_many(session, mails, now)
    return Queued(added, len(queued) + len(mails) - added)


def samples() -> dict[str, dict[str, Any]]:
    """Sample context of each kind written here, for check-config and the tests."""
    return {"reminder": {"name": "张三", "date": "2026-11-26", "weekday": "周四",
                         "deadline": "21:00", "now_time": "20:00",
                         "supervisor": "qian@example.com", "supervisor_name": "钱主管"}}
