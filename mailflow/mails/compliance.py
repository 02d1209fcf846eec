"""HR's compliance mails: weekly and monthly, per region and person, with the trend
against the previous period, the mail HR should look at, and the raw data attached."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from . import sheets
from ..app import App
from ..delivery import outbox
from .letters import Letter, Queued, name_of, queue_letters, renderer_for
from ..dates.deadlines import assessment_due, indicators_due
from ..dates.periods import month_end, month_label, prev_month, week_label
from ..records.clearing import figures as clearing_figures
from ..records.stats import (PersonPeriod, on_roster_for, person_periods_chunked,
                             record_start, teams_between, unreadable_and_suspect,
                             weekly_reports)
from ..store.among import among
from ..store.models import Report, Violation


def _rate(on_time: int, due: int) -> float | None:
    return on_time / due if due else None


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


class _Regions:
    """Each region's sums, added a chunk of people at a time."""

    def __init__(self) -> None:
        self.sums: dict[str, dict[str, int]] = {}
        self.people: dict[str, set[str]] = {}

    def add(self, pp: PersonPeriod) -> None:
        region = pp.person.region or "—"
        sums = self.sums.setdefault(region, dict.fromkeys(
            ("due", "on_time", "late", "missing", "excused", "breaks"), 0))
        self.people.setdefault(region, set()).add(pp.person.email)
        sums["due"] += pp.due
        for status in ("on_time", "late", "missing", "excused"):
            sums[status] += pp.count(status)
        sums["breaks"] += sum(pp.breaks.values())

    def rows(self) -> list[dict[str, Any]]:
        rows = []
        for region, t in sorted(self.sums.items()):
            rows.append({"region": region, "headcount": len(self.people[region]),
                         "due": t["due"], "received": t["on_time"] + t["late"],
                         "on_time": t["on_time"], "late": t["late"], "missing": t["missing"],
                         "excused": t["excused"], "breaks": t["breaks"],
                         "rate": _pct(_rate(t["on_time"], t["due"])),
                         "_rate": _rate(t["on_time"], t["due"])})
        return rows


def _weeks_in(start: date, end: date) -> list[date]:
    monday = start - timedelta(days=start.weekday())
    if monday < start:
        monday += timedelta(days=7)
    out = []
    while monday + timedelta(days=6) <= end + timedelta(days=3):
        out.append(monday)
        monday += timedelta(days=7)
    return out


def _forms(app: App, first: date) -> list[dict[str, Any]]:
    """The month's two forms: by when each is due and, once it is past due, who has not
    handed it in. A form is owed by who was in the role on the day it was due and is still
    on the roster; before the deadline no one is listed as missing it."""
    now = app.now()
    with app.read() as session:
        handed = set(session.execute(select(Report.email, Report.kind).where(
            Report.report_date == first, Report.kind.in_(["assessment", "indicators"]),
            Report.received_at <= now)))
    today = now.astimezone(app.tz).date()
    teams = teams_between(app, first, month_end(first))
    owers = {"assessment": ("supervisor", assessment_due(app, first), sorted(teams)),
             "indicators": ("sales", indicators_due(app, first),
                            sorted({p.email for team in teams.values() for p in team}))}
    out = []
    for kind, (role, due, emails) in owers.items():
        owed = [app.roster.person(e, due.date()) for e in emails
                if on_roster_for(app, e, role, due.date(), today)]
        missing = sorted(f"{p.region} {p.name}" for p in owed
                         if p is not None and (p.email, kind) not in handed)
        out.append({"kind": kind, "due": f"{due.astimezone(app.tz):%Y-%m-%d %H:%M}",
                    "past_due": now > due, "owed": len(owed),
                    "handed": len(owed) - len(missing),
                    "missing": missing if now > due else []})
    return out


