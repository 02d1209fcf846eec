"""imap.py against the private Dovecot: TLS, read-only, UIDVALIDITY, size cap, since,
errors a user can act on, and a poll killed with SIGKILL at each step then rerun."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from conftest import report
from mailflow.inbound.imap import ImapError, _internaldate, collapse
from servers import deliver, imap_login

CST = timezone(timedelta(hours=8))


def folder() -> str:
    return "T" + uuid.uuid4().hex[:8]


def hr_client(server):
    return imap_login("127.0.0.1", server.port, "hr@example.com", "secret-hr")


def put(server, name: str, mails: list[tuple[bytes, datetime]]) -> None:
    client = hr_client(server)
    for raw, when in mails:
        deliver(client, name, raw, when)
    client.logout()


def mails_in_db(project) -> list[tuple]:
    engine = project.engine()
    with engine.connect() as conn:
        return list(conn.execute(text("select message_id, state from mails order by id")))


def n_reports(project) -> int:
    engine = project.engine()
    with engine.connect() as conn:
        return conn.execute(text("select count(*) from reports")).scalar_one()


def day_mails(n: int, day: int = 19, tag: str = "") -> list[tuple[bytes, datetime]]:
    out = []
    for i in range(n):
        when = datetime(2026, 11, day, 19, 0, tzinfo=CST) + timedelta(minutes=i)
        out.append((report(message_id=f"m{i}{tag}@example.com", date=when,
                           subject=f"工作日报 2026-11-{day}"), when))
    return out


def test_collapse_ranges():
    assert collapse([5, 1, 2, 3, 9, 10, 7]) == "1:3,5,7,9:10"
    assert collapse([42]) == "42"
    sparse = list(range(1, 200_000, 2))
    assert len(collapse(sparse).split(",")) == 100_000
    assert collapse(list(range(1, 100_001))) == "1:100000"


@pytest.mark.parametrize("value,expected", [
    (b"16-Nov-2026 18:00:00 +0800", datetime(2026, 11, 16, 18, 0, tzinfo=CST)),
    (b" 6-Nov-2026 08:05:09 +0800", datetime(2026, 11, 6, 8, 5, 9, tzinfo=CST)),   # RFC 3501
    (b"1-NOV-2026 23:59:59 -0130",
     datetime(2026, 11, 1, 23, 59, 59, tzinfo=timezone(-timedelta(hours=1, minutes=30)))),
    (b"31-Dec-2026 23:00:00 +0000", datetime(2027, 1, 1, 7, 0, tzinfo=CST)),
])
def test_internaldate_is_read_as_an_aware_time(value, expected):
    got = _internaldate(value)
    assert got == expected and got.utcoffset() is not None


@pytest.mark.parametrize("value", [b"31-Feb-2026 18:00:00 +0800", b"16-Nom-2026 18:00:00 +0800",
                                   b"16-Nov-2026 18:00 +0800", b"16-Nov-2026 18:00:00 0800",
                                   b"16-Nov-2026T18:00:00+0800", b""])
def test_an_unreadable_internaldate_is_named(value):
    with pytest.raises(ImapError, match="INTERNALDATE"):
        _internaldate(value)


@pytest.mark.parametrize("security,port_attr", [("ssl", "ssl_port"), ("starttls", "port")])
def test_tls_with_the_servers_ca(project, passwords, dovecot, security, port_attr):
    name = folder()
    put(dovecot, name, day_mails(2))
    project.add_mailbox("hr", getattr(dovecot, port_attr), "hr@example.com", security=security,
                        folders=(name,), extra=f'ca_file = "{dovecot.cert}"')
    # The certificate names 127.0.0.1, so the host is given as an address here.
    res = project.cli("poll", "--once")
    assert res.code == 0, res.err
    assert "2 fetched, 2 new" in res.out


def test_untrusted_certificate_is_a_clear_error(project, passwords, dovecot):
    project.add_mailbox("hr", dovecot.ssl_port, "hr@example.com", security="ssl")
    res = project.cli("poll", "--once")
    assert res.code == 1
    assert "cannot reach 127.0.0.1" in res.err and "CERTIFICATE_VERIFY_FAILED" in res.err
    assert "Traceback" not in res.err


def test_wrong_password_names_the_variable(project, passwords, dovecot, monkeypatch):
    monkeypatch.setenv("MAILFLOW_TEST_HR_PASSWORD", "wrong-one")
    project.add_mailbox("hr", dovecot.port, "hr@example.com")
    res = project.cli("poll", "--once")
    assert res.code == 1
    assert "login as hr@example.com" in res.err and "MAILFLOW_TEST_HR_PASSWORD" in res.err
    assert "wrong-one" not in res.err + res.out
    # The server's own words, as text: not the repr of the bytes imaplib holds them in.
    assert "refused ([AUTHENTICATIONFAILED] Authentication failed.)" in res.err
    assert "b'" not in res.err


def test_id_command_is_sent(project, passwords, dovecot):
    project.add_mailbox("hr", dovecot.port, "hr@example.com")
    assert project.cli("poll", "--once").code == 0
    log = (dovecot.root / "dovecot.log").read_text(errors="replace")
    assert 'ID sent: name=mailflow' in log


def test_uidvalidity_change_resyncs_without_duplicates(project, passwords, dovecot):
    name = folder()
    first = day_mails(3)
    put(dovecot, name, first)
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(name,))
    assert "3 new" in project.cli("poll", "--once").out
    client = hr_client(dovecot)
    old = client.select_folder(name)[b"UIDVALIDITY"]
    client.close_folder()
    client.delete_folder(name)
    client.logout()
    # The folder is rebuilt (a server migration does this): same mail plus one more.
    put(dovecot, name, first + day_mails(1, tag="new"))
    client = hr_client(dovecot)
    assert client.select_folder(name, readonly=True)[b"UIDVALIDITY"] != old
    client.logout()
    res = project.cli("poll", "--once")
    assert "4 fetched, 1 new, 3 already recorded" in res.out
    assert len(mails_in_db(project)) == 4 and n_reports(project) == 4


def test_oversized_mail_is_fetched_in_part_and_still_judged(project, passwords, dovecot):
    name = folder()
    when = datetime(2026, 11, 19, 20, 0, tzinfo=CST)
    text_part = report(message_id="big@example.com", date=when, subject="工作日报 2026-11-19")
    head, body = text_part.split(b"\r\n\r\n", 1)
    big = (head.replace(b"Content-Type: text/plain; charset=gbk",
                        b'Content-Type: multipart/mixed; boundary="XX"')
           .replace(b"Content-Transfer-Encoding: 8bit\r\n", b"")
           + b"\r\n\r\n--XX\r\nContent-Type: text/plain; charset=gbk\r\n"
             b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body
           + b"\r\n--XX\r\nContent-Type: application/octet-stream; name=big.bin\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\n" + (b"A" * 76 + b"\r\n") * 4000
           + b"--XX--\r\n")
    put(dovecot, name, [(big, when)])
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(name,),
                        extra="max_message_bytes = 20000")
    assert project.cli("poll", "--once").code == 0
    engine = project.engine()
    with engine.connect() as conn:
        size, truncated, state, warnings = conn.execute(
            text("select size, truncated, state, warnings from mails")).one()
    assert size > 300_000 and truncated == 1 and state == "processed"
    assert "size cap" in str(warnings)   # JSON: text on SQLite, a list on PostgreSQL
    status = json.loads(project.cli("status", "--date", "2026-11-19", "--json",
                                    now="2026-11-20T09:00+08:00").out)
    feng = next(p for p in status["people"] if p["email"] == "feng.zhe@example.com")
    assert feng["status"] == "on_time"


def test_mails_longer_than_their_head_are_continued_together(dovecot):
    """A FETCH brings each mail's head, a share of the batch budget; the rest of the
    longer ones comes in one more FETCH for all of them (a mail over the cap alone, cut
    at the cap), not one each. Every mail arrives whole, in UID order."""
    from mailflow.config.settings import Mailbox
    from mailflow.inbound import imap

    name = folder()
    mails = day_mails(150)
    pad = b"\r\n".join([b"A" * 76] * 1300)            # ~100 KB: past a 53 KB head
    for i in (3, 40, 41, 97, 149):
        raw, when = mails[i]
        mails[i] = (raw.rstrip(b"\r\n") + b"\r\n" + pad + b"\r\n", when)
    over = mails[60][0].rstrip(b"\r\n") + b"\r\n" + pad * 3 + b"\r\n"   # ~300 KB
    mails[60] = (over, mails[60][1])
    put(dovecot, name, mails)
    box = Mailbox(name="hr", host="127.0.0.1", port=dovecot.port, security="none",
                  username="hr@example.com", password_env="X", folders=(name,),
                  max_message_bytes=200_000)
    client = imap.connect(box, "secret-hr")
    fetches = []
    real = client._ask
    client._ask = lambda uids, items: fetches.append(items) or real(uids, items)
    try:
        got = [m for batch in imap.fetch_new(client, box, name, None) for m in batch.mails]
    finally:
        client.logout()
    assert [m.uid for m in got] == sorted(m.uid for m in got) and len(got) == 150
    for i, m in enumerate(got):
        raw = mails[i][0].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if i == 60:
            assert m.truncated and m.data == raw[:200_000] and m.size == len(raw)
        else:
            assert not m.truncated and m.data == raw, i
    assert len(fetches) == 3, fetches    # the heads, the five rests, the capped one


def test_the_next_fetch_asks_for_as_much_as_the_mail_before_was_long(dovecot):
    """After a chunk of mail longer than its share, the next chunk asks for heads as long
    as the longest mail seen (fewer mails per FETCH, the same bytes), so they come whole
    in one answer: no second FETCH for their rests."""
    from mailflow.config.settings import Mailbox
    from mailflow.inbound import imap

    name = folder()
    pad = b"\r\n".join([b"B" * 76] * 700)            # ~54 KB: past the 41 KB share of 200
    mails = [(raw.rstrip(b"\r\n") + b"\r\n" + pad + b"\r\n", when)
             for raw, when in day_mails(260)]
    put(dovecot, name, mails)
    box = Mailbox(name="hr", host="127.0.0.1", port=dovecot.port, security="none",
                  username="hr@example.com", password_env="X", folders=(name,))
    client = imap.connect(box, "secret-hr")
    fetches = []
    real = client._ask
    client._ask = lambda uids, items: fetches.append((len(uids), items)) or real(uids, items)
    try:
        got = [m for batch in imap.fetch_new(client, box, name, None) for m in batch.mails]
    finally:
        client.logout()
    assert [m.data for m in got] == [raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                                     for raw, _ in mails]
    longest = max(len(m.data) for m in got[:200])
    assert fetches == [(200, f"(UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.{8 * 2**20 // 200}>)"),
                       (200, f"(UID BODY.PEEK[]<{8 * 2**20 // 200}.{box.max_message_bytes - 8 * 2**20 // 200}>)"),
                       (60, f"(UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.{longest}>)")]


@pytest.mark.parametrize("server_name", ["dovecot", "embedded"])
def test_a_sync_stopped_early_leaves_the_connection_in_step(request, server_name):
    """The next chunk's FETCH is sent before the caller has the batch before it (the
    server reads ahead while the caller records), on Dovecot as on the demo's server. A
    caller that stops there (a poll told to stop) leaves nothing unread: the next
    command on the connection works."""
    from mailflow.config.settings import Mailbox
    from mailflow.inbound import imap

    dovecot = request.getfixturevalue(server_name)
    name = folder()
    mails = day_mails(30)
    put(dovecot, name, mails)
    box = Mailbox(name="hr", host="127.0.0.1", port=dovecot.port, security="none",
                  username="hr@example.com", password_env="X", folders=(name,),
                  fetch_batch=10)
    client = imap.connect(box, "secret-hr")
    try:
        client.examine(box, name)
        uids = sorted(client.search("ALL"))
        assert len(uids) == 30
        sync = imap.fetch_new(client, box, name, None)
        first = next(sync)
        assert [m.uid for m in first.mails] == uids[:10]
        assert client._imap.tagged_commands, "the next chunk was asked for ahead"
        sync.close()
        assert not client._imap.tagged_commands
        assert client.fetch_bodies([uids[24]]) == {
            uids[24]: mails[24][0].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")}
        rest = [m.uid for b in imap.fetch_new(client, box, name,
                                              imap.Cursor(first.uidvalidity, uids[9]))
                for m in b.mails]
        assert rest == uids[10:]
    finally:
        client.logout()


def test_news_inside_a_fetch_answer_is_kept_for_the_next_poll(dovecot):
    """Mail appended by another connection is reported (* n EXISTS) inside the answer to
    the next FETCH; the fetch still returns exactly what it asked for, and the next poll
    knows new mail came. A FETCH the server refuses is an error, not an empty batch."""
    from imapclient.exceptions import IMAPClientError
    from mailflow.config.settings import Mailbox
    from mailflow.inbound import imap

    name = folder()
    mails = day_mails(3)
    put(dovecot, name, mails)
    box = Mailbox(name="hr", host="127.0.0.1", port=dovecot.port, security="none",
                  username="hr@example.com", password_env="X", folders=(name,))
    client = imap.connect(box, "secret-hr")
    try:
        client.examine(box, name)
        client.saw_new_mail()
        put(dovecot, name, day_mails(1, tag="late"))
        heads = client.heads(client.ask_heads([1, 2, 3], 1000), [1, 2, 3])
        assert sorted(heads) == [1, 2, 3]
        assert [h[1] for h in (heads[1], heads[2], heads[3])] == \
            [datetime(2026, 11, 19, 19, i, tzinfo=CST) for i in range(3)]
        assert [heads[i + 1][2] for i in range(3)] == \
            [raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")[:1000] for raw, _ in mails]
        assert client.saw_new_mail()
        assert sorted(client.fetch_bodies([4])) == [4]
        with pytest.raises(IMAPClientError, match="fetch failed"):
            client._uid_fetch([1], "(UID BODY.PEEK[]<0.x>)")
        assert sorted(client.fetch_bodies([1, 2])) == [1, 2]   # still in step afterwards
    finally:
        client.logout()


def test_first_sync_since(project, passwords, dovecot):
    name = folder()
    put(dovecot, name, day_mails(2, day=10, tag="old") + day_mails(2, day=19))
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(name,),
                        extra='since = "2026-11-15"')
    assert "2 fetched, 2 new" in project.cli("poll", "--once").out


def test_server_that_never_answers_times_out(project, passwords):
    import socket
    import threading
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held = []
    threading.Thread(target=lambda: held.append(listener.accept()), daemon=True).start()
    project.add_mailbox("hr", listener.getsockname()[1], "hr@example.com", timeout=1.5)
    started = time.monotonic()
    res = project.cli("poll", "--once")
    elapsed = time.monotonic() - started
    listener.close()
    assert res.code == 1 and "cannot reach 127.0.0.1" in res.err
    assert elapsed < 10


def test_a_year_the_calendar_package_does_not_know_is_judged(project):
    from conftest import report
    raw = report(subject="日报 2031-03-03",
                 date=datetime(2031, 3, 3, 20, 0, tzinfo=CST), message_id="future@example.com")
    path = project.root / "future.eml"
    path.write_bytes(b"Received: from a by mx; Mon, 3 Mar 2031 20:00:00 +0800\r\n" + raw)
    res = project.cli("ingest", str(path), now="2031-03-03T20:05:00+08:00")
    assert res.code == 0, res.err
    assert mails_in_db(project) == [("future@example.com", "processed")]


def test_error_text_decodes_the_replies_imaplib_keeps_as_bytes():
    import imaplib

    from imapclient.exceptions import IMAPClientError, LoginError

    from mailflow.inbound.imap import error_text

    # Each error built the way imaplib and imapclient build it from a server's reply.
    login = LoginError(str(imaplib.IMAP4.error(b"[AUTHENTICATIONFAILED] Authentication failed.")))
    assert error_text(login) == "[AUTHENTICATIONFAILED] Authentication failed."
    assert error_text(imaplib.IMAP4.error("密码错误".encode())) == "密码错误"
    assert error_text(LoginError(str(imaplib.IMAP4.error("授权码错误".encode("gb18030"))))) \
        == "授权码错误"
    fetch = IMAPClientError("FETCH command error: BAD [b'Error in IMAP command', b\"it's\"]")
    assert error_text(fetch) == "FETCH command error: BAD [Error in IMAP command, it's]"
    assert error_text(OSError("[Errno 111] Connection refused")) == "[Errno 111] Connection refused"


@pytest.mark.parametrize("server_name", ["dovecot", "embedded"])
def test_a_second_poll_on_a_kept_open_folder_sees_mail_appended_between(
        project, passwords, request, server_name):
    """The service's watchers and the demo keep a folder open between polls; a server may
    hold new mail back from an open folder until NOOP (RFC 3501 allows it; pymap does), so
    each poll must make it report: a report appended between two polls is fetched by the
    second one, not at some later command."""
    from mailflow.inbound import imap
    from mailflow.app import load_app
    from mailflow.service.pipeline import poll_open

    server = request.getfixturevalue(server_name)
    name = folder()
    put(server, name, day_mails(1, tag="a"))
    project.add_mailbox("hr", server.port, "hr@example.com", folders=(name,))
    app = load_app(project.settings, "2026-11-19T19:30:00+08:00")
    [box] = app.settings.mailboxes
    client = imap.connect(box, box.password())
    try:
        assert poll_open(app, [(client, box)]).new == 1
        put(server, name, [(raw, when + timedelta(minutes=30))
                           for raw, when in day_mails(1, tag="b")])
        app.fixed_now = datetime(2026, 11, 19, 20, 0, tzinfo=CST)
        second = poll_open(app, [(client, box)])
        assert (second.fetched, second.new) == (1, 1)
        assert poll_open(app, [(client, box)]).fetched == 0
    finally:
        client.logout()
    assert len(mails_in_db(project)) == 2
