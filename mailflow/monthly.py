"""Month end: the reminder to each supervisor to hand in 销售员(含试用期)考核表 with a
pre-filled sheet for the region, and closing the month (assessment_missing for the
supervisors' forms, indicators_missing for the salespeople's signed sheets)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from . import sheets
from .app import App
from .errors import UserError
from .notify import Queued, money, queue_mail, renderer_for
from .outbox import exists
from .periods import at, month_end, month_label, next_month
from .stats import on_roster_for, person_periods, teams_between
from .store import queries
from .store.models import Report

SHEET_HEADER = ["区域", "姓名", "邮箱", "试用期", "应交天数", "按时", "迟交", "未交", "违规",
                "拜访合计", "销售额合计", "回款合计", "考核指标", "得分", "评语"]


def last_workday(app: App, first: date) -> date:
    days = app.workdays.workdays_between(first, month_end(first))
    return days[-1] if days else month_end(first)


def assessment_due(app: App, first: date):  # type: ignore[no-untyped-def]
    rules = app.policy.monthly
    return at(next_month(first).replace(day=rules.assessment_due_day), rules.assessment_due_at,
              app.tz)


def indicators_due(app: App, first: date):  # type: ignore[no-untyped-def]
    rules = app.policy.monthly
    return at(first.replace(day=rules.indicators_due_day), rules.indicators_due_at, app.tz)


def month_end_sheet(app: App, first: date, team: list[Any], supervisor: str
                    ) -> tuple[list[dict[str, Any]], bytes]:
    """The pre-filled sheet of one supervisor's team: each person with the days they were
    in this team only (someone who moved region mid-month is in both sheets)."""
    rows, out = [], []
    for pp in person_periods(app, first, month_end(first), team, supervisor=supervisor):
        p = pp.person
        visits, sales, collections = (pp.metrics.get(k, 0) for k in
                                      ("visits", "sales", "collections"))
        counts = [pp.due, pp.count("on_time"), pp.count("late"), pp.count("missing"),
                  sum(pp.breaks.values())]
        rows.append([p.region, p.name, p.email, "是" if p.probation else "否", *counts,
                     visits, sales, collections, "", "", ""])
        out.append(dict(zip(["region", "name", "email", "probation", "due", "on_time", "late",
                             "missing", "breaks", "visits", "sales", "collections"],
                            [p.region, p.name, p.email, "是" if p.probation else "否", *counts,
                             money(visits), money(sales), money(collections)])))
    return out, sheets.workbook([("考核表", SHEET_HEADER, rows)])


def queue_month_end(app: App, first: date) -> Queued:
    """On the month's last workday: each supervisor's reminder with the pre-filled sheet."""
    label = month_label(first)
    due = assessment_due(app, first)
    renderer = renderer_for(app)
    added = existing = 0
    for sup_email, team in sorted(teams_between(app, first, month_end(first)).items()):
        sup = app.roster.person(sup_email, last_workday(app, first))
        if sup is None:
            continue
        key = f"month_end|{sup.email}|{label}"
        with app.read() as session:
            if exists(session, key):
                existing += 1
                continue
        people, book = month_end_sheet(app, first, team, sup_email)
        context = {"supervisor_name": sup.name, "region": sup.region, "month": label,
                   "due": f"{due.astimezone(app.tz):%Y-%m-%d %H:%M}", "people": people,
                   "hr_list": ", ".join(app.settings.company.hr)}
        with app.db.begin() as session:
            if queue_mail(session, app, key=key, kind="month_end", period=label,
                          to=[(sup.name, sup.email)], cc=[], context=context, renderer=renderer,
                          attachments=((f"销售员(含试用期)考核表-{sup.region}-{label}.xlsx",
                                        sheets.XLSX, book),)):
                added += 1
            else:
                existing += 1
    return Queued(added, existing)


def close_month(app: App, first: date) -> list[str]:
    """assessment_missing per supervisor, indicators_missing per salesperson. Idempotent."""
    label = month_label(first)
    due = assessment_due(app, first)
    if app.now() <= due:
        raise UserError(f"{label} cannot be closed before its assessment forms are due "
                        f"({due.astimezone(app.tz):%Y-%m-%d %H:%M %Z})")
    with app.read() as session:
        handed = set(session.execute(select(Report.email, Report.kind).where(
            Report.report_date == first, Report.kind.in_(["assessment", "indicators"]))))
    found: list[str] = []
    now = app.now()
    today = now.astimezone(app.tz).date()
    teams = teams_between(app, first, month_end(first))
    # A form is owed by who was in the role on the day it was due and has not left since.
    indicators_day = indicators_due(app, first).date()
    owed: set[str] = set()
    with app.db.begin() as session:
        for sup in sorted(teams):
            if (sup, "assessment") not in handed and \
                    on_roster_for(app, sup, "supervisor", due.date(), today):
                queries.add_violation(session, email=sup, day=first, code="assessment_missing",
                                      detail=f"{label}: none by {due.astimezone(app.tz):%m-%d %H:%M}",
                                      mail_id=None, now=now, scope="day")
                found.append(f"{sup}: assessment_missing")
            for person in teams[sup]:
                if person.email in owed:
                    continue   # in two teams this month (moved region): one form, one verdict
                owed.add(person.email)
                if (person.email, "indicators") not in handed and \
                        on_roster_for(app, person.email, "sales", indicators_day, today):
                    queries.add_violation(session, email=person.email, day=first,
                                          code="indicators_missing", detail=label,
                                          mail_id=None, now=now, scope="day")
                    found.append(f"{person.email}: indicators_missing")
    return found


def sample_context() -> dict[str, Any]:
    return {"supervisor_name": "钱主管", "region": "华东", "month": "2026-11",
            "due": "2026-12-03 18:00", "hr_list": "hr@example.com",
            "people": [{"name": "张三", "probation": "是", "due": 20, "on_time": 18, "late": 1,
                        "missing": 1, "breaks": 2, "visits": "40", "sales": "120,000",
                        "collections": "80,000"}]}
