"""No mail lost to a server that cannot be used: a wrong password, no connection, a TLS
failure, a refusal or a drop before the end of DATA all leave the mail to be sent later,
exactly once; only a drop after the end of DATA is an unknown outcome. Against aiosmtpd
with authentication on loopback (and Dovecot for `check-config --connect`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
import warnings

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

from mailflow.testing.embedded import free_port
from servers import Recorder, SmtpServer, imap_login
from test_outbound import outbox_rows

NOW = "2026-11-19T20:00:00+08:00"
LATER = "2026-11-19T20:50:00+08:00"    # past the first retries' backoff, before the deadline
USER = "reports@example.com"
ENV = "MAILFLOW_TEST_SMTP_PASSWORD"


class Misbehaving(Recorder):
    """A Recorder that can also answer or drop at MAIL, and hang up at the DATA command."""

    def __init__(self) -> None:
        super().__init__()
        self.mail_reply: str | None = None
        self.drop_at_mail = False
        self.drop_at_data = False

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if self.drop_at_mail:
            server.transport.close()
            return "421 closing"
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.drop_data:    # the whole message read, then no reply
            server.transport.close()
            return "421 closing"
        return await super().handle_DATA(server, session, envelope)


class _Smtp(SMTP):
    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802
        if getattr(self.event_handler, "drop_at_data", False) and self.envelope.rcpt_tos:
            self.transport.close()    # gone before a byte of the message is read
            return
        await super().smtp_DATA(arg)


class AuthServer:
    """aiosmtpd that requires a login (PLAIN/LOGIN over plain text on loopback) and counts
    the attempts."""

    def __init__(self, password: str = "right-password") -> None:
        self.recorder = Misbehaving()
        self.password = password
        self.logins: list[bool] = []
        self.port = free_port()

        def authenticate(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
            ok = auth_data.login == USER.encode() and \
                auth_data.password == self.password.encode()
            self.logins.append(ok)
            return AuthResult(success=ok, handled=False)

        class _Controller(Controller):
            def factory(inner):  # noqa: N805
                return _Smtp(inner.handler, **inner.SMTP_kwargs)

        # No TLS on loopback in the tests; aiosmtpd warns about exactly that.
        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
        self.controller = _Controller(self.recorder, hostname="127.0.0.1", port=self.port,
                                      authenticator=authenticate, auth_required=True,
                                      auth_require_tls=False)

    def start(self) -> "AuthServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def auth_server():
    server = AuthServer().start()
    yield server
    server.stop()


def smtp_login_block(port: int, *, security: str = "none", extra: str = "") -> str:
    return f"""
