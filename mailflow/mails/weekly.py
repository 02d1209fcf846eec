"""The week: each supervisor's draft 销售区域周报, the reminder for their own weekly report,
and closing the week (weekly_late, weekly_missing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

from . import sheets
from ..app import App
from ..errors import UserError
from ..dates.deadlines import deadline_for
from .letters import (COLOURS, Letter, Queued, money, per_team, queue_letters, renderer_for,
                      weekday_label)
from ..dates.periods import week_label, weekly_due
from ..records.clearing import figures as clearing_figures
from ..records.stats import (PersonPeriod, repeated, team_periods, teams_between,
                             weekly_reports)
from ..store import queries

METRICS = (("visits", "拜访"), ("sales", "销售额"), ("collections", "回款"))
ITEM_NAMES = {"issues": "问题与需求", "competitors": "竞品信息"}


def _change(now: float, before: float) -> tuple[str, object]:
    """The change against last week as the mail shows it, and as an .xlsx cell."""
    if before == 0:
        text = "—" if now == 0 else "新增"
        return text, text
    pct = (now - before) / before
    return f"{pct * 100:+.0f}%", sheets.Num(pct, sheets.CHANGE, f"{pct * 100:+.0f}%")


def compared_days(app: App, monday: date) -> list[date]:
    """The week's workdays whose reports were due by now. The week's figures, and last
    week's they are compared with, cover these days only: a draft compiled before the
    week's last deadline compares like with like, never four days with five."""
    ctx = app.context()
    now = app.now()
    return [d for d in app.workdays.workdays_between(monday, monday + timedelta(days=6))
            if deadline_for(d, ctx) <= now]


@dataclass(frozen=True)
class WeekReads:
    """What the drafts of some teams read of the record, supervisor → team's figures: the
    week (days, figures, items), the metrics alone of the days compared and of the same
    days of last week, and the 日清 figures."""

    this: dict[str, list[PersonPeriod]]
    upto: dict[str, list[PersonPeriod]]
    before: dict[str, list[PersonPeriod]]
    clearing: dict[str, dict[str, Any]]


def _compared_span(app: App, monday: date) -> tuple[list[date], bool, date, int]:
    """The days compared, whether that is the whole week, the last day and its offset."""
    workdays = app.workdays.workdays_between(monday, monday + timedelta(days=6))
    compared = compared_days(app, monday)
    whole = compared == workdays
    # Metrics over the days compared: the whole week (with a weekend report) once every
    # workday's report was due, else Monday up to the last day due, against the same
    # weekdays of last week.
    upto = monday + timedelta(days=6) if whole else \
        (compared[-1] if compared else monday - timedelta(days=1))
    return compared, whole, upto, (upto - monday).days


def week_reads(app: App, monday: date, teams: dict[str, list[Any]]) -> WeekReads:
    """The reads of the drafts of `teams` (supervisor → team), a few queries for all."""
    end = monday + timedelta(days=6)
    compared, _, upto, span = _compared_span(app, monday)
    this = team_periods(app, monday, end, teams)
    # The compared figures need the metrics only, not the reports' text; once the whole
    # week is due they are this week's own.
    if not compared:
        upto_pp = {}
    elif upto == end:
        upto_pp = this
    else:
        upto_pp = team_periods(app, monday, upto, teams, items=False, days=False)
    before = team_periods(app, monday - timedelta(days=7), monday - timedelta(days=7 - span),
                          teams, items=False, days=False) if compared else {}
    clearing = {f.supervisor.email: f.as_row()
                for f in clearing_figures(app, monday, end, set(teams))}
    return WeekReads(this, upto_pp, before, clearing)


