"""Month end: the reminder to each supervisor to hand in 销售员(含试用期)考核表 with a
pre-filled sheet for the region, and closing the month (assessment_missing for the
supervisors' forms, indicators_missing for the salespeople's signed sheets)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import select

from . import sheets
from ..app import App
from ..errors import UserError
from .letters import Letter, Queued, money, per_team, queue_letters
from ..dates.deadlines import assessment_due, indicators_due, last_workday
from ..dates.periods import month_end, month_label
from ..records.stats import (PersonPeriod, on_roster_for, person_periods, team_periods,
                             teams_between)
from ..store import queries
from ..store.models import Report

SHEET_HEADER = ["区域", "姓名", "邮箱", "试用期", "应交天数", "按时", "迟交", "未交", "请假", "违规",
                "拜访合计", "销售额合计", "回款合计", "考核指标", "得分", "评语"]


def month_end_sheet(app: App, first: date, team: list[Any], supervisor: str,
                    periods: list[PersonPeriod] | None = None
                    ) -> tuple[list[dict[str, Any]], bytes]:
    """The pre-filled sheet of one supervisor's team: each person with the days they were
    in this team only (someone who moved region mid-month is in both sheets). `periods`:
    the team's month read already (`team_periods`), else it is read here."""
    rows, out = [], []
    if periods is None:
        periods = person_periods(app, first, month_end(first), team, supervisor=supervisor,
                                 items=False)
    for pp in periods:
        p = pp.person
        visits, sales, collections = (pp.metrics.get(k, 0) for k in
                                      ("visits", "sales", "collections"))
        counts = [pp.due, pp.count("on_time"), pp.count("late"), pp.count("missing"),
                  pp.count("excused"), sum(pp.breaks.values())]
        rows.append([p.region, p.name, p.email, "是" if p.probation else "否", *counts,
                     visits, sales, collections, "", "", ""])
        out.append(dict(zip(["region", "name", "email", "probation", "due", "on_time", "late",
                             "missing", "excused", "breaks", "visits", "sales", "collections"],
                            [p.region, p.name, p.email, "是" if p.probation else "否", *counts,
                             money(visits), money(sales), money(collections)])))
    return out, sheets.workbook([("考核表", SHEET_HEADER, rows)])


def queue_month_end(app: App, first: date) -> Queued:
    """On the month's last workday: each supervisor's reminder with the pre-filled sheet."""
    label = month_label(first)
    due = assessment_due(app, first)
    last = last_workday(app, first)

    def read(chunk: list[tuple[Any, str, list[Any]]]) -> dict[str, list[PersonPeriod]]:
        return team_periods(app, first, month_end(first),
                            {email: team for _, email, team in chunk}, items=False)

    def letter(sup: Any, sup_email: str, team: list[Any],
               reads: Callable[[], dict[str, list[PersonPeriod]]]) -> Letter:
        people, book = month_end_sheet(app, first, team, sup_email, reads()[sup_email])
        context = {"supervisor_name": sup.name, "region": sup.region, "month": label,
                   "due": f"{due.astimezone(app.tz):%Y-%m-%d %H:%M}", "people": people,
                   "hr_list": ", ".join(app.settings.company.hr)}
        return Letter([(sup.name, sup.email)], context,
                      attachments=((f"销售员(含试用期)考核表-{sup.region}-{label}.xlsx",
                                    sheets.XLSX, book),))

    supervisors = ((app.roster.person(email, last), email, team)
                   for email, team in sorted(teams_between(app, first, month_end(first)).items()))
    return queue_letters(app, "month_end", label,
                         ((f"month_end|{sup.email}|{label}", partial(letter, sup, email, team,
                                                                     reads))
                          for (sup, email, team), reads in per_team(
                              ((sup, email, team) for sup, email, team in supervisors
                               if sup is not None), lambda t: len(t[2]), read)))


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
    rows: list[dict[str, Any]] = []   # inserted in one statement: a company owes thousands
    with app.db.begin() as session:
        for sup in sorted(teams):
            if (sup, "assessment") not in handed and \
                    on_roster_for(app, sup, "supervisor", due.date(), today):
                rows.append(queries.violation_row(
                    email=sup, day=first, code="assessment_missing",
                    detail=f"{label}: none by {due.astimezone(app.tz):%m-%d %H:%M}",
                    mail_id=None, now=now, scope="day"))
                found.append(f"{sup}: assessment_missing")
            for person in teams[sup]:
                if person.email in owed:
                    continue   # in two teams this month (moved region): one form, one verdict
                owed.add(person.email)
                if (person.email, "indicators") not in handed and \
                        on_roster_for(app, person.email, "sales", indicators_day, today):
                    rows.append(queries.violation_row(
                        email=person.email, day=first, code="indicators_missing",
                        detail=label, mail_id=None, now=now, scope="day"))
                    found.append(f"{person.email}: indicators_missing")
        queries.insert_violations(session, rows)
    return found


def sample_context() -> dict[str, Any]:
    return {"supervisor_name": "钱主管", "region": "华东", "month": "2026-11",
            "due": "2026-12-03 18:00", "hr_list": "hr@example.com",
            "people": [{"name": "张三", "probation": "是", "due": 20, "on_time": 18, "late": 1,
                        "missing": 1, "excused": 1, "breaks": 2, "visits": "40", "sales": "120,000",
                        "collections": "80,000"}]}


def samples() -> dict[str, dict[str, Any]]:
    """Sample context of each kind written here, for check-config and the tests."""
    return {"month_end": sample_context()}