def compliance_context(app: App, kind: str, start: date, end: date, prev_start: date,
                       prev_end: date, label: str) -> tuple[dict[str, Any], sheets.Spool]:
    """The mail's context and its detail rows (a Spool: one row per person and workday,
    kept in a temporary file; the caller closes it). The company is gone through a chunk
    of people at a time, so what is held is the regions' sums, not the month."""
    regions_now, regions_before = _Regions(), _Regions()
    worst: list[tuple[int, int, PersonPeriod]] = []      # (-score, order, period), top 5
    raw = sheets.Spool()
    order = 0
    for chunk in person_periods_chunked(app, start, end, figures=False):
        codes = _codes(app, [pp.person.email for pp in chunk], start, end)
        for pp in chunk:
            regions_now.add(pp)
            score = pp.count("late") + pp.count("missing") + sum(pp.breaks.values())
            if score:
                worst.append((-score, order, pp))
            order += 1
            _add_raw_rows(app, raw, pp, codes)
        worst = sorted(worst, key=lambda w: w[:2])[:5]
    for chunk in person_periods_chunked(app, prev_start, prev_end, figures=False):
        for pp in chunk:
            regions_before.add(pp)
    regions = regions_now.rows()
    before = regions_before.rows()
    prev_rates = {r["region"]: r["_rate"] for r in before}
    for r in regions:
        was = prev_rates.get(r["region"])
        r["_trend"] = None if was is None or r["_rate"] is None else (r["_rate"] - was) * 100
        r["trend"] = "—" if r["_trend"] is None else f"{r['_trend']:+.0f} 个百分点"
    weekly = []
    first_closed = record_start(app)
    for monday in _weeks_in(start, end):
        if first_closed is None or monday + timedelta(days=6) < first_closed:
            continue  # a week before mailflow kept the record
        for state in weekly_reports(app, monday):
            weekly.append({"week": week_label(monday), "region": state.supervisor.region,
                           "name": state.supervisor.name,
                           "status": renderer_for(app).label(state.status)
                           if state.status != "not_due" else "未到期"})
    top = [{"name": p.person.name, "region": p.person.region, "late": p.count("late"),
            "missing": p.count("missing"), "breaks": sum(p.breaks.values())}
           for _, _, p in worst]
    due = sum(r["due"] for r in regions)
    on_time = sum(r["on_time"] for r in regions)
    prev_due = sum(r["due"] for r in before)
    prev_on = sum(r["on_time"] for r in before)
    now_rate, was_rate = _rate(on_time, due), _rate(prev_on, prev_due)
    context = {
        "kind": kind, "period_name": "周" if kind == "weekly" else "月", "label": label,
        "start": start.isoformat(), "end": end.isoformat(), "regions": regions,
        "total": {"due": due, "on_time": on_time, "rate": _pct(now_rate),
                  "trend": "—" if now_rate is None or was_rate is None
                  else f"{(now_rate - was_rate) * 100:+.0f} 个百分点",
                  "late": sum(r["late"] for r in regions),
                  "missing": sum(r["missing"] for r in regions),
                  "excused": sum(r["excused"] for r in regions),
                  "breaks": sum(r["breaks"] for r in regions)},
        "weekly": weekly, "top": top, "attention": unreadable_and_suspect(app, start, end),
        "forms": _forms(app, start) if kind == "monthly" else None,
        "unknown_deliveries": _unknown_deliveries(app),
        "clearing": [f.as_row() for f in _clearing(app, start, end)],
        "detail_zipped": False,      # set when the mail is built, by the detail's size
    }
    return context, raw


def _clearing(app: App, start: date, end: date) -> list[Any]:
    """Every supervisor's 日清 figures, read a few teams at a time (each read holds its
    teams' first reports and reviews of the period, not the company's)."""
    sups = sorted({p.supervisor for day in app.workdays.workdays_between(start, end)
                   for p in app.roster.on(day, "sales")})
    out = []
    for i in range(0, len(sups), CLEARING_TEAMS):
        out += clearing_figures(app, start, end, set(sups[i:i + CLEARING_TEAMS]))
    return sorted(out, key=lambda f: (f.supervisor.region, f.supervisor.email))


CLEARING_TEAMS = 20     # teams per read: ~500 people, read with an IN list