def draft_context(app: App, monday: date, sup: Any, team: list[Any],
                  reads: WeekReads | None = None) -> tuple[dict[str, Any], bytes]:
    """The draft's content for one region, and the same as an .xlsx workbook. A person in
    the team for part of the week has that part only (the roster of each day decides).
    `reads`: what `week_reads` read for this team among others, else it is read here."""
    renderer = renderer_for(app)
    end = monday + timedelta(days=6)
    workdays = app.workdays.workdays_between(monday, end)
    if reads is None:
        reads = week_reads(app, monday, {sup.email: team})
    compared, whole, upto, span = _compared_span(app, monday)
    this = reads.this[sup.email]
    now_figures = {pp.person.email: pp for pp in reads.upto.get(sup.email, [])}
    before = {pp.person.email: pp for pp in reads.before.get(sup.email, [])}
    same_days = "" if whole or not compared else (
        weekday_label(monday) if span == 0 else f"{weekday_label(monday)}至{weekday_label(upto)}")
    highlight_days = app.policy.weekly.repeat_highlight_days
    grid, totals, items, plans, metric_rows = [], [], [], [], []
    region_now = {k: 0.0 for k, _ in METRICS}
    region_before = {k: 0.0 for k, _ in METRICS}
    for pp in this:
        email = pp.person.email
        mine = now_figures.get(email) or PersonPeriod(pp.person)
        prev = before.get(email) or PersonPeriod(pp.person)
        grid.append({"name": pp.person.name, "probation": pp.person.probation,
                     "cells": [{"text": renderer.label(pp.days.get(d, "not_due")),
                                "colour": COLOURS[pp.days.get(d, "not_due")],
                                "time": pp.times.get(d, "")} for d in workdays]})
        row: dict[str, Any] = {"name": pp.person.name}
        values: list[object] = []
        changes: list[object] = []
        for key, _ in METRICS:
            now_v, before_v = mine.metrics.get(key, 0.0), prev.metrics.get(key, 0.0)
            region_now[key] += now_v
            region_before[key] += before_v
            row[key] = money(now_v)
            row[f"{key}_change"], cell = _change(now_v, before_v)
            values.append(now_v)
            changes.append(cell)
        totals.append(row)
        metric_rows.append([pp.person.name, *values, *changes])
        hot = repeated(pp.items, highlight_days)
        for kind, day, text, msgid in pp.items:
            items.append({"kind": ITEM_NAMES[kind], "name": pp.person.name, "date": day.isoformat(),
                          "text": text, "message_id": msgid,
                          "repeated": text.strip("。. ") in hot})
        plans.append({"name": pp.person.name, "plan": pp.plan or "（本周没有明日计划）"})
    region: dict[str, Any] = {k: money(v) for k, v in region_now.items()}
    region_changes = {k: _change(region_now[k], region_before[k]) for k in region_now}
    region.update({f"{k}_change": text for k, (text, _) in region_changes.items()})
    metric_rows.append(["合计", *[region_now[k] for k, _ in METRICS],
                        *[region_changes[k][1] for k, _ in METRICS]])
    rules = app.policy.weekly
    due = weekly_due(monday, rules.due_weekday, rules.due_at, app.tz)
    context = {
        "supervisor_name": sup.name, "region": sup.region or team[0].region,
        "week": week_label(monday), "start": monday.isoformat(), "end": end.isoformat(),
        "days": [{"date": f"{d:%m-%d}", "weekday": weekday_label(d)} for d in workdays],
        "same_days": same_days,
        "grid": grid, "totals": totals, "region_totals": region,
        "items": sorted(items, key=lambda i: (i["kind"], i["date"], i["name"])),
        "plans": plans, "due": f"{due.astimezone(app.tz):%Y-%m-%d %H:%M}",
        "management": ", ".join(app.settings.company.management),
        "hr_list": ", ".join(app.settings.company.hr), "highlight_days": highlight_days,
        "clearing": reads.clearing.get(sup.email),
    }
    versus = "比上周" if not same_days else f"比上周同期（{same_days}）"
    book = sheets.workbook([
        ("提交情况", ["姓名", *[f"{d:%m-%d} {weekday_label(d)}" for d in workdays]],
         [[g["name"], *[c["text"] + (f" {c['time']}" if c["time"] else "") for c in g["cells"]]]
          for g in grid]),
        ("指标", ["姓名", *[f"{n}" for _, n in METRICS], *[f"{n}{versus}" for _, n in METRICS]],
         metric_rows),
        ("问题与需求", ["姓名", "日期", "内容", "重复出现", "日报 Message-ID"],
         [[i["name"], i["date"], i["text"], "是" if i["repeated"] else "", i["message_id"]]
          for i in context["items"] if i["kind"] == "问题与需求"]),
        ("竞品信息", ["姓名", "日期", "内容", "重复出现", "日报 Message-ID"],
         [[i["name"], i["date"], i["text"], "是" if i["repeated"] else "", i["message_id"]]
          for i in context["items"] if i["kind"] == "竞品信息"]),
        ("下周计划", ["姓名", "最新明日计划"], [[p["name"], p["plan"]] for p in plans]),
        ("主管填写", ["项目", "内容"], [["本周总结", ""], ["下周重点", ""]]),
    ])
    return context, book


def compile_drafts(app: App, monday: date) -> Queued:
    """One draft 销售区域周报 per region, mailed to its supervisor. Idempotent. A team is
    everyone in it on some workday of the week, each with their days in it."""
    label = week_label(monday)
    end = monday + timedelta(days=6)
    workdays = app.workdays.workdays_between(monday, end)

    def supervisor(email: str) -> Any:
        return next((row for d in reversed(workdays)
                     if (row := app.roster.person(email, d)) is not None), None)

    def read(chunk: list[tuple[Any, list[Any]]]) -> WeekReads:
        return week_reads(app, monday, {sup.email: team for sup, team in chunk})

    def letter(sup: Any, team: list[Any], reads: Callable[[], WeekReads]) -> Letter:
        context, book = draft_context(app, monday, sup, team, reads())
        filename = f"销售区域周报-{context['region']}-{label}.xlsx"
        return Letter([(sup.name, sup.email)], context,
                      attachments=((filename, sheets.XLSX, book),))

    supervisors = ((supervisor(email), team)
                   for email, team in sorted(teams_between(app, monday, end).items()))
    return queue_letters(app, "weekly_draft", label,
                         ((f"weekly_draft|{sup.email}|{label}", partial(letter, sup, team, reads))
                          for (sup, team), reads in per_team(
                              ((sup, team) for sup, team in supervisors if sup is not None),
                              lambda t: len(t[1]), read)))


