"""`mailflow run` end to end: Dovecot, aiosmtpd, a real process, a real clock (started at
--now), SIGTERM. The host's zone is America/Los_Angeles (conftest); the company's is
Asia/Shanghai."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime

import pytest

from conftest import report, signal_other_thread, smtp_block, wait_for
from servers import deliver, imap_login
from week import CST


class Running:
    def __init__(self, project, now: str, fault: str | None = None) -> None:
        self.log = project.root / f"run-{uuid.uuid4().hex[:6]}.log"
        env = {k: v for k, v in os.environ.items() if k != "MAILFLOW_FAULT"}
        if fault:
            env["MAILFLOW_FAULT"] = fault   # faults.py: a named point kills or stalls
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailflow", "--config", str(project.settings), "--now", now,
             "run"], env=env, stdout=subprocess.DEVNULL, stderr=self.log.open("w"))

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        # Longer than the service's own 30 s for the work in hand (runner.py), which a
        # loaded machine can use up.
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGUSR1)   # its threads' stacks, into the log
            time.sleep(1)
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("mailflow run did not stop within 60 s of SIGTERM; its "
                                 "log:\n" + self.text()[-20000:]) from None


@pytest.fixture
def service_project(project, passwords, dovecot, smtp_server):
    folder = "R" + uuid.uuid4().hex[:8]
    client = imap_login("127.0.0.1", dovecot.port, "hr@example.com", "secret-hr")
    client.create_folder(folder)
    client.logout()
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(folder,))
    project.write_settings(smtp_block(smtp_server.port))
    project.folder = folder
    return project


def subjects(smtp_server) -> list[tuple[str, str]]:
    return [(m["Subject"], m["To"]) for m in smtp_server.recorder.parsed()]


def test_sigterm_handed_to_another_thread_stops_the_service(service_project):
    """The kernel hands a signal sent to the process to any of its threads that does not
    block it; the service must stop cleanly whichever it was (it once waited for ever
    when the IDLE watcher got it)."""
    run = Running(service_project, "2026-11-19T20:00:00+08:00")
    try:
        wait_for(lambda: "with IDLE" in run.text(), 60, "the IDLE watcher")
        signal_other_thread(run.proc.pid, signal.SIGTERM)
        assert run.proc.wait(timeout=30) == 0, run.text()
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    assert "received SIGTERM" in run.text() and "stopped" in run.text()


def test_notice_arrives_within_seconds_of_the_report_via_idle(service_project, dovecot,
                                                              smtp_server):
    run = Running(service_project, "2026-11-19T20:00:00+08:00")
    try:
        wait_for(lambda: "with IDLE" in run.text(), 60, "the IDLE watcher")
        raw = report(cc=(), subject="工作日报 2026-11-19", message_id="run1@example.com",
                     date=datetime(2026, 11, 19, 20, 1, tzinfo=CST))
        client = imap_login("127.0.0.1", dovecot.port, "hr@example.com", "secret-hr")
        appended = time.monotonic()
        deliver(client, service_project.folder, raw, datetime(2026, 11, 19, 20, 1, tzinfo=CST))
        client.logout()
        notice = wait_for(lambda: [s for s in subjects(smtp_server) if "需要更正" in s[0]], 15,
                          "the rule-break notice at the SMTP server")
        latency = time.monotonic() - appended
        assert notice == [("日报需要更正：工作日报 2026-11-19", "冯喆 <feng.zhe@example.com>")]
        assert latency < 10
    finally:
        code = run.stop()
    assert code == 0
    assert "stopped" in run.text() and "Traceback" not in run.text()
    # The 20:00 reminders went, once each, to the four who had not reported at 20:00.
    reminders = sorted(to.split("<")[1] for s, to in subjects(smtp_server)
                       if s.startswith("日报提醒"))
    assert reminders == ["feng.zhe@example.com>", "han.mei@example.com>",
                         "li.na@example.com>", "zhao.lei@example.com>"]


def test_restart_after_a_missed_close_sends_the_days_digests_once(service_project, smtp_server):
    def digests_for_19():
        return [s for s in subjects(smtp_server) if s[0].startswith("日清") and "2026-11-19" in s[0]]

    run = Running(service_project, "2026-11-19T22:00:00+08:00")
    try:
        found = wait_for(lambda: len(digests_for_19()) == 2 and digests_for_19(), 30,
                         "the 2026-11-19 digests after catch-up")
    finally:
        assert run.stop() == 0
    assert sorted(to for _, to in found) == ["孙主管 <sun.zg@example.com>",
                                             "钱主管 <qian.zg@example.com>"]
    # No reminder for a day whose deadline had passed when the service came back.
    assert not any(s.startswith("日报提醒") for s, _ in subjects(smtp_server))
    total = len(smtp_server.recorder.messages)
    again = Running(service_project, "2026-11-19T22:05:00+08:00")
    try:
        wait_for(lambda: "with IDLE" in again.text(), 60, "the second start")
        time.sleep(3)
    finally:
        assert again.stop() == 0
    assert len(digests_for_19()) == 2 and len(smtp_server.recorder.messages) == total


def test_back_after_days_down_each_supervisor_gets_the_latest_digest_only(service_project,
                                                                         smtp_server):
    from sqlalchemy import text

    engine = service_project.engine()

    def rows(sql: str) -> list:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)))

    first = Running(service_project, "2026-11-16T12:00:00+08:00")
    try:
        wait_for(lambda: "with IDLE" in first.text(), 60, "the IDLE watcher")
        wait_for(lambda: rows("select period from job_runs where job = 'schedule-start'"), 20,
                 "the schedule's start")
    finally:
        assert first.stop() == 0
    # Down from Monday noon to the next Thursday morning: 19, 20, 23, 24 and 25 November
    # (the catch-up window's workdays) were never closed.
    back = Running(service_project, "2026-11-26T09:00:00+08:00")

    def digests() -> list[tuple[str, str]]:
        return [s for s in subjects(smtp_server) if s[0].startswith("日清")]
    try:
        wait_for(lambda: len(digests()) >= 2, 40, "the 2026-11-25 digests")
        wait_for(lambda: rows("select count(*) from job_runs where job = 'close-day'")[0][0] == 5,
                 20, "every missed close recorded")
        time.sleep(2)
    finally:
        assert back.stop() == 0
    assert sorted(digests(), key=lambda s: s[1]) == [
        ("日清 华南 2026-11-25：已交 0/2，未交 2", "孙主管 <sun.zg@example.com>"),
        ("日清 华东 2026-11-25：已交 0/2，未交 2", "钱主管 <qian.zg@example.com>")]
    queued = rows("select period from outbox where kind = 'digest'")
    assert sorted(p for (p,) in queued) == ["2026-11-25", "2026-11-25"]
    closes = rows("select day, missing from day_closes order by day")
    assert [str(d) for d, _ in closes] == ["2026-11-19", "2026-11-20", "2026-11-23",
                                           "2026-11-24", "2026-11-25"]
    assert rows("select count(*) from violations where code = 'missing'")[0][0] == \
        sum(m for _, m in closes) == 20


def test_a_running_service_finishes_a_delivery_another_sender_died_in(service_project,
                                                                       smtp_server):
    """An instance (or `mailflow send`) killed mid-delivery leaves its row `sending`; the
    instances still running must settle it on their next pass, not only when one of them
    restarts: before the end of DATA it is sent again (once), after it it is reported."""
    from sqlalchemy import text

    notify = service_project.root / "rules" / "notify.toml"
    notify.write_text(notify.read_text().replace("send_every_seconds = 30",
                                                 "send_every_seconds = 1"))
    now = "2026-11-19T21:45:00+08:00"
    assert service_project.cli("close-day", "--date", "2026-11-19", now=now).code == 0
    engine = service_project.engine()
    with engine.begin() as conn:     # both digests delivered earlier, by hand as it were
        conn.execute(text("update outbox set state = 'sent'"))
    run = Running(service_project, now)
    try:
        wait_for(lambda: "mailflow running" in run.text(), 30, "the service to start")
        wait_for(lambda: "with IDLE" in run.text(), 60, "the IDLE watcher")
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
        dead = f"{__import__('socket').gethostname()}:{gone.stdout.strip()}"
        with engine.begin() as conn:   # a sender that died after claiming, before DATA
            conn.execute(text("update outbox set state = 'sending', claimed_by = :who, "
                              "claimed_at = queued_at, data_at = null, sent_at = null "
                              "where id = (select min(id) from outbox)"), {"who": dead})

        def states() -> list[str]:
            with engine.connect() as conn:
                return [s for s, in conn.execute(text("select state from outbox order by id"))]

        wait_for(lambda: states() == ["sent", "sent"], 30, "the orphaned row delivered")
        assert len(smtp_server.recorder.messages) == 1
    finally:
        assert run.stop() == 0
    assert "Traceback" not in run.text()