def _unknown_deliveries(app: App) -> list[dict[str, Any]]:
    """Mail whose delivery was cut after it was sent, unresolved: HR may need to tell the
    recipient, or look in their mailbox and resolve it."""
    with app.read.begin() as session:
        rows = outbox.unresolved(session)
    return [{"id": r.id, "subject": r.subject, "to": "、".join(r.to_addrs),
             "since": f"{(r.unknown_since or r.queued_at).astimezone(app.tz):%Y-%m-%d %H:%M}",
             "message_id": r.message_id} for r in rows]


def _codes(app: App, emails: list[str], start: date, end: date
           ) -> dict[tuple[str, date], set[str]]:
    """The codes of these people's verdicts in [start, end], by person and day."""
    codes: dict[tuple[str, date], set[str]] = {}
    with app.read() as session:
        for email, day, code in session.execute(select(Violation.email, Violation.date,
                                                       Violation.code).where(
                Violation.date >= start, Violation.date <= end, among(Violation.email, emails),
                Violation.withdrawn.is_(False))):
            codes.setdefault((email, day), set()).add(code)
    return codes


def _add_raw_rows(app: App, raw: sheets.Spool, pp: PersonPeriod,
                  codes: dict[tuple[str, date], set[str]]) -> None:
    for day, status in sorted(pp.days.items()):
        if status == "not_due" and _in_sales(app, pp.person.email, day):
            continue   # that day is in the row of the team they were in then
        raw.add([pp.person.region, pp.person.name, pp.person.email, day.isoformat(),
                 status, pp.times.get(day, ""),
                 " ".join(sorted(codes.get((pp.person.email, day), set())))])


def _in_sales(app: App, email: str, day: date) -> bool:
    row = app.roster.person(email, day)
    return row is not None and row.role == "sales"


CLEARING_HEADER = ["区域", "主管", "邮箱", "有日报天数", "按时日清天数", "日清率",
                   "点评中位用时（小时）", "未到期天数"]


