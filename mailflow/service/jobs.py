"""Scheduled jobs: plain functions of (app, day), each also a CLI command, and the rule of
when each is due and whether a missed run still makes sense.

A job's run for its period (a day, a week, a month) is recorded in job_runs once it has
finished, so each runs once per period, also across restarts, and a run missed while the
service was down is found and done at the next tick — unless it no longer makes sense (a
reminder after its deadline). Where only the latest of several missed runs is worth a
mail (a day's digest), the earlier ones run as `superseded`: the day is closed and
recorded, its digest left out, so a supervisor back from days down gets one digest, not
one per missed day.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..store import leases
from ..app import App
from ..delivery.outbox import clear_problem, record_problem
from ..records.health import job_key
from ..dates.deadlines import (assessment_due, deadline_for, last_workday, meeting_day,
                               meeting_starts, previous_workday, weekly_report_due)
from ..mails.calendarnote import check_year
from ..mails.compliance import queue_hr_monthly, queue_hr_weekly
from ..records.clearing import close_clearing
from ..records.days import close_day
from ..mails.meeting import queue_meeting_notice
from ..mails.monthly import close_month, queue_month_end
from ..mails.digests import queue_digests
from ..mails.reminders import queue_reminders
from ..dates.periods import month_label, monday_of, prev_month, week_label
from ..store.models import JobRun
from ..mails.transition import check_transition
from ..mails.weekly import close_week, compile_drafts, queue_weekly_reminders

log = logging.getLogger(__name__)
CATCH_UP_DAYS = 7


@dataclass(frozen=True)
class Job:
    """`when(app, day)` is the company-local time the job runs on that calendar day, or None
    when it does not run that day; `period` names what the run covers (its once-key)."""

    name: str
    when: Callable[[App, date], time | None]
    period: Callable[[App, date], str]
    run: Callable[[App, date], str]
    still_useful: Callable[[App, date], bool] = lambda app, day: True
    # The last day the run reports on; a period that ended before the schedule first ran
    # here is not reported on (there is no record of it to report).
    ends: Callable[[App, date], date] = lambda app, day: day
    # The run for a missed period when a later period's run is due too (catch-up after
    # downtime); None runs each missed period in full.
    superseded: Callable[[App, date], str] | None = None


def _queued(q) -> str:  # type: ignore[no-untyped-def]
    return q.note or f"{q.added} queued"


def _on_workdays(t: Callable[[App], time]) -> Callable[[App, date], time | None]:
    return lambda app, day: t(app) if app.workdays.is_workday(day) else None


def _on_weekday(weekday: Callable[[App], int], t: Callable[[App], time]) \
        -> Callable[[App, date], time | None]:
    return lambda app, day: t(app) if day.weekday() == weekday(app) else None


def _close(app: App, day: date) -> str:
    result = close_day(app, day)
    if app.settings.smtp is None:
        return f"{len(result.missing)} missing"
    return f"{len(result.missing)} missing; digests {_queued(queue_digests(app, day))}"


def _close_quietly(app: App, day: date) -> str:
    result = close_day(app, day)
    return f"{len(result.missing)} missing; no digest: a later day's digest is sent instead"


def _cleared_day(app: App, day: date) -> date:
    """The day whose daily clearing is due on workday `day`: the workday before it."""
    return previous_workday(app, day) or day - timedelta(days=1)


def _close_clearing(app: App, day: date) -> str:
    result = close_clearing(app, _cleared_day(app, day))
    return f"{len(result.flagged)} supervisor(s) not cleared on time"


def _previous_week(day: date) -> date:
    return monday_of(day) - timedelta(days=7)


def _first(day: date) -> date:
    return date(day.year, day.month, 1)


def _last_week_end(app: App, day: date) -> date:
    return _previous_week(day) + timedelta(days=6)


def _last_month_end(app: App, day: date) -> date:
    return _first(day) - timedelta(days=1)


W, M = (lambda app: app.policy.weekly), (lambda app: app.policy.monthly)
JOBS = (
    Job("remind", _on_workdays(lambda app: app.policy.notify.reminder_at),
        lambda app, day: day.isoformat(), lambda app, day: _queued(queue_reminders(app, day)),
        lambda app, day: app.now() < deadline_for(day, app.context())),
    Job("close-day", _on_workdays(lambda app: app.policy.notify.close_day_at),
        lambda app, day: day.isoformat(), _close, superseded=_close_quietly),
    # The daily clearing (日清) of the workday before, at its due time; a missed run is
    # still useful (the review times are on record), so it catches up.
    Job("close-clearing", _on_workdays(lambda app: app.policy.notify.clearing_due_at),
        lambda app, day: _cleared_day(app, day).isoformat(), _close_clearing,
        ends=_cleared_day),
    # HR leaves a region's digests (hr_assist_until = "auto"): on the week's first workday
    # once the week before has its last clearing due.
    Job("hr-assist", _on_workdays(lambda app: app.policy.notify.clearing_due_at),
        lambda app, day: week_label(_previous_week(day)),
        lambda app, day: _queued(check_transition(app, day)), ends=_last_week_end),
    Job("weekly-drafts", _on_weekday(lambda app: W(app).draft_weekday, lambda app: W(app).draft_at),
        lambda app, day: week_label(monday_of(day)),
        lambda app, day: _queued(compile_drafts(app, monday_of(day)))),
    Job("weekly-reminder",
        _on_weekday(lambda app: W(app).reminder_weekday, lambda app: W(app).reminder_at),
        lambda app, day: week_label(_previous_week(day)),
        lambda app, day: _queued(queue_weekly_reminders(app, _previous_week(day))),
        lambda app, day: app.now() < weekly_report_due(app, _previous_week(day)), _last_week_end),
    Job("close-week", _on_weekday(lambda app: W(app).due_weekday, lambda app: W(app).close_at),
        lambda app, day: week_label(_previous_week(day)),
        lambda app, day: f"{len(close_week(app, _previous_week(day)))} weekly reports late or "
                         "missing", ends=_last_week_end),
    Job("hr-weekly", _on_weekday(lambda app: W(app).hr_weekday, lambda app: W(app).hr_at),
        lambda app, day: week_label(_previous_week(day)),
        lambda app, day: _queued(queue_hr_weekly(app, _previous_week(day))), ends=_last_week_end),
    Job("month-end", lambda app, day: M(app).assessment_reminder_at
        if day == last_workday(app, _first(day)) else None,
        lambda app, day: month_label(_first(day)),
        lambda app, day: _queued(queue_month_end(app, _first(day))),
        lambda app, day: app.now() < assessment_due(app, _first(day))),
    Job("close-month", lambda app, day: M(app).close_at
        if day == assessment_due(app, prev_month(_first(day))).date() else None,
        lambda app, day: month_label(prev_month(_first(day))),
        lambda app, day: f"{len(close_month(app, prev_month(_first(day))))} forms missing",
        ends=_last_month_end),
    Job("hr-monthly", lambda app, day: M(app).hr_at
        if app.workdays.workdays_between(_first(day), day)[:1] == [day] else None,
        lambda app, day: month_label(prev_month(_first(day))),
        lambda app, day: _queued(queue_hr_monthly(app, prev_month(_first(day)))),
        ends=_last_month_end),
    Job("meeting", _on_weekday(lambda app: app.policy.meeting.send_weekday,
                               lambda app: app.policy.meeting.send_at),
        lambda app, day: meeting_day(app, day).isoformat(),
        lambda app, day: _queued(queue_meeting_notice(app, meeting_day(app, day))),
        lambda app, day: app.now() < meeting_starts(app, meeting_day(app, day))),
    # Daily, with HR's other mails: a year whose 调休 is not entered is logged once a day
    # and mailed to HR once a year. Only today's run is useful (no catch-up of log lines).
    Job("calendar", lambda app, day: M(app).hr_at, lambda app, day: day.isoformat(),
        check_year, lambda app, day: day == app.now().astimezone(app.tz).date()),
)


def _done(app: App, job: str, period: str) -> bool:
    with app.read() as session:
        return session.scalars(select(JobRun.id).where(JobRun.job == job,
                                                       JobRun.period == period)).first() is not None


def _finished(app: App, jobs: tuple[Job, ...], since: date) -> set[tuple[str, str]]:
    """The (job, period) runs recorded since shortly before `since`, in one query: most
    checks of a tick are answered here. A run not found here is asked for again exactly
    (`_done`), so how far back this reads changes the cost, never the answer."""
    after = datetime.combine(since - timedelta(days=40), time(0), tzinfo=app.tz)
    with app.read() as session:
        rows = session.execute(select(JobRun.job, JobRun.period).where(
            JobRun.job.in_([j.name for j in jobs]), JobRun.finished_at >= after))
        return {(job, period) for job, period in rows}


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


def _run_once(app: App, job: Job, day: date, period: str, superseded: bool) -> str | None:
    """Run the job for its period under a lease, so that of several instances one runs
    it; None when another instance holds it or has finished it meanwhile."""
    with leases.holding(app.db, f"job:{job.name}:{period}") as held:
        if not held or _done(app, job.name, period):
            return None
        if not job.still_useful(app, day):
            return "skipped: too late to be useful"
        if superseded and job.superseded is not None:
            return job.superseded(app, day)
        return job.run(app, day)


def run_due(app: App, jobs: tuple[Job, ...] = JOBS) -> list[str]:
    """Run every job whose time has come and that has not run for its period. One job's
    failure is logged and does not stop the others; it is tried again next tick."""
    done: list[str] = []
    now = app.now()
    today = now.astimezone(app.tz).date()
    started = _first_day(app, today)
    earliest = max(today - timedelta(days=CATCH_UP_DAYS), started)
    finished = _finished(app, jobs, earliest)
    for job in jobs:
        last = _last_due(app, job, today, earliest)
        for back in range(CATCH_UP_DAYS, -1, -1):
            day = today - timedelta(days=back)
            if day < earliest:
                continue
            try:
                when = job.when(app, day)
                if when is None or now < datetime.combine(day, when, tzinfo=app.tz):
                    continue
                if job.ends(app, day) < started:
                    continue
                period = job.period(app, day)
                if (job.name, period) in finished or _done(app, job.name, period):
                    continue
                outcome = _run_once(app, job, day, period, superseded=last is not None
                                    and day < last)
                if outcome is None:
                    continue  # another instance runs it, or just ran it
            except Exception as exc:  # one job's failure must not stop the others
                log.exception("job %s for %s failed; it is tried again at the next tick",
                              job.name, day)
                done.append(f"{job.name} {day}: failed: {exc}")
                _note_failure(app, job, day, exc)
                continue
            if _record(app, job.name, period, outcome):
                _clear_failure(app, job.name, period)
                log.info("job %s for %s: %s", job.name, period, outcome)
                done.append(f"{job.name} {period}: {outcome}")
    return done


def _note_failure(app: App, job: Job, day: date, exc: Exception) -> None:
    """Keep the failure (`mailflow health`, the alert to HR) until the run succeeds."""
    try:
        period = job.period(app, day)
    except Exception:  # the period itself could not be worked out: name the day
        period = day.isoformat()
    text = " ".join(f"{type(exc).__name__}: {exc}".split())[:2000]
    try:
        with app.db.begin() as session:
            record_problem(session, job_key(job.name, period), "job", text, app.now())
    except Exception:  # the database itself failing: the log line above says it
        log.exception("the failure of job %s could not be recorded", job.name)


def _clear_failure(app: App, job: str, period: str) -> None:
    with app.db.begin() as session:
        clear_problem(session, job_key(job, period))


def _last_due(app: App, job: Job, today: date, earliest: date) -> date | None:
    """The latest day within the catch-up window whose run of `job` is due now, for a job
    whose missed runs give way to a later one; None for the others."""
    if job.superseded is None:
        return None
    now = app.now()
    for back in range(CATCH_UP_DAYS + 1):
        day = today - timedelta(days=back)
        if day < earliest:
            return None
        try:
            when = job.when(app, day)
        except Exception:  # that day's own run reports the failure
            continue
        if when is not None and now >= datetime.combine(day, when, tzinfo=app.tz):
            return day
    return None
