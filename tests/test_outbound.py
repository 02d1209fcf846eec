"""Reminders, rule-break notices and digests: queued once, delivered once, to exactly the
right people, against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from email.utils import getaddresses

import pytest
from sqlalchemy import text

from conftest import ON_POSTGRES, report, smtp_block
from week import CST

NOW = "2026-11-19T21:45:00+08:00"


def addrs(msg, header):
    return sorted(a for _, a in getaddresses(msg.get_all(header, [])))


def outbox_rows(project):
    engine = project.engine()
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "select kind, state, to_addrs, cc_addrs, last_error from outbox order by id"))]


@pytest.fixture
def outbound(project, smtp_server):
    project.write_settings(smtp_block(smtp_server.port))
    return project


def ingest(project, *mails, now=NOW):
    folder = project.root / "in"
    folder.mkdir(exist_ok=True)
    for i, raw in enumerate(mails):
        (folder / f"{len(list(folder.iterdir()))}-{i}.eml").write_bytes(raw)
    res = project.cli("ingest", str(folder), now=now)
    assert res.code == 0, res.err
    return res


def received(day, hh, mm=0):
    from datetime import datetime
    return datetime(2026, 11, day, hh, mm, tzinfo=CST)


def stamped(raw: bytes, when) -> bytes:
    from email.utils import format_datetime
    return f"Received: from client by mx.example.com; {format_datetime(when)}\r\n".encode() + raw


def test_notice_to_the_sender_only_saying_how_to_fix(outbound, smtp_server):
    raw = stamped(report("foxmail", to=(("钱主管", "qian.zg@example.com"), ("人事部", "hr@example.com")),
                         cc=(), subject="工作日报 2026-11-19", message_id="n1@example.com",
                         sections=(("今日工作", "<script>alert(1)</script>拜访"),
                                   ("客户拜访", "2家"), ("销售额", "100"), ("回款", "0"))),
                  received(19, 20, 0))
    res = ingest(outbound, raw)
    assert "notices queued: 1" in res.out
    assert outbound.cli("send", now=NOW).code == 0
    [msg] = smtp_server.recorder.parsed()
    assert addrs(msg, "To") == ["feng.zhe@example.com"] and addrs(msg, "Cc") == []
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Reply-To"] == "hr@example.com"
    assert "工作日报 2026-11-19" in msg["Subject"]
    body = msg.get_body(("plain",)).get_content()
    assert "人事 hr@example.com 在收件人（To）里" in body
    assert "缺少「明日计划」" in body
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html


def test_no_notice_for_late_alone_nor_for_old_mail(outbound, smtp_server):
    late = stamped(report(subject="工作日报 2026-11-19", message_id="late@example.com"),
                   received(19, 21, 30))
    res = ingest(outbound, late)
    assert "notices queued: 0" in res.out
    old = stamped(report(subject="工作日报 2026-11-17", message_id="old@example.com", cc=()),
                  received(17, 20, 0))
    res = ingest(outbound, old)
    assert "hr_not_cc 1" in res.out and "notices queued: 0" in res.out


def test_reminders_once_and_not_after_the_deadline(outbound, smtp_server):
    ingest(outbound, stamped(report(subject="工作日报 2026-11-19", message_id="r1@example.com"),
                             received(19, 19, 0)), now="2026-11-19T20:00:00+08:00")
    first = outbound.cli("remind", "--date", "2026-11-19", now="2026-11-19T20:00:00+08:00")
    assert "3 queued" in first.out
    again = outbound.cli("remind", "--date", "2026-11-19", now="2026-11-19T20:05:00+08:00")
    assert "0 queued, 3 already queued" in again.out
    late = outbound.cli("remind", "--date", "2026-11-20", now="2026-11-20T21:10:00+08:00")
    assert "has passed" in late.out and "none queued" in late.out
    assert outbound.cli("send", now="2026-11-19T20:01:00+08:00").code == 0
    assert outbound.cli("send", now="2026-11-19T20:02:00+08:00").out.startswith("0 sent")
    to = sorted(addrs(m, "To")[0] for m in smtp_server.recorder.parsed())
    assert to == ["han.mei@example.com", "li.na@example.com", "zhao.lei@example.com"]
    body = smtp_server.recorder.parsed()[0].get_body(("plain",)).get_content()
    assert "21:00" in body and "抄送人事 hr@example.com" in body


def test_digest_per_supervisor_with_hr_in_cc_during_transition(outbound, smtp_server):
    ingest(outbound,
           stamped(report(subject="工作日报 2026-11-19", message_id="d1@example.com"),
                   received(19, 20, 0)),
           stamped(report(from_name="韩梅", from_addr="han.mei@example.com", cc=(),
                          subject="工作日报 2026-11-19", message_id="d2@example.com"),
                   received(19, 21, 20)))
    res = outbound.cli("close-day", "--date", "2026-11-19", now=NOW)
    assert "2 queued" in res.out
    assert "0 queued, 2 already queued" in outbound.cli("close-day", "--date", "2026-11-19",
                                                        now=NOW).out
    assert outbound.cli("send", now=NOW).code == 0
    digests = {addrs(m, "To")[0]: m for m in smtp_server.recorder.parsed()
               if "日清" in m["Subject"]}
    assert sorted(digests) == ["qian.zg@example.com", "sun.zg@example.com"]
    qian = digests["qian.zg@example.com"]
    assert addrs(qian, "Cc") == ["hr@example.com"]
    assert "2026-11-19" in qian["Subject"] and "已交 2/2" in qian["Subject"]
    text_body = qian.get_body(("plain",)).get_content()
    assert "冯喆：按时（20:00）" in text_body and "韩梅：迟交（21:20）；人事未抄送" in text_body
    assert "需要样品支持" in text_body            # 问题与需求 of the day
    assert "销售额 24,000" in text_body            # 12,000 + 12,000
    sun = digests["sun.zg@example.com"]
    assert "未交 2" in sun["Subject"]              # 赵磊 and 李娜 sent nothing


def test_no_hr_copy_after_the_transition(outbound, smtp_server):
    notify = outbound.root / "rules" / "notify.toml"
    notify.write_text(notify.read_text().replace('hr_assist_until = "2026-12-31"',
                                                 'hr_assist_until = "2026-11-18"'))
    outbound.cli("close-day", "--date", "2026-11-19", now=NOW)
    outbound.cli("send", now=NOW)
    assert all(addrs(m, "Cc") == [] for m in smtp_server.recorder.parsed())
    assert len(smtp_server.recorder.parsed()) == 2


def test_crlf_in_a_display_name_cannot_inject_headers(outbound, smtp_server):
    roster = outbound.root / "roster.csv"
    roster.write_text(roster.read_text().replace("冯喆,sales", '"冯喆\r\nBcc: evil@x.example",sales'))
    outbound.cli("remind", "--date", "2026-11-19", now="2026-11-19T20:00:00+08:00")
    outbound.cli("send", now="2026-11-19T20:00:00+08:00")
    raw = b"".join(m[2] for m in smtp_server.recorder.messages)
    assert b"\nBcc:" not in raw
    assert all("evil@x.example" not in rcpts for _, rcpts, _ in smtp_server.recorder.messages)


def test_4xx_is_retried_and_5xx_recorded_with_the_servers_words(outbound, smtp_server):
    outbound.cli("close-day", "--date", "2026-11-19", now=NOW)
    smtp_server.recorder.fail_next = ["451 4.3.0 try again later", "554 5.7.1 policy says no"]
    res = outbound.cli("send", now=NOW)
    assert res.code == 1
    assert "0 sent, 1 to retry, 1 failed" in res.out
    assert "554 5.7.1 policy says no" in res.err
    states = sorted(r[1] for r in outbound_rows(outbound))
    assert states == ["failed", "pending"]
    # Not yet: the retry waits (backoff). After it, it goes out, once.
    assert outbound.cli("send", now=NOW).out.startswith("0 sent")
    later = outbound.cli("send", now="2026-11-19T21:50:00+08:00")
    assert later.out.startswith("1 sent")
    assert len(smtp_server.recorder.messages) == 1


def outbound_rows(project):
    return outbox_rows(project)


def test_one_refused_recipient_does_not_resend_to_the_others(outbound, smtp_server):
    smtp_server.recorder.refuse["hr@example.com"] = "550 5.1.1 no such user"
    outbound.cli("close-day", "--date", "2026-11-19", now=NOW)
    res = outbound.cli("send", now=NOW)
    assert "2 sent" in res.out and "hr@example.com: 550 5.1.1 no such user" in res.out
    assert outbound.cli("send", now="2026-11-20T09:00:00+08:00").out.startswith("0 sent")
    assert [sorted(r) for _, r, _ in smtp_server.recorder.messages] == [
        ["qian.zg@example.com"], ["sun.zg@example.com"]]


def test_message_ids_are_deterministic(outbound, smtp_server, tmp_path):
    outbound.cli("close-day", "--date", "2026-11-19", now=NOW)
    outbound.cli("send", now=NOW)
    first = sorted(m["Message-ID"] for m in smtp_server.recorder.parsed())
    outbound.write_settings(database=outbound.new_database() if ON_POSTGRES
                            else "sqlite:///second.db")
    outbound.cli("close-day", "--date", "2026-11-19", now=NOW)
    outbound.cli("send", now=NOW)
    second = sorted(m["Message-ID"] for m in smtp_server.recorder.parsed()[2:])
    assert first == second and all(m.startswith("<digest.") for m in first)


def test_check_config_renders_every_template(outbound):
    assert outbound.cli("check-config").code == 0
    (outbound.root / "templates" / "digest.txt.j2").write_text("{{ no_such_name }}")
    res = outbound.cli("check-config")
    assert res.code == 1 and "digest templates" in res.out and "no_such_name" in res.out


def test_status_json_unchanged_by_sending(outbound, smtp_server):
    outbound.cli("close-day", "--date", "2026-11-19", now=NOW)
    before = json.loads(outbound.cli("status", "--date", "2026-11-19", "--json", now=NOW).out)
    outbound.cli("send", now=NOW)
    after = json.loads(outbound.cli("status", "--date", "2026-11-19", "--json", now=NOW).out)
    assert before == after


def test_two_senders_at_once_never_send_a_row_twice(outbound, smtp_server):
    """Both processes claim rows from one outbox (SKIP LOCKED on PostgreSQL, the write lock
    on SQLite); every row goes out exactly once and neither calls the other's row lost."""
    roster = outbound.root / "roster.csv"
    extra = "".join(f"s{i}@example.com,业务{i},sales,华东,qian.zg@example.com,2025-01-01,,no\n"
                    for i in range(60))
    roster.write_text(roster.read_text(encoding="utf-8") + extra, encoding="utf-8")
    outbound.cli("remind", "--date", "2026-11-19", now="2026-11-19T20:00:00+08:00")
    env = {k: v for k, v in os.environ.items() if k != "MAILFLOW_FAULT"}
    cmd = [sys.executable, "-m", "mailflow", "--config", str(outbound.settings), "--now",
           "2026-11-19T20:01:00+08:00", "send"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    sent = [int(out.split()[0]) for out, _ in outs]
    assert sum(sent) == 64 and all("unknown" not in err for _, err in outs)
    ids = [m["Message-ID"] for m in smtp_server.recorder.parsed()]
    assert len(ids) == 64 == len(set(ids))


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_delivery_over_tls_with_the_servers_ca(project, tls):
    from servers import SmtpServer
    server = SmtpServer(tls=tls)
    server.controller.start() if tls == "starttls" else server.start()
    try:
        block = smtp_block(server.port).replace('security = "none"', f'security = "{tls}"')
        project.write_settings(block + f'ca_file = "{server.cert}"\n')
        project.cli("close-day", "--date", "2026-11-19", now=NOW)
        res = project.cli("send", now=NOW)
        assert res.code == 0 and res.out.startswith("2 sent"), res.err
        assert len(server.recorder.messages) == 2
        # Without the CA the certificate is not trusted: nothing is sent, all is kept, and
        # the message names the fix.
        project.write_settings(block)
        project.cli("close-day", "--date", "2026-11-18", now=NOW)
        res = project.cli("send", now=NOW)
        print(res.out)
        assert res.code == 1 and "CERTIFICATE_VERIFY_FAILED" in res.out
        assert '[smtp] ca_file = "/path/to/ca.pem"' in res.out
        assert "2 mail(s) waiting for a working TLS connection" in res.out
        assert len(server.recorder.messages) == 2
        assert [r[1] for r in outbox_rows(project)] == ["sent", "sent", "pending", "pending"]
    finally:
        server.stop()


def test_lanes_of_one_sender_never_take_each_others_mail(project, smtp_server):
    """Four connections, and one recipient's server slow to answer: the other lanes run
    out of mail and look for rows a dead sender left. The slow lane's row is this
    process's own, in hand: it is not taken again, and each mail goes out once."""
    from mailflow.testing.settings import smtp_block as block
    project.write_settings(block(smtp_server.port, timeout=10, connections=4))
    smtp_server.recorder.slow_rcpt["qian.zg@example.com"] = 2.0
    project.cli("close-day", "--date", "2026-11-19", now=NOW)
    res = project.cli("send", now=NOW)
    assert res.code == 0 and res.out.startswith("2 sent, 0 to retry, 0 failed, 0 with "
                                                "unknown"), res.out + res.err
    ids = [m["Message-ID"] for m in smtp_server.recorder.parsed()]
    assert len(ids) == 2 and len(set(ids)) == 2
    assert [r[1] for r in outbox_rows(project)] == ["sent", "sent"]
