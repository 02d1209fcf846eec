"""The service's scheduler: a job that hangs or fails holds up none of the others."""

from __future__ import annotations

import threading
import time
from datetime import date, time as dtime

from mailflow.app import load_app
from mailflow.service.jobs import Job
from mailflow.service.runner import Service


def test_a_hung_job_and_a_failing_job_do_not_stop_the_others(project):
    app = load_app(project.settings, "2026-11-19T12:00:00+08:00")
    release = threading.Event()
    ran: list[str] = []

    def hang(app, day: date) -> str:
        release.wait(30)
        return "finally"

    def fail(app, day: date) -> str:
        raise RuntimeError("broken job")

    def ok(app, day: date) -> str:
        ran.append(day.isoformat())
        return "done"

    at = lambda app, day: dtime(9, 0)  # noqa: E731
    period = lambda app, day: day.isoformat()  # noqa: E731
    jobs = (Job("hang", at, period, hang), Job("fail", at, period, fail),
            Job("ok", at, period, ok))
    service = Service(app, jobs=jobs)
    service._tick()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not ran:
        time.sleep(0.05)
    assert ran == ["2026-11-19"]               # ran although "hang" never returned
    hung = service.job_threads["hang"]
    service._tick()                             # the hung one is not started twice
    assert service.job_threads["hang"] is hung and hung.is_alive()
    release.set()
    hung.join(10)
    assert not hung.is_alive()
