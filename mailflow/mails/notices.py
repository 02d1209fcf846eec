"""The rule-break notice: one per report that broke a copy or format rule, to its sender,
saying what is wrong and how to fix it (never for `late` alone, never for old mail).
Queued in the caller's transaction, beside the verdicts (service/pipeline.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..app import App
from ..store.models import Mail, Report, Violation
from .letters import common, name_of, queue_mail, renderer_for


def queue_notice(session: Session, app: App, mail: Mail) -> bool:
    """One notice per report that broke a copy or format rule (never for `late` alone)."""
    rules = app.policy.notify
    if app.now() - mail.received_at > timedelta(hours=rules.notice_max_age_hours):
        return False
    report = session.scalars(select(Report).where(Report.mail_id == mail.id)).first()
    if report is None or report.kind != "daily":
        return False
    person = app.roster.person(report.email, report.report_date)
    if person is None or person.role != "sales":
        return False
    found = list(session.scalars(select(Violation).where(
        Violation.mail_id == mail.id, Violation.code.in_(rules.notice_codes),
        Violation.withdrawn.is_(False))
        .order_by(Violation.id)))
    if not found:
        return False
    renderer = renderer_for(app)
    hr = common(app)["hr"]
    base = {"name": person.name, "supervisor": person.supervisor, "hr": hr,
            "supervisor_name": name_of(app, person.supervisor, report.report_date),
            "today": mail.received_at.astimezone(app.tz).date().isoformat(),
            "report_date": report.report_date.isoformat(),
            "backdate_workdays": app.policy.daily.max_backdate_workdays}
    arrival = mail.received_at.astimezone(app.tz).date()
    problems = []
    for v in found:
        variant = None
        if v.code == "hr_not_cc":
            variant = "in_to" if set(mail.to_addrs or []) & app.context().hr else "missing"
        elif v.code == "date_mismatch":
            variant = "future" if report.report_date > arrival else "too_old"
        problems.append(renderer.problem_text(v.code, variant, {**base, "detail": v.detail}))
    context = {**base, "subject": report.subject, "report_date": report.report_date.isoformat(),
               "received": f"{mail.received_at.astimezone(app.tz):%m-%d %H:%M}",
               "problems": problems}
    return queue_mail(session, app, key=f"notice|{mail.id}", kind="notice",
                      period=report.report_date.isoformat(), to=[(person.name, person.email)],
                      cc=[], context=context, renderer=renderer)


def samples() -> dict[str, dict[str, Any]]:
    """Sample context of each kind written here, for check-config and the tests."""
    problem = {"what": "抄送（Cc）里没有人事。", "fix": "重新发送并抄送人事。"}
    return {"notice": {"name": "张三", "subject": "日报 <11-26>", "report_date": "2026-11-26",
                       "received": "11-26 20:05", "problems": [problem],
                       "supervisor": "q@example.com", "supervisor_name": "钱主管",
                       "today": "2026-11-26", "backdate_workdays": 3}}
