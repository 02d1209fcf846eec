"""Answers to commands by mail (records/commands.py): the requester's one mail when their
leave is approved or refused (who decided, the dates), one confirmation to the sender of
a registration or correction listing each entry, and one refusal, saying why, to the
sender of a command that does not count — only to a roster person or HR, never to an
unknown address and never to an auto-reply. Queued in the caller's transaction, beside
the command (service/pipeline.py); each mail's dedupe key makes it one."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from ..app import App
from ..records.commands import Done, Line
from .letters import name_of, queue_mail, renderer_for, weekday_label

ACTIONS = {"request": "请假申请", "approve": "批准请假", "refuse": "驳回请假",
           "register": "请假登记", "correct": "豁免/更正"}


def _span(start: date, end: date, half_day: bool) -> str:
    first = f"{start.isoformat()}（{weekday_label(start)}）"
    if start == end:
        return first + ("，半天" if half_day else "")
    return f"{first} 至 {end.isoformat()}（{weekday_label(end)}）"


def _line(app: App, line: Line) -> dict[str, Any]:
    return {"name": line.name, "email": line.email,
            "dates": _span(line.start, line.end, line.half_day), "kind": line.kind,
            # the codes in HR's words (templates/problems.toml), not as the record keeps them
            "codes": [renderer_for(app).label(code) for code in line.codes], "note": line.note}


def queue_answers(session: Session, app: App, done: list[Done]) -> int:
    """The answer mails of these commands; returns how many were queued."""
    if app.settings.smtp is None:
        return 0
    renderer = renderer_for(app)
    queued = 0
    for d in done:
        today = app.now().astimezone(app.tz).date()
        if d.state == "refused":
            if not d.answer_sender:
                continue
            context = {"name": name_of(app, d.sender, today), "subject": d.subject,
                       "action": ACTIONS[d.action], "reason": d.reason}
            queued += queue_mail(session, app, key=f"command_refused|{d.message_id}",
                                 kind="command_refused", period=today.isoformat(),
                                 to=[(context["name"], d.sender)], cc=[], context=context,
                                 renderer=renderer)
        elif d.action in ("register", "correct"):
            context = {"name": name_of(app, d.sender, today), "subject": d.subject,
                       "action": ACTIONS[d.action], "correction": d.action == "correct",
                       "lines": [_line(app, line) for line in d.lines]}
            queued += queue_mail(session, app, key=f"command_done|{d.message_id}",
                                 kind="command_done", period=today.isoformat(),
                                 to=[(context["name"], d.sender)], cc=[], context=context,
                                 renderer=renderer)
        elif d.request is not None and d.request.state in ("approved", "refused"):
            r = d.request
            person = name_of(app, r.email, r.start)
            context = {"name": person, "approved": r.state == "approved", "kind": r.kind,
                       "dates": _span(r.start, r.end, r.half_day),
                       "decider": name_of(app, r.decided_by or d.sender, r.start),
                       "decider_email": r.decided_by or d.sender,
                       "by_rule": d.action == "request", "subject": d.subject}
            queued += queue_mail(session, app, key=f"leave_decision|{r.id}",
                                 kind="leave_decision", period=r.start.isoformat(),
                                 to=[(person, r.email)], cc=[], context=context,
                                 renderer=renderer)
    return queued


def samples() -> dict[str, dict[str, Any]]:
    """Sample context of each kind written here, for check-config and the tests."""
    return {
        "leave_decision": {"name": "张三", "approved": True, "kind": "病假",
                           "dates": "2026-12-03（周四） 至 2026-12-04（周五）",
                           "decider": "钱主管", "decider_email": "q@example.com",
                           "by_rule": False, "subject": "病假 12月3日-12月4日"},
        "command_done": {"name": "钱主管", "subject": "请假登记", "action": "请假登记",
                         "correction": False,
                         "lines": [{"name": "张三", "email": "z@example.com",
                                    "dates": "2026-12-03（周四）", "kind": "年假", "codes": [],
                                    "note": "回老家"}]},
        "command_refused": {"name": "李四", "subject": "回复：病假 12月3日",
                            "action": "批准请假", "reason": "销售人员不能批准或驳回自己的请假"},
    }