def clearing_sheet(rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [[c["region"], c["name"], c["email"], c["days"], c["cleared"],
             c["rate"] if c["_rate"] is None else sheets.Num(c["_rate"], sheets.PERCENT, c["rate"]),
             c["median"] if c["_median"] is None else sheets.Num(c["_median"], "0.0", c["median"]),
             c["pending"]] for c in rows]


def clearing_csv(rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [[c["region"], c["name"], c["email"], c["days"], c["cleared"], c["rate"],
             c["median"], c["pending"]] for c in rows]


POINTS = '+0" 个百分点";-0" 个百分点";0" 个百分点"'
RAW_HEADER = ["区域", "姓名", "邮箱", "日期", "状态", "首次提交", "违规"]


def compliance_letter(app: App, kind: str, start: date, end: date, prev_start: date,
                      prev_end: date, label: str) -> Letter:
    """HR's compliance mail for [start, end], before it is rendered: the figures in its
    context, the sheets and CSVs attached."""
    context, raw = compliance_context(app, kind, start, end, prev_start, prev_end, label)
    to = [(name_of(app, a, start), a) for a in app.settings.company.hr]
    region_sheet = [[r["region"], r["headcount"], r["due"], r["received"], r["on_time"],
                     r["late"], r["missing"], r["excused"], r["breaks"],
                     r["rate"] if r["_rate"] is None
                     else sheets.Num(r["_rate"], sheets.PERCENT, r["rate"]),
                     r["trend"] if r["_trend"] is None
                     else sheets.Num(r["_trend"], POINTS, r["trend"])]
                    for r in context["regions"]]
    # The detail rows go from their spool file into the CSV and the workbook, each
    # written to a temporary file: only the finished attachments are read back.
    with raw, tempfile.TemporaryFile() as book, tempfile.TemporaryFile() as detail:
        sheets.write_csv(RAW_HEADER, raw, detail)
        # A large company's detail (68 MB of CSV at 50,000 people, a million rows)
        # would make a mail that mail servers refuse (most take 25 MB) and a sheet
        # past Excel's 1,048,576 rows: past rules/notify.toml [hr_mails] it goes as a
        # zipped CSV, and the workbook keeps the regions and 日清.
        zipped = detail.tell() > app.policy.notify.zip_detail_over_mb * 2**20
        context["detail_zipped"] = zipped
        sheets.workbook([
            ("区域", ["区域", "人数", "应交", "已交", "按时", "迟交", "未交", "请假", "违规",
                    "按时率", "趋势"],
             region_sheet),
            *([] if zipped else [("明细", RAW_HEADER, raw)]),
            ("日清", CLEARING_HEADER, clearing_sheet(context["clearing"])),
        ], book)
        attachments = (
            (f"日报合规-{label}.xlsx", sheets.XLSX, _read(book)),
            (f"日报合规-{label}.zip", "application/zip",
             _zipped(detail, f"日报合规-{label}.csv")) if zipped else
            (f"日报合规-{label}.csv", "text/csv", _read(detail)),
            (f"日清-{label}.csv", "text/csv",
             sheets.csv_bytes(CLEARING_HEADER, clearing_csv(context["clearing"]))))
    return Letter(to, context, attachments=attachments)


def _queue_compliance(app: App, kind: str, start: date, end: date, prev_start: date,
                      prev_end: date, label: str) -> Queued:
    return queue_letters(app, "compliance", label, [(
        f"hr_{kind}|{label}",
        lambda: compliance_letter(app, kind, start, end, prev_start, prev_end, label))])


def _read(f: Any) -> bytes:
    f.seek(0)
    return f.read()


def _zipped(f: Any, name: str) -> bytes:
    """The file as the one member `name` of a zip (which Windows and macOS open as they
    are), compressed as it is copied."""
    import io
    import shutil
    import zipfile

    f.seek(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, \
            zf.open(name, "w", force_zip64=True) as member:
        shutil.copyfileobj(f, member, 1 << 20)
    return buf.getvalue()


def queue_hr_weekly(app: App, monday: date) -> Queued:
    return _queue_compliance(app, "weekly", monday, monday + timedelta(days=6),
                             monday - timedelta(days=7), monday - timedelta(days=1),
                             week_label(monday))


def queue_hr_monthly(app: App, first: date) -> Queued:
    before = prev_month(first)
    return _queue_compliance(app, "monthly", first, month_end(first), before, month_end(before),
                             month_label(first))


def sample_context() -> dict[str, Any]:
    region = {"region": "华东", "headcount": 4, "due": 20, "received": 19, "on_time": 18,
              "late": 1, "missing": 1, "excused": 1, "breaks": 2, "rate": "90%", "trend": "+5 个百分点"}
    return {"kind": "monthly", "period_name": "月", "label": "2026-11", "start": "2026-11-01",
            "end": "2026-11-30", "regions": [region],
            "total": {"due": 20, "on_time": 18, "rate": "90%", "trend": "+5 个百分点", "late": 1,
                      "missing": 1, "excused": 1, "breaks": 2},
            "weekly": [{"week": "2026-W48", "region": "华东", "name": "钱主管", "status": "按时"}],
            "top": [{"name": "张三", "region": "华东", "late": 1, "missing": 1, "breaks": 2}],
            "attention": {"unparsed": ["11-26 20:00 hr: no From header"],
                          "unknown_sender": ["2026-11-26 x@y.example: x@y.example"],
                          "spoof_suspected": []},
            "clearing": [{"region": "华东", "name": "钱主管", "email": "qian.zg@example.com",
                          "days": 20, "cleared": 18, "pending": 1, "rate": "90%", "_rate": 0.9,
                          "median": "13.5", "_median": 13.5, "reports": 40, "reviewed": 39}],
            "detail_zipped": False,
            "forms": [{"kind": "assessment", "due": "2026-12-03 18:00", "past_due": False,
                       "owed": 2, "handed": 1, "missing": []},
                      {"kind": "indicators", "due": "2026-11-10 18:00", "past_due": True,
                       "owed": 4, "handed": 3, "missing": ["华东 张三"]}],
            "unknown_deliveries": [{"id": 17, "subject": "日清 华东 2026-11-26（周四）",
                                    "to": "qian.zg@example.com", "since": "2026-11-26 21:31",
                                    "message_id": "digest.east.2026-11-26@example.com"}]}


def samples() -> dict[str, dict[str, Any]]:
    """Sample context of each kind written here, for check-config and the tests."""
    return {"compliance": sample_context()}
