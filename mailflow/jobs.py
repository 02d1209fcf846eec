"""Scheduled jobs: plain functions of (app, day), each also a CLI command, and the rule of
when each is due and whether a missed run still makes sense.

A job's run for a period (a day) is recorded in job_runs once it has finished, so each
runs once per period, also across restarts, and a run missed while the service was down
is found and done at the next tick — unless it no longer makes sense (a reminder after
its deadline).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .app import App
from .checks.deadline import deadline_for
from .days import close_day
from .notify import queue_digests, queue_reminders
from .store.models import JobRun

log = logging.getLogger(__name__)
CATCH_UP_DAYS = 3


@dataclass(frozen=True)
class Job:
    name: str
    at: Callable[[App], time]                     # company-local time on each workday
    run: Callable[[App, date], str]               # does the work; returns what it did
    still_useful: Callable[[App, date], bool]     # a late run: do it or skip it


def _remind(app: App, day: date) -> str:
    q = queue_reminders(app, day)
    return q.note or f"{q.added} reminders queued"


def _close(app: App, day: date) -> str:
    result = close_day(app, day)
    if app.settings.smtp is None:
        return f"{len(result.missing)} missing; no [smtp]: no digests"
    q = queue_digests(app, day)
    return f"{len(result.missing)} missing; {q.added} digests queued"


JOBS = (
    Job("remind", lambda app: app.policy.notify.reminder_at, _remind,
        lambda app, day: app.now() < deadline_for(day, app.context())),
    Job("close-day", lambda app: app.policy.notify.close_day_at, _close,
        lambda app, day: True),
)


def due_at(app: App, job: Job, day: date) -> datetime:
    return datetime.combine(day, job.at(app), tzinfo=app.tz)


def _done(app: App, job: str, period: str) -> bool:
    with app.read() as session:
        return session.scalars(select(JobRun.id).where(JobRun.job == job,
                                                       JobRun.period == period)).first() is not None


def _record(app: App, job: str, period: str, outcome: str) -> bool:
    try:
        with app.db.begin() as session:
            session.add(JobRun(job=job, period=period, finished_at=app.now(), outcome=outcome))
        return True
    except IntegrityError:  # another instance recorded it first
        return False


def _first_day(app: App, today: date) -> date:
    """The day the schedule first ran here. Catch-up never reaches before it: a new
    installation does not close (and mark missing) the days before it existed."""
    with app.read() as session:
        first = session.scalars(select(JobRun.finished_at).order_by(JobRun.finished_at)).first()
    if first is None:
        _record(app, "schedule-start", today.isoformat(), "the schedule started")
        return today
    return first.astimezone(app.tz).date()


def run_due(app: App, jobs: tuple[Job, ...] = JOBS) -> list[str]:
    """Run every job whose time has come and that has not run for its day. One job's
    failure is logged and does not stop the others; it is tried again next tick."""
    done: list[str] = []
    now = app.now()
    today = now.astimezone(app.tz).date()
    earliest = max(today - timedelta(days=CATCH_UP_DAYS), _first_day(app, today))
    for job in jobs:
        for back in range(CATCH_UP_DAYS, -1, -1):
            day = today - timedelta(days=back)
            period = day.isoformat()
            if day < earliest or now < due_at(app, job, day) or _done(app, job.name, period):
                continue
            try:
                if not app.workdays.is_workday(day):
                    outcome = "not a workday"
                elif not job.still_useful(app, day):
                    outcome = "skipped: too late to be useful"
                else:
                    outcome = job.run(app, day)
            except Exception as exc:  # one job's failure must not stop the others
                log.exception("job %s for %s failed; it is tried again at the next tick",
                              job.name, period)
                done.append(f"{job.name} {period}: failed: {exc}")
                continue
            if _record(app, job.name, period, outcome):
                log.info("job %s for %s: %s", job.name, period, outcome)
                done.append(f"{job.name} {period}: {outcome}")
    return done
