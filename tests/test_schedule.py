"""The schedule on its own: every "when is it due" (dates/deadlines.py) and when each job
of service/jobs.py runs, for a pinned clock and the shipped rules/ (Asia/Shanghai)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from mailflow.app import load_app
from mailflow.dates.deadlines import (assessment_due, deadline_for, indicators_due, last_workday,
                                      meeting_day, weekly_report_due)
from mailflow.service.jobs import JOBS, run_due

TZ = ZoneInfo("Asia/Shanghai")
JOB = {job.name: job for job in JOBS}
THU, FRI, SAT, MON = date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 30)


def at(stamp: str):  # type: ignore[no-untyped-def]
    return datetime.fromisoformat(stamp).replace(tzinfo=TZ)


@pytest.fixture
def app(project):  # type: ignore[no-untyped-def]
    return load_app(project.settings, "2026-11-26T20:30+08:00")


def test_every_due_time_from_the_rules(app):
    assert deadline_for(THU, app) == at("2026-11-26 21:00")
    assert deadline_for(THU, app.context()) == deadline_for(THU, app)   # the checks ask the same
    assert weekly_report_due(app, date(2026, 11, 23)) == at("2026-11-30 10:00")
    assert last_workday(app, date(2026, 11, 1)) == MON
    assert last_workday(app, date(2026, 10, 1)) == date(2026, 10, 30)    # a Friday
    assert assessment_due(app, date(2026, 11, 1)) == at("2026-12-03 18:00")
    assert indicators_due(app, date(2026, 11, 1)) == at("2026-11-10 18:00")
    assert meeting_day(app, FRI) == SAT
    assert meeting_day(app, SAT) == date(2026, 12, 5)    # sent on a meeting day: the next one


def test_when_each_job_runs_in_one_week(app):
    runs = {name: {day: JOB[name].when(app, day) for day in (THU, FRI, SAT, MON)}
            for name in JOB}
    assert runs["remind"] == {THU: time(20), FRI: time(20), SAT: None, MON: time(20)}
    assert runs["close-day"][THU] == time(21, 30) and runs["close-day"][SAT] is None
    assert runs["weekly-drafts"] == {THU: None, FRI: time(21, 45), SAT: None, MON: None}
    assert runs["meeting"] == {THU: None, FRI: time(17), SAT: None, MON: None}
    assert runs["close-week"][MON] == time(10, 30) and runs["hr-weekly"][MON] == time(9)
    assert runs["month-end"] == {THU: None, FRI: None, SAT: None, MON: time(10)}
    assert JOB["close-month"].when(app, date(2026, 12, 3)) == time(18, 30)
    assert JOB["hr-monthly"].when(app, date(2026, 12, 1)) == time(9)
    assert JOB["hr-monthly"].when(app, date(2026, 12, 2)) is None
    # The daily clearing of the workday before is due at 12:00 (rules/notify.toml [clearing]).
    assert runs["close-clearing"] == {THU: time(12), FRI: time(12), SAT: None, MON: time(12)}
    assert runs["hr-assist"] == {THU: time(12), FRI: time(12), SAT: None, MON: time(12)}


def test_what_each_run_covers(app):
    assert JOB["meeting"].period(app, FRI) == "2026-11-28"
    assert JOB["weekly-drafts"].period(app, FRI) == "2026-W48"
    assert JOB["close-week"].period(app, MON) == "2026-W48"
    assert JOB["month-end"].period(app, MON) == "2026-11"
    assert JOB["close-month"].period(app, date(2026, 12, 3)) == "2026-11"
    # Monday's run judges Friday's clearing; the week's first workday checks the week before.
    assert JOB["close-clearing"].period(app, MON) == "2026-11-27"
    assert JOB["close-clearing"].period(app, FRI) == "2026-11-26"
    assert JOB["hr-assist"].period(app, MON) == "2026-W48"


def test_clearing_due_is_noon_of_the_next_workday(app):
    from mailflow.dates.deadlines import clearing_due
    assert clearing_due(THU, app) == at("2026-11-27 12:00")
    assert clearing_due(FRI, app) == at("2026-11-30 12:00")       # over the weekend
    assert clearing_due(date(2026, 9, 30), app) == at("2026-10-08 12:00")   # National Day


def test_close_clearing_catches_up_after_downtime(project):
    app = load_app(project.settings, "2026-11-25T21:31+08:00")
    run_due(app, (JOB["close-day"],))       # the schedule has started here
    # Down from Wednesday night until Monday 13:00: Wed, Thu and Fri are judged then.
    later = load_app(project.settings, "2026-11-30T13:00+08:00")
    done = run_due(later, (JOB["close-clearing"],))
    assert done == ["close-clearing 2026-11-25: 0 supervisor(s) not cleared on time",
                    "close-clearing 2026-11-26: 0 supervisor(s) not cleared on time",
                    "close-clearing 2026-11-27: 0 supervisor(s) not cleared on time"]
    assert run_due(later, (JOB["close-clearing"],)) == []


def test_a_reminder_is_useful_only_before_the_deadline(project):
    before = load_app(project.settings, "2026-11-26T20:59+08:00")
    after = load_app(project.settings, "2026-11-26T21:01+08:00")
    assert JOB["remind"].still_useful(before, THU)
    assert not JOB["remind"].still_useful(after, THU)
    monday = load_app(project.settings, "2026-11-30T10:01+08:00")
    assert not JOB["weekly-reminder"].still_useful(monday, MON)


def test_a_due_job_runs_once_for_its_period(project):
    app = load_app(project.settings, "2026-11-26T21:31+08:00")
    first = run_due(app, (JOB["close-day"], JOB["remind"]))
    assert first == ["close-day 2026-11-26: 4 missing",
                     "remind 2026-11-26: skipped: too late to be useful"]
    assert run_due(app, (JOB["close-day"], JOB["remind"])) == []
    early = load_app(project.settings, "2026-11-27T19:59+08:00")
    assert run_due(early, (JOB["remind"],)) == []        # Friday's reminder is not due yet
