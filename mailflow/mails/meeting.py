"""The Saturday meeting notice, with its three rules; not sent for a statutory holiday."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from ..app import App
from .letters import Letter, Queued, queue_letters, weekday_label


def queue_meeting_notice(app: App, day: date) -> Queued:
    rules = app.policy.meeting
    if app.workdays.is_holiday(day):
        return Queued(0, 0, f"{day} falls in a statutory holiday: no meeting, no notice")
    people = {}
    for role in rules.to_roles:
        for p in app.roster.on(day, role):
            people.setdefault(p.email, p)
    context = {"date": day.isoformat(), "weekday": weekday_label(day),
               "time": f"{rules.at:%H:%M}", "place": rules.place, "rules": list(rules.rules)}
    return queue_letters(app, "meeting", day.isoformat(), (
        (f"meeting|{email}|{day}",
         partial(Letter, [(person.name, email)], {**context, "name": person.name}))
        for email, person in sorted(people.items())))


def sample_context() -> dict[str, Any]:
    return {"name": "张三", "date": "2026-11-28", "weekday": "周六", "time": "09:00",
            "place": "公司三楼会议室", "rules": ["一律穿公司工作服；", "会议期间手机调成振动或静音；",
                                         "会议期间不要吸烟，请于中场休息时吸烟。"]}


def samples() -> dict[str, dict[str, Any]]:
    """Sample context of each kind written here, for check-config and the tests."""
    return {"meeting": sample_context()}