[smtp]
host = "127.0.0.1"
port = {port}
security = "{security}"
username = "{USER}"
password_env = "{ENV}"
sender = "日报助手 <{USER}>"
timeout = 5
{extra}"""


@pytest.fixture
def queued(project, auth_server, monkeypatch):
    """Four reminders queued (nobody has reported on 11-19 yet)."""
    project.write_settings(smtp_login_block(auth_server.port))
    res = project.cli("remind", "--date", "2026-11-19", now=NOW)
    assert "4 queued" in res.out, res.out
    return project


def states(project) -> list[str]:
    return sorted(r[1] for r in outbox_rows(project))


def delivered_ids(server) -> list[str]:
    return [m["Message-ID"] for m in server.recorder.parsed()]


def test_wrong_password_then_right_one_delivers_every_mail_once(queued, auth_server,
                                                                monkeypatch):
    monkeypatch.setenv(ENV, "wrong-password")
    res = queued.cli("send", now=NOW)
    assert res.code == 1 and "Traceback" not in res.err + res.out
    assert "0 sent" in res.out
    assert "4 mail(s) waiting for a working SMTP login, the oldest queued 2026-11-19 20:00" \
        in res.out
    assert f"refused the login as {USER} (535 " in res.out and f"${ENV}" in res.out
    assert states(queued) == ["pending"] * 4          # not `sending`, not `unknown`
    assert auth_server.logins == [False], "one failed login, not one per mechanism"
    # HR's daily view says the same, in one line.
    status = queued.cli("status", "--date", "2026-11-19", now=NOW)
    [line] = [ln for ln in status.out.splitlines() if ln.startswith("outbox:")]
    assert "4 mail(s) waiting for a working SMTP login" in line and "535" in line
    # A second try with the same wrong password changes nothing and consumes nothing.
    assert queued.cli("send", now="2026-11-19T20:05:00+08:00").code == 1
    assert states(queued) == ["pending"] * 4 and auth_server.recorder.messages == []
    monkeypatch.setenv(ENV, "right-password")
    res = queued.cli("send", now="2026-11-19T20:10:00+08:00")
    assert res.code == 0 and res.out.startswith("4 sent"), res.out + res.err
    assert "waiting" not in res.out
    assert queued.cli("send", now=LATER).out.startswith("0 sent")
    ids = delivered_ids(auth_server)
    assert len(ids) == 4 == len(set(ids))
    assert states(queued) == ["sent"] * 4
    status = queued.cli("status", "--date", "2026-11-19", now=LATER)
    assert "outbox:" not in status.out


def test_reminders_still_waiting_at_their_deadline_expire_instead_of_arriving_late(
        queued, auth_server, monkeypatch):
    """The login is fixed only after the day's 21:00 deadline: the four 20:00 reminders are
    of no use then (the day is closed, the people marked missing), so none is sent."""
    monkeypatch.setenv(ENV, "wrong-password")
    assert queued.cli("send", now="2026-11-19T20:30:00+08:00").code == 1
    assert states(queued) == ["pending"] * 4
    monkeypatch.setenv(ENV, "right-password")
    res = queued.cli("send", now="2026-11-19T21:40:00+08:00")
    assert res.code == 0, res.out + res.err
    assert res.out.startswith("0 sent") and "4 expired (not sent)" in res.out, res.out
    assert res.err.count("expired, not sent") == 4
    assert states(queued) == ["expired"] * 4 and auth_server.recorder.messages == []
    # What was due and is still of use goes out as before: the day's digests.
    assert queued.cli("close-day", "--date", "2026-11-19",
                      now="2026-11-19T21:45:00+08:00").code == 0
    res = queued.cli("send", now="2026-11-19T21:46:00+08:00")
    assert res.code == 0 and res.out.startswith("2 sent"), res.out + res.err
    assert states(queued) == ["expired"] * 4 + ["sent"] * 2


def test_run_with_a_wrong_password_says_so_once_and_loses_nothing(queued, auth_server,
                                                                  monkeypatch, dovecot,
                                                                  passwords):
    folder = "L" + uuid.uuid4().hex[:8]
    client = imap_login("127.0.0.1", dovecot.port, "hr@example.com", "secret-hr")
    client.create_folder(folder)
    client.logout()
    queued.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(folder,))
    notify = queued.root / "rules" / "notify.toml"
    notify.write_text(notify.read_text().replace("send_every_seconds = 30",
                                                 "send_every_seconds = 1"))
    log = queued.root / "run.log"
    env = {k: v for k, v in os.environ.items() if k != "MAILFLOW_FAULT"}
    env[ENV] = "wrong-password"
    proc = subprocess.Popen([sys.executable, "-m", "mailflow", "--config", str(queued.settings),
                             "--now", NOW, "run"], env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"))
    try:
        deadline = time.monotonic() + 30
        while len(auth_server.logins) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    text = log.read_text(errors="replace")
    assert len(auth_server.logins) >= 3 and not any(auth_server.logins), text
    assert "Traceback" not in text
    said = [ln for ln in text.splitlines() if "refused the login" in ln]
    assert len(said) == 1, text                  # once, not every cycle
    assert "mail waits" in said[0] and "535" in said[0]
    assert set(states(queued)) == {"pending"}
    monkeypatch.setenv(ENV, "right-password")
    res = queued.cli("send", now=LATER)
    assert res.code == 0 and "unknown" not in res.err, res.err
    ids = delivered_ids(auth_server)
    assert len(ids) == len(set(ids)) == len(states(queued)) >= 4
    assert set(states(queued)) == {"sent"}


def _refused_port() -> int:
    return free_port()     # nothing listens there


@pytest.mark.parametrize("case", ["connection refused", "tls", "451 at MAIL", "550 at MAIL",
                                  "550 at RCPT", "drop at MAIL", "drop at DATA"])
def test_every_failure_before_the_end_of_data_leaves_the_mail_to_retry(
        queued, auth_server, monkeypatch, case):
    monkeypatch.setenv(ENV, "right-password")
    rec = auth_server.recorder
    if case == "connection refused":
        queued.write_settings(smtp_login_block(_refused_port()))
    elif case == "tls":
        queued.write_settings(smtp_login_block(auth_server.port, security="ssl"))
    elif case == "451 at MAIL":
        rec.mail_reply = "451 4.3.0 try again later"
    elif case == "550 at MAIL":
        rec.mail_reply = "550 5.7.1 sender not allowed"
    elif case == "550 at RCPT":
        rec.refuse.update({a: "550 5.7.1 relaying denied" for a in (
            "feng.zhe@example.com", "han.mei@example.com", "zhao.lei@example.com",
            "li.na@example.com", "hr@example.com", "qian.zg@example.com",
            "sun.zg@example.com")})
    elif case == "drop at MAIL":
        rec.drop_at_mail = True
    elif case == "drop at DATA":
        rec.drop_at_data = True
    res = queued.cli("send", now=NOW)
    assert "Traceback" not in res.out + res.err
    assert "unknown" not in res.err, res.err
    assert rec.messages == []
    assert states(queued) == ["pending"] * 4, (res.out, res.err)
    rows = outbox_rows(queued)
    if case in ("connection refused", "tls"):
        assert res.code == 1 and "waiting for" in res.out
    else:   # the reason (the server's words) is kept on the row
        said = {"451 at MAIL": "MAIL FROM refused: 451 4.3.0", "550 at MAIL": "MAIL FROM "
                "refused: 550 5.7.1", "550 at RCPT": "every recipient refused", "drop at MAIL":
                "connection lost before the end", "drop at DATA": "connection lost before the end"}
        assert all(said[case] in r[4] for r in rows if r[4]) and any(r[4] for r in rows), rows
    if case == "tls":
        assert 'security = "starttls"' in res.out, res.out
    # The server is fixed: every mail goes out once.
    queued.write_settings(smtp_login_block(auth_server.port))
    rec.mail_reply, rec.drop_at_mail, rec.drop_at_data = None, False, False
    rec.refuse.clear()
    for minute in range(10, 60, 5):    # retries wait out their backoff, before the deadline
        queued.cli("send", now=f"2026-11-19T20:{minute:02d}:00+08:00")
    ids = delivered_ids(auth_server)
    assert len(ids) == 4 == len(set(ids)), (ids, outbox_rows(queued))
    assert states(queued) == ["sent"] * 4


def test_a_drop_after_the_end_of_data_is_an_unknown_outcome(queued, auth_server,
                                                           monkeypatch):
    monkeypatch.setenv(ENV, "right-password")
    auth_server.recorder.drop_data = True      # reads the whole message, then hangs up
    res = queued.cli("send", now=NOW)
    assert res.code == 1 and "Traceback" not in res.err
    assert "unknown outcome, not resent" in res.err and "after the whole message" in res.err
    assert "unknown" in states(queued)
    auth_server.recorder.drop_data = False
    queued.cli("send", now=LATER)
    unknown = [r for r in outbox_rows(queued) if r[1] == "unknown"]
    assert len(unknown) == 4 - len(auth_server.recorder.messages) >= 1


def test_starttls_against_a_tls_from_the_first_byte_port_names_ssl(project, monkeypatch):
    server = SmtpServer(tls="ssl").start()
    try:
        monkeypatch.setenv(ENV, "x")
        project.write_settings(smtp_login_block(server.port, security="starttls",
                                                extra=f'ca_file = "{server.cert}"\n')
                               .replace("timeout = 5", "timeout = 1"))
        project.cli("remind", "--date", "2026-11-19", now=NOW)
        res = project.cli("send", now=NOW)
        assert res.code == 1 and 'security = "ssl"' in res.out, res.out + res.err
        assert states(project) == ["pending"] * 4
    finally:
        server.stop()


def test_check_config_connect_names_each_server_that_fails(project, auth_server, dovecot,
                                                           passwords, monkeypatch):
    project.add_mailbox("hr", dovecot.port, "hr@example.com")
    project.add_mailbox("sup", dovecot.port, "qian.zg@example.com")
    project.write_settings(smtp_login_block(auth_server.port))
    monkeypatch.setenv(ENV, "right-password")
    offline = project.cli("check-config")
    assert offline.code == 0 and auth_server.logins == []    # no --connect: no connection
    ok = project.cli("check-config", "--connect")
    assert ok.code == 0, ok.out
    assert ok.out.count("ok: ") == 3 and "mailbox 'hr'" in ok.out and "SMTP" in ok.out
    assert auth_server.logins == [True]
    monkeypatch.setenv("MAILFLOW_TEST_SUP_PASSWORD", "wrong")
    monkeypatch.setenv(ENV, "wrong-password")
    bad = project.cli("check-config", "--connect")
    assert bad.code == 1 and "Traceback" not in bad.out + bad.err
    failed = [ln for ln in bad.out.splitlines() if ln.startswith("error: ")]
    assert len(failed) == 2, bad.out
    assert any("mailbox 'sup'" in ln and "qian.zg@example.com" in ln and "refused" in ln
               and "MAILFLOW_TEST_SUP_PASSWORD" in ln for ln in failed), failed
    assert any("SMTP" in ln and "refused the login" in ln and "535" in ln for ln in failed)
    assert "ok: mailbox 'hr'" in bad.out


def test_check_config_connect_opens_each_folder_and_names_the_servers_folders(
        project, dovecot, passwords):
    """Day one: the folder written as a mail client shows it (收件箱), not as the server
    names it (INBOX). --connect finds it, not the first poll."""
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=("收件箱",))
    res = project.cli("check-config", "--connect")
    assert res.code == 1 and "Traceback" not in res.out + res.err
    [line] = [ln for ln in res.out.splitlines() if ln.startswith("error: mailbox 'hr'")]
    assert "logged in, but" in line and "'收件箱' cannot be opened" in line
    assert "this server has: " in line and "INBOX" in line
    assert "mailbox hr:" not in line, "the mailbox is named once, at the start"
    poll = project.cli("poll", "--once")
    assert poll.code == 1 and poll.err.count("'收件箱' cannot be opened") == 1, poll.err
