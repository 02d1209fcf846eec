"""What `mailflow health` reports, gathered from the record: when each mailbox folder was
last fetched and whether it is failing, when mail was last delivered and whether SMTP is
failing, outbox rows of unknown outcome, jobs that failed or were skipped, a mailbox that
usually has reports and has none by a workday's deadline, and the calendar's years.

Failures are the `server_problems` rows the pollers, the sender and the scheduler keep:
"smtp", "imap:<mailbox>/<folder>" (`folder_key`) and "job:<job>:<period>", each with the
time of its first failure; a row is deleted when the work next succeeds. Reads only, in
one read transaction of its own. Thresholds are rules/health.toml (`HealthRules`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..app import App
from ..dates.deadlines import deadline_for
from ..dates.workdays import UNENTERED
from ..store.models import FolderState, JobRun, MailLocation, OutboxMail, Report, ServerProblem

SMTP = "smtp"


def folder_key(mailbox: str, folder: str) -> str:
    """The `server_problems` key of one mailbox folder (the column holds 100 characters:
    a long folder name is hashed)."""
    key = f"imap:{mailbox}/{folder}"
    if len(key) <= 100:
        return key
    return f"imap:{mailbox}/#" + hashlib.sha256(folder.encode()).hexdigest()[:16]


def job_key(job: str, period: str) -> str:
    return f"job:{job}:{period}"[:100]


@dataclass(frozen=True)
class Finding:
    """One thing that is wrong (or, as a warning, worth knowing). `key` names the problem
    and stays the same while it lasts: an alert mail is sent once per key per day."""

    key: str
    kind: str            # mailbox, stale, silent, smtp, unknown, job, skipped, calendar
    text: str            # one line, for a person
    since: datetime | None = None
    alert: bool = False  # mailed to HR (and IT)
    facts: dict[str, Any] = field(default_factory=dict)   # what the alert mail shows

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "text": self.text,
                "since": _iso(self.since), "alert": self.alert}


@dataclass(frozen=True)
class FolderHealth:
    mailbox: str
    folder: str
    last_fetch: datetime | None
    stale: bool
    failing_since: datetime | None
    error: str | None

    def as_json(self) -> dict[str, Any]:
        return {"mailbox": self.mailbox, "folder": self.folder,
                "last_fetch": _iso(self.last_fetch), "stale": self.stale,
                "failing_since": _iso(self.failing_since), "error": self.error}


@dataclass(frozen=True)
class Health:
    now: datetime
    folders: list[FolderHealth]
    last_delivery: datetime | None
    smtp_failing_since: datetime | None
    smtp_error: str | None
    unknown: int
    calendar: list[tuple[int, str]]       # (year, entered | package | unentered)
    problems: list[Finding]
    warnings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "now": _iso(self.now),
                "problems": [p.as_json() for p in self.problems],
                "warnings": [w.as_json() for w in self.warnings],
                "folders": [f.as_json() for f in self.folders],
                "smtp": {"last_delivery": _iso(self.last_delivery),
                         "failing_since": _iso(self.smtp_failing_since),
                         "error": self.smtp_error},
                "outbox": {"unknown": self.unknown},
                "calendar": [{"year": y, "source": s} for y, s in self.calendar]}


def _iso(t: datetime | None) -> str | None:
    """UTC with its offset, like every time in mailflow's JSON (people read `health`'s
    text in the company's time)."""
    return t.astimezone(timezone.utc).isoformat() if t else None


