"""Faults from outside: a mail server that stops mid-fetch, a BYE during IDLE, the same
mail in three mailboxes, an SMTP server that drops QUIT, two writers on one SQLite file
for half a minute, secrets in logs, the host clock in UTC. Each ends with the same
records and mail as an undisturbed run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from conftest import CLOCK, report, smtp_block
from servers import deliver, imap_login

CST = timezone(timedelta(hours=8))


def env() -> dict[str, str]:
    """The environment at call time (the password fixtures set variables per test)."""
    return {k: v for k, v in os.environ.items() if k != "MAILFLOW_FAULT"}


def mails(n: int, tag: str) -> list[tuple[bytes, datetime]]:
    out = []
    for i in range(n):
        when = datetime(2026, 11, 19, 18, 0, tzinfo=CST) + timedelta(seconds=i)
        out.append((report(message_id=f"{tag}{i}@example.com", date=when,
                           subject="工作日报 2026-11-19"), when))
    return out


def put(server, user: str, folder: str, items) -> None:
    client = imap_login("127.0.0.1", server.port, user, "secret-" + user.split("@")[0])
    for raw, when in items:
        deliver(client, folder, raw, when)
    client.logout()


def count(project, sql: str) -> int:
    try:
        with project.engine().connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    except (OperationalError, ProgrammingError):
        return 0   # the process under test has not created the tables yet


def mailflow(project, *args: str, extra_env: dict | None = None) -> subprocess.Popen:
    base = env()
    return subprocess.Popen([sys.executable, "-m", "mailflow", "--config", str(project.settings),
                             "--now", CLOCK, *args], env={**base, **(extra_env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_dovecot_stopped_mid_fetch_then_restarted(project, passwords, dovecot):
    folder = "F" + uuid.uuid4().hex[:8]
    put(dovecot, "hr@example.com", folder, mails(120, "stop"))
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(folder,),
                        extra="fetch_batch = 5")
    # The poll stops after its second batch, long enough for the server to go away.
    proc = mailflow(project, "poll", "--once", extra_env={"MAILFLOW_FAULT": "after-commit:2:stall=3"})
    _wait(lambda: count(project, "select count(*) from mails") >= 10, 60)
    dovecot.crash()                                  # the server goes away mid-FETCH
    out, err = proc.communicate(timeout=60)
    recorded = count(project, "select count(*) from mails")
    dovecot.start()
    assert proc.returncode == 1 and "mailbox hr" in err and "Traceback" not in err, (recorded, out, err)
    # The two batches committed before the stall, and the third when its FETCH (sent
    # ahead, before the second was recorded) was answered before the server went.
    assert recorded in (10, 15), recorded
    again = mailflow(project, "poll", "--once")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert count(project, "select count(*) from mails") == 120
    assert count(project, "select count(*) from reports") == 120
    assert count(project, "select count(distinct dedupe_key) from mails") == 120


def test_same_mail_in_three_mailboxes_is_one_mail(project, passwords, dovecot):
    folder = "T" + uuid.uuid4().hex[:8]
    items = mails(3, "three")
    for user in ("hr@example.com", "qian.zg@example.com", "sun.zg@example.com"):
        put(dovecot, user, folder, items)
    for name, user in (("hr", "hr@example.com"), ("sup", "qian.zg@example.com"),
                       ("sun", "sun.zg@example.com")):
        project.add_mailbox(name, dovecot.port, user, folders=(folder,))
    res = project.cli("poll", "--once")
    assert "9 fetched, 3 new, 6 already recorded" in res.out
    assert count(project, "select count(*) from mails") == 3
    assert count(project, "select count(*) from mail_locations") == 9
    assert count(project, "select count(*) from reports") == 3


def test_bye_during_idle_reconnects_and_catches_up(project, passwords, dovecot):
    folder = "I" + uuid.uuid4().hex[:8]
    put(dovecot, "hr@example.com", folder, mails(1, "idle-a"))
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(folder,))
    log = project.root / "run.log"
    proc = subprocess.Popen([sys.executable, "-m", "mailflow", "--config", str(project.settings),
                             "--now", "2026-11-19T19:00:00+08:00", "run"], env=env(),
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        _wait(lambda: "with IDLE" in log.read_text(), 60)
        # The server ends every session of the user: each gets "* BYE".
        subprocess.run(["doveadm", "-c", str(dovecot.root / "dovecot.conf"), "kick",
                        "hr@example.com"], check=True, capture_output=True, timeout=30)
        put(dovecot, "hr@example.com", folder, mails(1, "idle-b"))
        _wait(lambda: count(project, "select count(*) from mails") == 2, 30)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    text_log = log.read_text()
    assert "reconnecting" in text_log and text_log.count("with IDLE") >= 2


def _wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s")


def test_quit_failing_after_250_changes_nothing(project, smtp_server):
    project.write_settings(smtp_block(smtp_server.port))
    smtp_server.recorder.quit_fails = True
    project.cli("close-day", "--date", "2026-11-19", now="2026-11-19T21:45:00+08:00")
    res = project.cli("send", now="2026-11-19T21:45:00+08:00")
    assert res.code == 0 and res.out.startswith("2 sent")
    again = project.cli("send", now="2026-11-19T21:50:00+08:00")
    assert again.out.startswith("0 sent") and len(smtp_server.recorder.messages) == 2


@pytest.mark.clockfree
def test_poller_and_scheduler_write_at_once(project, passwords, dovecot):
    """Half a minute of a poller and the day's jobs writing the same SQLite file (or the
    same PostgreSQL database), started again and again: no 'database is locked', nothing
    lost."""
    folder = "W" + uuid.uuid4().hex[:8]
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(folder,))
    project.write_settings(smtp_block(1))           # mail is queued, never sent here
    stop = time.monotonic() + 30
    n = 0
    errors = []
    while time.monotonic() < stop:
        put(dovecot, "hr@example.com", folder, mails(5, f"w{n}-"))
        n += 1
        procs = [mailflow(project, "poll", "--once"),
                 mailflow(project, "--now", "2026-11-19T20:00:00+08:00", "remind", "--date",
                          "2026-11-19"),
                 mailflow(project, "--now", "2026-11-19T21:45:00+08:00", "close-day", "--date",
                          "2026-11-19"),
                 mailflow(project, "status", "--date", "2026-11-19", "--json")]
        for p in procs:
            out, err = p.communicate(timeout=60)
            if p.returncode != 0:
                errors.append(err)
    assert errors == []
    assert not any("locked" in e for e in errors)
    final = project.cli("poll", "--once")
    assert final.code == 0
    assert count(project, "select count(*) from mails") == 5 * n


def test_no_secret_in_any_log(project, passwords, dovecot, smtp_server, monkeypatch):
    secret = "S3cr3t-" + uuid.uuid4().hex
    dovecot.add_user("reports@example.com", secret)
    monkeypatch.setenv("MAILFLOW_TEST_REPORTS_PASSWORD", secret)
    folder = "S" + uuid.uuid4().hex[:8]
    put(dovecot, "hr@example.com", folder, mails(2, "sec"))
    project.add_mailbox("reports", dovecot.port, "reports@example.com", folders=("INBOX",))
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(folder,))
    project.write_settings(smtp_block(smtp_server.port))
    run_env = {**env(), "MAILFLOW_TEST_REPORTS_PASSWORD": secret}
    logs = []
    for args in (["-vvv", "poll", "--once"], ["-vvv", "check-config"],
                 ["-vvv", "--now", "2026-11-19T21:45:00+08:00", "close-day", "--date",
                  "2026-11-19"], ["-vvv", "send"]):
        res = subprocess.run([sys.executable, "-m", "mailflow", "--config", str(project.settings),
                              "--now", CLOCK, *args], env=run_env, capture_output=True, text=True, timeout=120)
        logs.append(res.stdout + res.stderr)
    # A wrong password: the error names the variable, not the value.
    res = subprocess.run([sys.executable, "-m", "mailflow", "--config", str(project.settings),
                          "--now", CLOCK, "-vvv", "poll", "--once"],
                         env={**run_env, "MAILFLOW_TEST_REPORTS_PASSWORD": secret + "x"},
                         capture_output=True, text=True, timeout=120)
    logs.append(res.stdout + res.stderr)
    assert "MAILFLOW_TEST_REPORTS_PASSWORD" in logs[-1]
    joined = "\n".join(logs)
    assert "LOGIN" in joined or "login" in joined.lower()    # the logs did cover the login
    assert secret not in joined


def test_host_clock_in_utc_company_in_shanghai(project):
    """The same judgement whatever the host's zone (the rest of the suite runs with the
    host in America/Los_Angeles)."""
    path = project.root / "late.eml"
    raw = report(message_id="utc@example.com", subject="工作日报 2026-11-19")
    # Received 13:30 UTC = 21:30 in Shanghai: late, although the UTC clock says afternoon.
    path.write_bytes(b"Received: from a by mx; Thu, 19 Nov 2026 13:30:00 +0000\r\n" + raw)
    outs = []
    for tz in ("UTC", "Asia/Tokyo", "America/Los_Angeles"):
        subprocess.run([sys.executable, "-m", "mailflow", "--config", str(project.settings),
                        "--now", CLOCK, "ingest", str(path)], env={**env(), "TZ": tz}, check=True,
                       capture_output=True)
        res = subprocess.run([sys.executable, "-m", "mailflow", "--config", str(project.settings),
                              "--now", "2026-11-20T09:00:00", "status", "--date", "2026-11-19",
                              "--json"], env={**env(), "TZ": tz}, capture_output=True, text=True)
        outs.append(res.stdout)
    people = {p["email"]: p for p in json.loads(outs[0])["people"]}
    assert people["feng.zhe@example.com"]["status"] == "late"
    assert people["feng.zhe@example.com"]["received_at"] == "2026-11-19T13:30:00+00:00"
    assert outs[0] == outs[1] == outs[2]


def test_idle_that_goes_silent_is_detected_and_caught_up(project, passwords, dovecot):
    from servers import FreezingProxy

    folder = "Q" + uuid.uuid4().hex[:8]
    put(dovecot, "hr@example.com", folder, mails(1, "quiet-a"))
    proxy = FreezingProxy(dovecot.port)
    notify = project.root / "rules" / "notify.toml"
    notify.write_text(notify.read_text().replace("poll_every_seconds = 60",
                                                 "poll_every_seconds = 3"))
    project.add_mailbox("hr", proxy.port, "hr@example.com", folders=(folder,), timeout=3)
    log = project.root / "quiet.log"
    proc = subprocess.Popen([sys.executable, "-m", "mailflow", "--config", str(project.settings),
                             "--now", "2026-11-19T19:00:00+08:00", "run"], env=env(),
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        _wait(lambda: "with IDLE" in log.read_text(), 60)
        _wait(lambda: count(project, "select count(*) from mails") == 1, 20)
        proxy.freeze()                          # the connection goes quiet, not closed
        put(dovecot, "hr@example.com", folder, mails(1, "quiet-b"))
        _wait(lambda: count(project, "select count(*) from mails") == 2, 40)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        proxy.close()
    assert code == 0
    text_log = log.read_text()
    assert "reconnecting" in text_log and text_log.count("with IDLE") >= 2


@pytest.mark.clockfree
def test_100k_messages_with_sparse_uids_fetch_without_a_long_line(dovecot):
    """100,000 messages written straight into the Maildir, every other one then removed:
    50,000 UIDs with gaps. The fetch stage reads them all, in batches whose UID sets stay
    within the server's command-line limit."""
    from mailflow.inbound import imap as imap_mod
    from mailflow.config.settings import Mailbox

    name = "U" + uuid.uuid4().hex[:8]
    client = imap_login("127.0.0.1", dovecot.port, "hr@example.com", "secret-hr")
    client.create_folder(name)
    client.logout()
    maildir = dovecot.root / "mail" / "hr@example.com" / f".{name}" / "cur"
    maildir.mkdir(parents=True, exist_ok=True)
    body = b"From: x@example.com\r\nSubject: hi\r\nMessage-ID: <%d@sparse>\r\n\r\nx\r\n"
    paths = []
    for i in range(100_000):
        path = maildir / f"1790000000.M{i}P1.test,S={len(body % i)}:2,"
        path.write_bytes(body % i)
        paths.append(path)
    if os.geteuid() == 0:
        for p in [maildir.parent, maildir, *maildir.parent.iterdir()]:
            os.chown(p, 65534, 65534)
        for p in paths:
            os.chown(p, 65534, 65534)
    client = imap_login("127.0.0.1", dovecot.port, "hr@example.com", "secret-hr")
    client.select_folder(name, readonly=True)              # Dovecot numbers them 1…100000
    client.logout()
    for p in paths[1::2]:
        p.unlink()                                         # every other one goes away
    box = Mailbox(name="hr", host="127.0.0.1", port=dovecot.port, security="none",
                  username="hr@example.com", password_env="X", folders=(name,), timeout=60,
                  fetch_batch=5000)
    conn = imap_mod.connect(box, "secret-hr")
    uids: list[int] = []
    try:
        for batch in imap_mod.fetch_new(conn, box, name, None):
            uids.extend(m.uid for m in batch.mails)
            assert all(m.data.startswith(b"From: x@example.com") for m in batch.mails)
    finally:
        conn.logout()
    assert len(uids) == 50_000 and len(set(uids)) == 50_000
    assert max(uids) - min(uids) > 90_000                  # sparse: gaps all the way up
    shutil_rm(maildir.parent)


def shutil_rm(path) -> None:
    import shutil
    shutil.rmtree(path, ignore_errors=True)
