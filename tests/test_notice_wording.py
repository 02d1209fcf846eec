"""A rule-break notice reads as a person would write it in Chinese: no English detail,
and a fix that does not tell the sender to keep what caused the problem."""

from __future__ import annotations

import re

from conftest import report, smtp_block
from test_outbound import ingest, received, stamped

NOW = "2026-11-19T21:45:00+08:00"


def test_date_mismatch_notice_is_chinese_and_says_to_fix_the_subject(project, smtp_server):
    project.write_settings(smtp_block(smtp_server.port))
    raw = stamped(report(subject="工作日报 2026-11-13", message_id="old-date@example.com"),
                  received(19, 20, 0))
    res = ingest(project, raw, now=NOW)
    assert "notices queued: 1" in res.out
    assert project.cli("send", now=NOW).code == 0
    [msg] = smtp_server.recorder.parsed()
    body = msg.get_body(("plain",)).get_content()
    assert "标题里的日期 2026-11-13 比发送那天（2026-11-19）早了 3 个工作日以上" in body
    assert "把标题改成「工作日报 2026-11-19」再重新发送" in body
    assert "标题保持不变" not in body
    # Letters only in addresses, Message-IDs and the company's signature; every other
    # word is Chinese.
    text = re.sub(r"[\w.+-]+@[\w.-]+", "", body)
    assert re.findall(r"[A-Za-z]{2,}", text) == []
