"""What mail to write, to whom, for which period: reminders, rule-break notices and the
supervisors' daily-clearing (日清) digests. Everything is queued in the outbox; nothing
here talks SMTP. Each mail's dedupe key makes queuing it again a no-op."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import compose
from ..delivery import outbox
from ..app import App
from ..dates.deadlines import deadline_for
from ..records.days import PersonDay, day_status
from ..errors import UserError
from .render import Renderer
from ..config.roster import Person
from ..store import leave, queries
from ..store.models import Mail, Report, Violation

WEEKDAYS = "一二三四五六日"
COLOURS = {"on_time": "#dafbe1", "late": "#fff8c5", "missing": "#ffebe9", "not_due": "#f6f8fa",
           "pending": "#ddf4ff", "excused": "#eef1f4"}


@dataclass(frozen=True)
class Queued:
    added: int
    existing: int
    note: str = ""


def weekday_label(day: date) -> str:
    return "周" + WEEKDAYS[day.weekday()]


def common(app: App) -> dict[str, Any]:
    hr = app.settings.company.hr[0] if app.settings.company.hr else ""
    return {"company": app.settings.company.name, "hr": hr, "title": ""}


def name_of(app: App, email: str, day: date) -> str:
    person = app.roster.person(email, day)
    return person.name if person else email


def sender(app: App) -> str:
    """The From of every mail mailflow writes; a clear error when there is no [smtp]."""
    if app.settings.smtp is None:
        raise UserError(f"{app.settings.path}: there is no [smtp] section; mailflow needs its "
                        "sender address to write mail (add [smtp] with sender = …)")
    return app.settings.smtp.sender


def queue_mail(session: Session, app: App, *, key: str, kind: str, period: str,
               to: list[tuple[str, str]], cc: list[tuple[str, str]], context: dict[str, Any],
               renderer: Renderer, attachments: tuple[compose.Attachment, ...] = ()) -> bool:
    """Render, build and queue one mail unless its key is queued already."""
    if outbox.exists(session, key):
        return False
    return outbox.queue_many(session, [outgoing(app, key=key, kind=kind, period=period, to=to,
                                                cc=cc, context=context, renderer=renderer,
                                                attachments=attachments)], app.now()) == 1


def outgoing(app: App, *, key: str, kind: str, period: str, to: list[tuple[str, str]],
             cc: list[tuple[str, str]], context: dict[str, Any], renderer: Renderer,
             attachments: tuple[compose.Attachment, ...] = ()) -> outbox.Outgoing:
    """Render and build one mail, ready to queue."""
    rendered = renderer.render(kind, {**common(app), **context, "title": kind})
    mid = compose.message_id(key, sender(app))
    raw = compose.build(sender=sender(app), to=to, cc=cc, rendered=rendered, msg_id=mid,
                        date=app.now(), reply_to=common(app)["hr"], attachments=attachments)
    return outbox.Outgoing(key, kind, period, to, cc, rendered.subject, mid, raw)


@dataclass(frozen=True)
class Letter:
    """One mail before it is rendered: to whom, with what context and attachments."""

    to: list[tuple[str, str]]
    context: dict[str, Any]
    cc: list[tuple[str, str]] = field(default_factory=list)
    attachments: tuple[compose.Attachment, ...] = ()


WRITE_EVERY = 100   # mails per write transaction when queuing many


def queue_letters(app: App, kind: str, period: str,
                  wanted: Iterable[tuple[str, Callable[[], Letter]]]) -> Queued:
    """The loop every kind of mail shares: `wanted` gives each mail's dedupe key and how to
    build it. A key queued already is counted and not built; the others are built from
    reads of the record and queued a chunk per short write, so a slow build never holds a
    write transaction and readers never wait. A second run queues nothing."""
    renderer = renderer_for(app)
    with app.read() as session:
        queued = outbox.keys_for(session, kind, period)
    ready: list[outbox.Outgoing] = []
    built = added = existing = 0

    def write() -> int:
        with app.db.begin() as session:
            n = outbox.queue_many(session, ready, app.now())
        ready.clear()
        return n

    for key, build in wanted:
        if key in queued:
            existing += 1
            continue
        letter = build()
        ready.append(outgoing(app, key=key, kind=kind, period=period, to=letter.to,
                              cc=letter.cc, context=letter.context, renderer=renderer,
                              attachments=letter.attachments))
        built += 1
        if len(ready) >= WRITE_EVERY:
            added += write()
    if ready:
        added += write()
    return Queued(added, existing + built - added)


def renderer_for(app: App) -> Renderer:
    """One renderer per templates folder for the process: a notice per judged mail must
    not recompile the templates and reread problems.toml each time."""
    return _renderer(app.settings.company.templates)


@lru_cache(maxsize=8)
def _renderer(folder: Path) -> Renderer:
    return Renderer(folder)


# -- reminders -------------------------------------------------------------------------

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
                                  renderer=renderer))
        added = outbox.queue_many(session, mails, now)
    return Queued(added, len(queued) + len(mails) - added)


# -- rule-break notices ----------------------------------------------------------------

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
                  period=report.report_date.isoformat(), to=[(person.name, person.email)], cc=[],
                  context=context, renderer=renderer)


# -- daily-clearing digests ------------------------------------------------------------

def money(value: float | int) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def digest_context(app: App, day: date, supervisor: Person, team: list[Person],
                   statuses: dict[str, PersonDay]) -> dict[str, Any]:
    """A supervisor's day. A copy or subject break that the person corrected by sending
    again before the day's close is shown as corrected, not as something to follow up;
    the record keeps the break."""
    renderer = renderer_for(app)
    emails = [p.email for p in team]
    with app.read() as session:
        closed = queries.day_closed(session, day)
        cutoff = closed.closed_at if closed is not None else app.now()
        latest: dict[str, Report] = {}
        by_close: dict[str, int | None] = {}
        early: set[int | None] = set()
        for r in session.scalars(select(Report).where(
                Report.report_date == day, Report.kind == "daily",
                Report.email.in_(emails)).order_by(Report.received_at, Report.id)):
            latest[r.email] = r
            if r.received_at <= cutoff:
                by_close[r.email] = r.mail_id
                early.add(r.mail_id)
        found = list(session.scalars(select(Violation).where(
            Violation.date == day, Violation.email.in_(emails), Violation.withdrawn.is_(False))))
    details = {(v.email, v.code): v.detail for v in found}
    # A break the notice asks to correct by sending again stands while the latest version
    # sent before the day's close still carries it.
    correctable = set(app.policy.notify.notice_codes)
    standing = {(v.email, v.code) for v in found
                if v.scope != "mail" or v.code not in correctable or v.mail_id not in early
                or v.mail_id == by_close.get(v.email)}
    people, issues = [], []
    totals = {"visits": 0.0, "sales": 0.0, "collections": 0.0}
    counts = {"due": 0, "reported": 0, "late": 0, "missing": 0, "breaks": 0, "corrected": 0,
              "excused": 0}
    for person in team:
        st = statuses[person.email]
        report = latest.get(person.email)
        metrics = dict(report.metrics) if report else {}
        for k in totals:
            totals[k] += float(metrics.get(k, 0) or 0)
        codes = [c for c in st.violations if c not in ("late", "missing")]
        breaks = [renderer.label(c, details.get((person.email, c), "")) for c in codes
                  if (person.email, c) in standing]
        corrected = [renderer.label("corrected", renderer.label(c, details.get((person.email, c),
                                                                               "")))
                     for c in codes if (person.email, c) not in standing]
        counts["due"] += st.status not in ("not_due", "excused")
        counts["excused"] += st.status == "excused"
        counts["reported"] += st.status in ("on_time", "late")
        counts["late"] += st.status == "late"
        counts["missing"] += st.status == "missing"
        counts["breaks"] += bool(breaks)
        counts["corrected"] += bool(corrected) and not breaks
        people.append({
            "name": person.name, "probation": person.probation,
            "status_text": renderer.label(st.status), "colour": COLOURS[st.status],
            "time": f"{st.received_at.astimezone(app.tz):%H:%M}" if st.received_at else "",
            "breaks": breaks, "corrected": corrected,
            "leave": {"kind": st.leave, "approved_by": name_of(app, st.approved_by, day)
                      if st.approved_by else ""} if st.leave else None,
            "metrics": {k: money(metrics.get(k, 0) or 0) for k in totals} if report else None,
        })
        if report and report.fields.get("issues", "").strip() not in ("", "无"):
            issues.append({"name": person.name, "text": report.fields["issues"].strip()})
    due = deadline_for(day, app.context())
    return {"supervisor_name": supervisor.name, "region": supervisor.region or team[0].region,
            "date": day.isoformat(), "weekday": weekday_label(day),
            "deadline": f"{due.astimezone(app.tz):%H:%M}", "people": people, "issues": issues,
            "counts": counts, "totals": {k: money(v) for k, v in totals.items()},
            "calendar_note": app.workdays.note(day)}


def teams(app: App, day: date) -> list[tuple[Person, list[Person]]]:
    by_sup: dict[str, list[Person]] = {}
    for person in app.roster.on(day, "sales"):
        by_sup.setdefault(person.supervisor, []).append(person)
    out = []
    for email, team in sorted(by_sup.items()):
        sup = app.roster.person(email, day)
        if sup is not None:
            out.append((sup, sorted(team, key=lambda p: p.email)))
    return out


def queue_digests(app: App, day: date) -> Queued:
    """One digest per supervisor per workday, also when everyone reported."""
    if not app.workdays.is_workday(day):
        return Queued(0, 0, f"{day} is not a workday: no digests")
    until = app.policy.notify.hr_assist_until
    hr = [(name_of(app, a, day), a) for a in app.settings.company.hr] \
        if until is not None and day <= until else []
    statuses = {p.email: p for p in day_status(app, day)}

    def letter(sup: Person, team: list[Person]) -> Letter:
        return Letter([(sup.name, sup.email)], digest_context(app, day, sup, team, statuses), hr)

    return queue_letters(app, "digest", day.isoformat(),
                         ((f"digest|{sup.email}|{day}", partial(letter, sup, team))
                          for sup, team in teams(app, day)))


def samples() -> dict[str, dict[str, Any]]:
    """Sample context of each kind written here, for check-config and the tests."""
    problem = {"what": "抄送（Cc）里没有人事。", "fix": "重新发送并抄送人事。"}
    person = {"name": "张三", "status_text": "按时", "colour": COLOURS["on_time"], "time": "20:05",
              "breaks": ["人事未抄送"], "corrected": ["标题日期不符（已更正）"], "probation": True,
              "metrics": {"visits": "3", "sales": "12,000", "collections": "0"}, "leave": None}
    away = {**person, "status_text": "请假", "colour": COLOURS["excused"], "time": "",
            "breaks": [], "corrected": [], "metrics": None,
            "leave": {"kind": "年假", "approved_by": "钱主管"}}
    return {
        "reminder": {"name": "张三", "date": "2026-11-26", "weekday": "周四",
                     "deadline": "21:00", "now_time": "20:00", "supervisor": "qian@example.com",
                     "supervisor_name": "钱主管"},
        "notice": {"name": "张三", "subject": "日报 <11-26>", "report_date": "2026-11-26",
                   "received": "11-26 20:05", "problems": [problem], "supervisor": "q@example.com",
                   "supervisor_name": "钱主管", "today": "2026-11-26",
                   "backdate_workdays": 3},
        "digest": {"supervisor_name": "钱主管", "region": "华东", "date": "2026-11-26",
                   "weekday": "周四", "deadline": "21:00", "people": [person, away],
                   "issues": [{"name": "张三", "text": "需要样品"}],
                   "counts": {"due": 1, "reported": 1, "late": 0, "missing": 0, "breaks": 1,
                              "corrected": 0, "excused": 1},
                   "totals": {"visits": "3", "sales": "12,000", "collections": "0"},
                   "calendar_note": {"year": 2027, "week": "mon-fri"}},
    }
