"""Three `mailflow run` processes on one database (PostgreSQL in the PostgreSQL pass,
one SQLite file in the other): each folder is watched by exactly one of them, each job
runs once, no mail goes out twice, and when the holder of a folder is killed another
instance takes the folder over once its lease expires.

Every wait is derived from the lease and schedule settings, with room for a loaded
machine (three instances, Dovecot and the database on two busy cores): a deadline met by
a few seconds on a quiet machine is a test that fails on CI."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import ROOT, report, smtp_block, wait_for
from test_imap import folder, put

from mailflow.store import leases
from mailflow.config.policy import load_policy

CST = timezone(timedelta(hours=8))
NOW = "2026-11-19T21:40:00+08:00"     # after close_day (21:30): that job is due

TICK = 15.0     # seconds between scheduler ticks (service.py)
SEND_EVERY = float(load_policy(ROOT / "rules").notify.send_every_seconds)
SLACK = 45.0    # starting Python, connecting, judging and sending on a loaded machine
# Three instances started, each folder leased and its first mail judged.
STARTED = SLACK
# A killed holder's folder: its lease expires, the next try takes it, a catch-up judges.
TAKEOVER = leases.TTL.total_seconds() + leases.RETRY_EVERY + SLACK
# A job the killed instance was running: its lease expires, a tick runs it again, and the
# sender delivers what it queued.
SETTLED = leases.TTL.total_seconds() + TICK + SEND_EVERY + 2 * SLACK


def _start(project, log: Path, instance: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.pop("MAILFLOW_INSTANCE", None)
    if instance:
        env["MAILFLOW_INSTANCE"] = instance
    return subprocess.Popen([sys.executable, "-m", "mailflow", "--config", str(project.settings),
                             "--now", NOW, "run"], stdout=subprocess.DEVNULL,
                            stderr=log.open("wb"), env=env)


def _leases(project) -> dict[str, str]:
    with project.engine().connect() as conn:
        return {name: holder for name, holder in conn.execute(text(
            "select name, holder from leases where name like 'folder:%'"))}


def _reports(project, message_id: str) -> int:
    with project.engine().connect() as conn:
        return conn.execute(text("select count(*) from reports where message_id = :m"),
                            {"m": message_id}).scalar_one()


def _outbox_settled(project) -> bool:
    """Digests were queued, and every row is sent or (caught mid-delivery) unknown."""
    with project.engine().connect() as conn:
        states = [s for s, in conn.execute(text(
            "select state from outbox where kind = 'digest'"))]
    return bool(states) and all(s in ("sent", "unknown") for s in states)


def _mail(n: int, tag: str) -> tuple[bytes, datetime]:
    when = datetime(2026, 11, 19, 19, 0, tzinfo=CST) + timedelta(minutes=n)
    return report(message_id=f"{tag}@example.com", date=when, subject="工作日报 2026-11-19"), when


# "machines": each instance named as if on a host of its own, so the dead one's leases
# are taken over only when they expire; "one host": the dead holder is seen to be gone.
@pytest.mark.parametrize("hosts", ["machines", "one host"])
def test_three_instances_share_folders_jobs_and_outbox(project, passwords, dovecot,
                                                       smtp_server, tmp_path, hosts):
    names = [folder() for _ in range(3)]
    for n, name in enumerate(names):
        put(dovecot, name, [_mail(n, f"first-{n}")])
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=tuple(names))
    project.write_settings(smtp_block(smtp_server.port))
    assert project.cli("status", "--date", "2026-11-19", now=NOW).code == 0  # migrate first
    logs = [tmp_path / f"instance{i}.log" for i in range(3)]
    procs = [_start(project, log, f"node{i}" if hosts == "machines" else "")
             for i, log in enumerate(logs)]
    try:
        held = wait_for(lambda: (lambda l: l if len(l) == 3 else None)(_leases(project)),
                     STARTED, "every folder leased")
        for n in range(3):
            wait_for(lambda n=n: _reports(project, f"first-{n}@example.com"), STARTED,
                  f"the mail in folder {n} judged")
        # Exactly one instance watches each folder. An instance says so once its first
        # fetch of the folder is judged, so the line may follow the judged mail.
        def watching() -> list[list[str]]:
            return [re.findall(r"watching hr/(\S+) with", log.read_text()) for log in logs]

        wait_for(lambda: len(sum(watching(), [])) >= 3, STARTED, "every folder watched")
        assert sorted(sum(watching(), [])) == sorted(names), watching()

        # The instance holding the first folder dies without a word.
        victim_pid = int(held[f"folder:hr/{names[0]}"].split(":")[1])
        assert hosts == "one host" or held[f"folder:hr/{names[0]}"].startswith("node")
        victim = next(p for p in procs if p.pid == victim_pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = time.monotonic()
        put(dovecot, names[0], [_mail(9, "after-kill")])
        wait_for(lambda: _reports(project, "after-kill@example.com"), TAKEOVER,
              "the folder of the killed instance taken over and its new mail judged")
        took = time.monotonic() - killed_at
        new_holder = _leases(project)[f"folder:hr/{names[0]}"]
        assert int(new_holder.split(":")[1]) in {p.pid for p in procs if p is not victim}

        # Jobs ran once among the three; no mail went out twice. A job or a delivery the
        # killed instance was in the middle of is finished by another (a job once its
        # lease expires and a scheduler tick comes), or reported "unknown", never resent.
        wait_for(lambda: _outbox_settled(project), SETTLED, "the digests queued and delivered")
        with project.engine().connect() as conn:
            runs = list(conn.execute(text("select job, period from job_runs")))
            outbox = list(conn.execute(text("select message_id, state from outbox")))
        assert runs and len(runs) == len(set(runs))
        ran = Counter(line for log in logs for line in
                      re.findall(r"job (\S+ for \S+):", log.read_text()))
        assert ran and all(n == 1 for n in ran.values()), ran
        ids = [m["Message-ID"].strip("<>") for m in smtp_server.recorder.parsed()]
        assert len(ids) == len(set(ids))
        sent = {m for m, state in outbox if state == "sent"}
        unknown = {m for m, state in outbox if state == "unknown"}
        assert sent <= set(ids) <= sent | unknown
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
    print(f"takeover after kill -9: {took:.1f}s")
