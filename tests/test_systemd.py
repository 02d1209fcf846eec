"""`mailflow run` under systemd's Type=notify, with a real unix datagram socket as
$NOTIFY_SOCKET: READY=1, WATCHDOG=1 while it runs, STOPPING=1 on SIGTERM. And the
service's own health check: a mailbox with a wrong password for over an hour is mailed to
HR once, SMTP failing for over an hour is logged loudly. Times pinned with --now."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import smtp_block
from mailflow.service import systemd
from mailflow.testing.embedded import free_port
from servers import imap_login
from conftest import wait_for


def listening(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    return sock


def received(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except (TimeoutError, BlockingIOError):
            return out


def test_notify_writes_one_datagram_to_a_path_or_an_abstract_socket(tmp_path: Path):
    path = str(tmp_path / "notify")
    with listening(path) as sock:
        assert systemd.notify("READY=1", {"NOTIFY_SOCKET": path})
        assert sock.recv(100) == b"READY=1"
    name = "mailflow-test-" + uuid.uuid4().hex[:8]
    with listening("\0" + name) as sock:
        assert systemd.notify("STOPPING=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"STOPPING=1"
    assert not systemd.notify("READY=1", {})                       # not under systemd
    assert not systemd.notify("READY=1", {"NOTIFY_SOCKET": path + ".gone"})


def test_watchdog_interval_is_half_of_watchdog_usec_for_this_process(tmp_path: Path):
    env = {"NOTIFY_SOCKET": str(tmp_path / "n"), "WATCHDOG_USEC": "20000000"}
    assert systemd.watchdog_every(env) == 10.0
    assert systemd.watchdog_every({**env, "WATCHDOG_PID": str(os.getpid())}) == 10.0
    assert systemd.watchdog_every({**env, "WATCHDOG_PID": "1"}) is None
    assert systemd.watchdog_every({"WATCHDOG_USEC": "20000000"}) is None
    assert systemd.watchdog_every({**env, "WATCHDOG_USEC": "0"}) is None


def start_run(project, now: str, env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
    log = project.root / f"run-{uuid.uuid4().hex[:6]}.log"
    full = {k: v for k, v in os.environ.items() if k != "MAILFLOW_FAULT"} | env
    proc = subprocess.Popen([sys.executable, "-m", "mailflow", "--config", str(project.settings),
                             "--now", now, "run"], env=full, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"))
    return proc, log


def test_run_notifies_systemd_and_alerts_hr_of_a_mailbox_down_for_an_hour(
        project, passwords, dovecot, tmp_path, monkeypatch):
    from mailflow.store.models import OutboxMail

    folder = "S" + uuid.uuid4().hex[:8]
    client = imap_login("127.0.0.1", dovecot.port, "hr@example.com", "secret-hr")
    client.create_folder(folder)
    client.logout()
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(folder,))
    project.write_settings(smtp_block(free_port()))        # nothing listens there
    monkeypatch.setenv("MAILFLOW_TEST_HR_PASSWORD", "changed-by-someone")
    # An hour and more ago: the login failed (poll) and SMTP could not be reached (send).
    assert project.cli("poll", "--once", now="2026-11-24T08:30:00+08:00").code == 1
    assert project.cli("remind", "--date", "2026-11-24", now="2026-11-24T08:30:00+08:00").code == 0
    assert project.cli("send", now="2026-11-24T08:31:00+08:00").code == 1

    path = str(tmp_path / "notify")
    with listening(path) as sock:
        proc, log = start_run(project, "2026-11-24T10:00:00+08:00",
                              {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "600000"})
        try:
            got: list[str] = []
            wait_for(lambda: got.extend(received(sock)) or
                     got.count("WATCHDOG=1") >= 3, 30, "READY=1 and three WATCHDOG=1")
            assert got[0] == "READY=1"
            wait_for(lambda: "SMTP HAS FAILED SINCE 2026-11-24 08:31" in log.read_text(), 20,
                     "the SMTP line in the log")
            rows = wait_for(lambda: project.engine().connect().execute(
                select(OutboxMail.dedupe_key, OutboxMail.to_addrs)
                .where(OutboxMail.kind == "alert")).all(), 20, "the alert mail queued")
            assert rows == [("alert|mailbox:hr|2026-11-24", ["hr@example.com"])]
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
        tail = received(sock)
    text = log.read_text()
    assert code == 0 and "Traceback" not in text
    assert "STOPPING=1" in tail and tail[-1] == "STOPPING=1"
    assert any(s.startswith("STATUS=") and "problem(s)" in s for s in got + tail)
    assert text.count("SMTP HAS FAILED SINCE") == 1      # once an hour, not each minute
    assert "ERROR" in text.split("SMTP HAS FAILED SINCE")[0].rsplit("\n", 1)[-1]


def test_run_without_notify_socket_sends_nothing_and_runs(project, passwords, dovecot, smtp_server):
    folder = "S" + uuid.uuid4().hex[:8]
    client = imap_login("127.0.0.1", dovecot.port, "hr@example.com", "secret-hr")
    client.create_folder(folder)
    client.logout()
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(folder,))
    project.write_settings(smtp_block(smtp_server.port))
    env = {k: "" for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    proc, log = start_run(project, "2026-11-24T10:00:00+08:00", env)
    try:
        wait_for(lambda: "with IDLE" in log.read_text(), 60, "the watcher")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert "notify" not in log.read_text() and "Traceback" not in log.read_text()