def queue_weekly_reminders(app: App, monday: date) -> Queued:
    """To supervisors whose report for the week is not in yet, before it is due."""
    rules = app.policy.weekly
    due = weekly_due(monday, rules.due_weekday, rules.due_at, app.tz)
    if app.now() >= due:
        return Queued(0, 0, f"the weekly report for {week_label(monday)} was due "
                            f"{due.astimezone(app.tz):%Y-%m-%d %H:%M}: too late to remind")
    label = week_label(monday)

    def letter(sup: Any) -> Letter:
        return Letter([(sup.name, sup.email)], {
            "supervisor_name": sup.name, "week": label, "start": monday.isoformat(),
            "end": (monday + timedelta(days=6)).isoformat(),
            "due": f"{due.astimezone(app.tz):%m-%d %H:%M}",
            "management": ", ".join(app.settings.company.management),
            "hr_list": ", ".join(app.settings.company.hr)})

    return queue_letters(app, "weekly_reminder", label,
                         ((f"weekly_reminder|{s.supervisor.email}|{label}",
                           partial(letter, s.supervisor))
                          for s in weekly_reports(app, monday) if s.received_at is None))


def close_week(app: App, monday: date) -> list[str]:
    """Record weekly_late and weekly_missing for the week (dated by its Monday). Idempotent."""
    rules = app.policy.weekly
    due = weekly_due(monday, rules.due_weekday, rules.due_at, app.tz)
    if app.now() <= due:
        raise UserError(f"{week_label(monday)} cannot be closed before its weekly reports are "
                        f"due ({due.astimezone(app.tz):%Y-%m-%d %H:%M %Z})")
    found: list[str] = []
    now = app.now()
    states = weekly_reports(app, monday)
    with app.db.begin() as session:
        for state in states:
            if not teams_of(app, state.supervisor.email, monday):
                continue
            if state.status == "missing":
                code, detail = "weekly_missing", f"none by {due.astimezone(app.tz):%m-%d %H:%M}"
            elif state.status == "late":
                assert state.received_at is not None
                code = "weekly_late"
                detail = f"received {state.received_at.astimezone(app.tz):%m-%d %H:%M}"
            else:
                continue
            queries.add_violation(session, email=state.supervisor.email, day=monday, code=code,
                                  detail=detail, mail_id=None, now=now, scope="day")
            found.append(f"{state.supervisor.email}: {code}")
    return found


def teams_of(app: App, supervisor: str, monday: date) -> bool:
    return any(p.supervisor == supervisor for d in range(5)
               for p in app.roster.on(monday + timedelta(days=d), "sales"))


def sample_context() -> dict[str, Any]:
    cell = {"text": "按时", "colour": COLOURS["on_time"], "time": "20:05"}
    return {"supervisor_name": "钱主管", "region": "华东", "week": "2026-W48",
            "start": "2026-11-23", "end": "2026-11-29", "same_days": "周一至周四",
            "days": [{"date": "11-23", "weekday": "周一"}],
            "grid": [{"name": "张三", "probation": True, "cells": [cell]}],
            "totals": [{"name": "张三", "visits": "3", "sales": "12,000", "collections": "0",
                        "visits_change": "+10%", "sales_change": "—", "collections_change": "新增"}],
            "region_totals": {"visits": "3", "sales": "12,000", "collections": "0",
                              "visits_change": "+10%", "sales_change": "—",
                              "collections_change": "新增"},
            "items": [{"kind": "问题与需求", "name": "张三", "date": "2026-11-23", "text": "需要样品",
                       "message_id": "a@b", "repeated": True}],
            "plans": [{"name": "张三", "plan": "跟进报价"}], "due": "2026-11-30 10:00",
            "management": "gm@example.com", "hr_list": "hr@example.com", "highlight_days": 3,
            "clearing": {"days": 4, "cleared": 3, "pending": 1, "rate": "75%",
                         "median": "14.2"}}


def samples() -> dict[str, dict[str, Any]]:
    """Sample context of each kind written here, for check-config and the tests."""
    return {"weekly_draft": sample_context(),
            "weekly_reminder": {"supervisor_name": "钱主管", "week": "2026-W48",
                                "start": "2026-11-23", "end": "2026-11-29", "due": "11-30 10:00",
                                "management": "gm@example.com", "hr_list": "hr@example.com"}}
