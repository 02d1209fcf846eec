"""A delivery cut after the whole message was sent has an unknown outcome: it is named by
every `send`, by `status` and in HR's next mail until someone resolves it (`mailflow
outbox resend` with the same Message-ID, or `mark-sent`), and `[smtp] on_unknown =
"resend"` sends it once more on its own. Against aiosmtpd on loopback, with `send`
killed -9 in the middle of a delivery."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from servers import Recorder, SmtpServer
from test_outbound import NOW, outbox_rows
from conftest import smtp_block


class Scripted(Recorder):
    """Answers each DATA as `script` says, in order ("drop": the whole message read, then
    the connection closed with no reply; "hang": no reply for a minute), then normally."""

    def __init__(self, script: list[str]) -> None:
        super().__init__()
        self.script = list(script)
        self.data_seen = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.data_seen += 1
        step = self.script.pop(0) if self.script else None
        if step == "drop":
            server.transport.close()
            return "421 closing"
        if step == "hang":
            await asyncio.sleep(60)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def scripted():
    server = SmtpServer()
    server.recorder = Scripted([])
    server.controller.handler = server.recorder
    server.start()
    yield server
    server.stop()


def _send(project, now: str):  # type: ignore[no-untyped-def]
    return project.cli("send", now=now)


def _cut_then_killed(project, server) -> None:
    """Two digests queued; the first is cut after its data, `send` is killed -9 while it
    waits for the server's answer to the second."""
    project.write_settings(smtp_block(server.port))
    assert "digests: 2 queued" in project.cli("close-day", "--date", "2026-11-19", now=NOW).out
    server.recorder.script[:] = ["drop", "hang"]
    env = {k: v for k, v in os.environ.items() if k != "MAILFLOW_FAULT"}
    proc = subprocess.Popen([sys.executable, "-m", "mailflow", "--config",
                             str(project.settings), "--now", NOW, "send"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while server.recorder.data_seen < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.recorder.data_seen == 2, "the second digest never reached DATA"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    server.recorder.script[:] = []


def _unresolved_ids(out: str) -> list[str]:
    return sorted(line.split()[0] for line in out.splitlines() if line.startswith("  #"))


def test_a_cut_delivery_is_named_until_resolved(project, scripted):
    _cut_then_killed(project, scripted)
    rows = outbox_rows(project)
    assert sorted(r[1] for r in rows) == ["sending", "unknown"]
    # The next send settles the killed one (its data was written: unknown too) and names
    # both; the one after names both again: nothing is said once and then forgotten.
    named = []
    for minute in ("21:50", "21:55"):
        res = _send(project, f"2026-11-19T{minute}:00+08:00")
        assert "Traceback" not in res.out + res.err
        assert "unknown outcome, unresolved: 2 mail(s)" in res.err, res.err
        assert res.code == 1
        named.append(_unresolved_ids(res.err))
    assert named[0] == named[1] and len(named[0]) == 2
    assert scripted.recorder.messages == []            # nothing resent on its own
    # status: a line, and the key in --json
    status = project.cli("status", "--date", "2026-11-19", now="2026-11-19T21:55:00+08:00")
    [line] = [ln for ln in status.out.splitlines() if "unknown outcome" in ln]
    assert line.startswith("outbox: 2 mail(s) with unknown outcome")
    data = json.loads(project.cli("status", "--date", "2026-11-19", "--json",
                                  now="2026-11-19T21:55:00+08:00").out)
    unknown = data["unknown_deliveries"]
    assert [u["kind"] for u in unknown] == ["digest", "digest"]
    assert all(u["unknown_since"].startswith("2026-11-19T13:") for u in unknown)
    assert len({u["message_id"] for u in unknown}) == 2
    # HR's next mail lists them.
    hr = project.cli("hr-monthly", "--month", "2026-11", now="2026-12-01T09:00:00+08:00")
    assert hr.code == 0, hr.err
    listed = json.loads(project.cli("outbox", "list", "--state", "unknown", "--json",
                                    now="2026-12-01T09:00:00+08:00").out)["outbox"]
    assert len(listed) == 2
    first, second = listed
    res = _send(project, "2026-12-01T09:01:00+08:00")   # sends HR's mail
    hr_mail = [m for m in scripted.recorder.parsed() if "hr@example.com" in str(m["To"])]
    assert len(hr_mail) == 1
    body = hr_mail[0].get_body(("plain",)).get_content()
    assert "投递结果不明" in body and first["message_id"] in body \
        and second["message_id"] in body
    # Resolved: one sent again with its Message-ID, one marked sent by hand.
    res = project.cli("outbox", "resend", str(first["id"]), now="2026-12-01T09:05:00+08:00")
    assert res.code == 0 and "same Message-ID" in res.out
    res = project.cli("outbox", "mark-sent", str(second["id"]), now="2026-12-01T09:05:00+08:00")
    assert res.code == 0 and "recorded as sent" in res.out
    res = _send(project, "2026-12-01T09:06:00+08:00")
    assert res.out.startswith("1 sent") and "unresolved" not in res.err, res.err
    assert res.code == 0
    again = [m for m in scripted.recorder.parsed()
             if m["Message-ID"].strip("<>") == first["message_id"]]
    assert len(again) == 1
    status = project.cli("status", "--date", "2026-11-19", "--json",
                         now="2026-12-01T09:07:00+08:00")
    assert json.loads(status.out)["unknown_deliveries"] == []
    every = {r["id"]: r for r in json.loads(project.cli(
        "outbox", "list", "--json", now="2026-12-01T09:07:00+08:00").out)["outbox"]}
    assert every[first["id"]]["state"] == "sent" and every[first["id"]]["resends"] == 1
    assert "unknown: sent again by" in every[first["id"]]["resolution"]
    assert "unknown: marked sent by" in every[second["id"]]["resolution"]
    # A mail that is not unknown or failed cannot be resolved; a wrong id is named.
    res = project.cli("outbox", "resend", str(first["id"]), now="2026-12-01T09:08:00+08:00")
    assert res.code != 0 and "is sent, not unknown or failed" in res.err \
        and "Traceback" not in res.err
    res = project.cli("outbox", "mark-sent", "999", now="2026-12-01T09:08:00+08:00")
    assert res.code != 0 and "no outbox mail #999" in res.err


def test_on_unknown_resend_sends_it_once_more_with_its_message_id(project, scripted):
    project.write_settings(smtp_block(scripted.port) + 'on_unknown = "resend"\n'
                           "resend_after_minutes = 10\n")
    assert "digests: 2 queued" in project.cli("close-day", "--date", "2026-11-19", now=NOW).out
    scripted.recorder.script[:] = ["drop"]
    res = _send(project, NOW)
    assert "1 sent" in res.out and "unknown outcome, unresolved: 1 mail(s)" in res.err
    assert sorted(r[1] for r in outbox_rows(project)) == ["sent", "unknown"]
    # Before the delay: named, not resent.
    res = _send(project, "2026-11-19T21:50:00+08:00")
    assert res.out.startswith("0 sent") and "unresolved: 1 mail(s)" in res.err
    # After it: sent once more, with the same Message-ID; and if that is cut too, held.
    scripted.recorder.script[:] = ["drop"]
    res = _send(project, "2026-11-19T21:56:00+08:00")
    assert "sent once more with its Message-ID" in res.out, res.out
    assert scripted.recorder.data_seen == 3
    assert "unresolved: 1 mail(s)" in res.err
    res = _send(project, "2026-11-19T22:30:00+08:00")
    assert res.out.startswith("0 sent") and "sent once more" not in res.out
    assert scripted.recorder.data_seen == 3                  # held after one resend
    # The resend that got through is the same mail.
    scripted.recorder.script[:] = []
    listed = json.loads(project.cli("outbox", "list", "--state", "unknown", "--json",
                                    now="2026-11-19T22:30:00+08:00").out)["outbox"]
    assert len(listed) == 1 and listed[0]["resends"] == 1 and listed[0]["kind"] == "digest"


def test_a_bad_on_unknown_names_the_file_the_key_and_the_fix(project, scripted):
    project.write_settings(smtp_block(scripted.port) + 'on_unknown = "retry"\n')
    res = project.cli("check-config")
    assert res.code != 0 and "Traceback" not in res.out + res.err
    text = res.out + res.err
    assert "on_unknown" in text and '"hold"' in text and '"resend"' in text
    assert str(project.settings) in text or "settings.toml" in text


def test_the_service_names_them_when_it_starts(project, scripted, tmp_path, passwords,
                                               dovecot):
    _cut_then_killed(project, scripted)
    project.add_mailbox("hr", dovecot.port, "hr@example.com")
    assert "unresolved: 2 mail(s)" in _send(project, "2026-11-19T21:50:00+08:00").err
    log = tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items() if k != "MAILFLOW_FAULT"}
    proc = subprocess.Popen([sys.executable, "-m", "mailflow", "--config",
                             str(project.settings), "--now", "2026-11-19T22:00:00+08:00",
                             "run"], env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and \
                log.read_text(errors="replace").count("unknown outcome, unresolved") < 2:
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    out = log.read_text(errors="replace")
    assert "Traceback" not in out
    lines = [ln for ln in out.splitlines() if "unknown outcome, unresolved" in ln]
    assert len(lines) == 2 and all("mailflow outbox resend" in ln for ln in lines), out