def _ago(now: datetime, then: datetime) -> str:
    minutes = int((now - then).total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


def check(app: App) -> Health:
    """Everything `health` reports, as of `app.now()`."""
    now = app.now()
    rules = app.policy.health
    problems: list[Finding] = []
    warnings: list[Finding] = []
    with app.read() as session:
        found = {p.server: p for p in session.scalars(select(ServerProblem))}
        folders = _folders(app, session, found, now, problems)
        smtp = found.get(SMTP)
        last_delivery = session.scalar(select(func.max(OutboxMail.sent_at)))
        if smtp is not None and app.settings.smtp is not None:
            long = now - smtp.since >= timedelta(minutes=rules.smtp_failing_minutes)
            problems.append(Finding(
                SMTP, "smtp", f"SMTP failing since {_local(app, smtp.since)} "
                f"({_ago(now, smtp.since)}{', mail waits' if long else ''}): {smtp.detail}",
                smtp.since))
        unknown = session.scalar(select(func.count()).where(OutboxMail.state == "unknown")) or 0
        if unknown:
            problems.append(Finding("outbox:unknown", "unknown",
                                    f"{unknown} outbox mail(s) of unknown outcome: "
                                    "`mailflow send` lists them", None))
        problems += _failed_jobs(app, found, now)
        problems += _skipped_jobs(app, session, now)
        problems += _silent(app, session, now)
    calendar = _calendar(app, now, problems, warnings)
    return Health(now, folders, last_delivery, smtp.since if smtp else None,
                  smtp.detail if smtp else None, unknown, calendar, problems, warnings)


def _local(app: App, t: datetime) -> str:
    return t.astimezone(app.tz).strftime("%Y-%m-%d %H:%M")


def _folders(app: App, session: Session, found: dict[str, ServerProblem], now: datetime,
             problems: list[Finding]) -> list[FolderHealth]:
    rules = app.policy.health
    states = {(s.mailbox, s.folder): s.synced_at for s in session.scalars(select(FolderState))}
    out = []
    for box in app.settings.mailboxes:
        failing: list[tuple[str, ServerProblem]] = []
        for folder in box.folders:
            last = states.get((box.name, folder))
            stale = last is None or now - last > timedelta(minutes=rules.fetch_stale_minutes)
            problem = found.get(folder_key(box.name, folder))
            out.append(FolderHealth(box.name, folder, last, stale,
                                    problem.since if problem else None,
                                    problem.detail if problem else None))
            if problem is not None:
                failing.append((folder, problem))
            elif stale:
                when = f"last fetched {_local(app, last)} ({_ago(now, last)} ago)" if last \
                    else "never fetched"
                problems.append(Finding(f"stale:{box.name}/{folder}", "stale",
                                        f"mailbox {box.name}/{folder}: {when}; is `mailflow "
                                        "run` (or a scheduled poll) running?", last))
        if failing:
            since = min(p.since for _, p in failing)
            detail = failing[0][1].detail
            long = now - since >= timedelta(minutes=rules.mailbox_failing_minutes)
            names = ", ".join(f for f, _ in failing)
            last = max((states[(box.name, f)] for f, _ in failing if (box.name, f) in states),
                       default=None)
            problems.append(Finding(
                f"mailbox:{box.name}", "mailbox",
                f"mailbox {box.name} ({names}): failing since {_local(app, since)} "
                f"({_ago(now, since)}): {detail}", since, alert=long,
                facts={"mailbox": box.name, "folders": names, "error": detail,
                       "since": _local(app, since),
                       "last_fetch": _local(app, last) if last else ""}))
    return out


def _failed_jobs(app: App, found: dict[str, ServerProblem], now: datetime) -> list[Finding]:
    recent = now - timedelta(days=app.policy.health.failed_within_days)
    out = []
    for key, p in sorted(found.items()):
        if not key.startswith("job:") or p.seen_at < recent:
            continue
        job, _, period = key[4:].partition(":")
        out.append(Finding(key, "job", f"job {job} for {period} failed (first "
                                       f"{_local(app, p.since)}, last {_local(app, p.seen_at)}): "
                                       f"{p.detail}", p.since, alert=True,
                           facts={"job": job, "period": period, "error": p.detail,
                                  "since": _local(app, p.since)}))
    return out


def _skipped_jobs(app: App, session: Session, now: datetime) -> list[Finding]:
    recent = now - timedelta(hours=app.policy.health.skipped_within_hours)
    rows = session.execute(select(JobRun.job, JobRun.period, JobRun.finished_at, JobRun.outcome)
                           .where(JobRun.outcome.like("skipped%"), JobRun.finished_at >= recent)
                           .order_by(JobRun.finished_at)).all()
    return [Finding(f"skipped:{r.job}:{r.period}", "skipped",
                    f"job {r.job} for {r.period} was skipped at {_local(app, r.finished_at)} "
                    f"({r.outcome.removeprefix('skipped: ')}): was the service down?",
                    r.finished_at) for r in rows]


def _last_closed_workday(app: App, now: datetime) -> date | None:
    """The latest workday whose deadline has passed."""
    day = now.astimezone(app.tz).date()
    for _ in range(31):
        if app.workdays.is_workday(day) and deadline_for(day, app) <= now:
            return day
        day -= timedelta(days=1)
    return None


def _workdays_before(app: App, day: date, n: int) -> list[date]:
    out: list[date] = []
    d = day
    while len(out) < n and (day - d).days < n * 3 + 31:
        d -= timedelta(days=1)
        if app.workdays.is_workday(d):
            out.append(d)
    return out


def _report_days(session: Session, mailbox: str, first: date, last: date) -> set[date]:
    in_box = select(MailLocation.mail_id).where(MailLocation.mailbox == mailbox)
    return set(session.scalars(select(Report.report_date).distinct().where(
        Report.kind == "daily", Report.report_date >= first, Report.report_date <= last,
        Report.mail_id.in_(in_box))))


def _silent(app: App, session: Session, now: datetime) -> list[Finding]:
    """A mailbox that usually has reports (at least `usual_min_days` of the last
    `usual_workdays` workdays had one) and has none for the latest workday whose deadline
    has passed."""
    rules = app.policy.health
    day = _last_closed_workday(app, now)
    if day is None:
        return []
    before = _workdays_before(app, day, rules.usual_workdays)
    if not before:
        return []
    out = []
    for box in app.settings.mailboxes:
        days = _report_days(session, box.name, before[-1], day)
        if day in days:
            continue
        had = sum(d in days for d in before)
        if had < rules.usual_min_days:
            continue
        deadline = deadline_for(day, app)
        out.append(Finding(
            f"silent:{box.name}:{day}", "silent",
            f"mailbox {box.name}: no daily report for {day} by its deadline "
            f"{_local(app, deadline)}, though {had} of its last {len(before)} workdays had "
            "some", deadline, alert=True,
            facts={"mailbox": box.name, "date": day.isoformat(),
                   "deadline": _local(app, deadline), "had": had, "of": len(before)}))
    return out


def _calendar(app: App, now: datetime, problems: list[Finding],
              warnings: list[Finding]) -> list[tuple[int, str]]:
    if not app.workdays.uses_calendar:
        return []
    today = now.astimezone(app.tz).date()
    years = [today.year] + ([today.year + 1] if today.month == 12 else [])
    out = []
    for year in years:
        source = app.workdays.source(year)
        out.append((year, source))
        if source == UNENTERED:
            (problems if year == today.year else warnings).append(Finding(
                f"calendar:{year}", "calendar", app.workdays.unentered_line(year)))
    return out
