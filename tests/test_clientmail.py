"""The client-style writers produce mail as the wire carries it: CRLF only, short lines,
and content that parses back without a lost character."""

import re
from pathlib import Path

import pytest

from conftest import report
from mailflow.testing.clientmail import CLIENTS
from mailflow.parsing.parse import parse_mail
from mailflow.config.policy import load_policy
from mailflow.judging.sections import extract

RULES = load_policy(Path(__file__).resolve().parent.parent / "rules").daily
LONG = (("今日工作", "参加产品培训，学习新品卖点。走访渠道客户，跟进年度框架合同，" * 3),
        ("客户拜访", "共拜访5家：宏远贸易、瑞丰科技、镕鑫电子"), ("销售额", "1.2万"),
        ("回款", "￥8,000.00"), ("问题与需求", "客户要求延长账期。"), ("明日计划", "跟进回款。"))


@pytest.mark.parametrize("client", CLIENTS)
def test_wire_form_and_round_trip(client):
    raw = report(client, sections=LONG)
    assert not re.search(rb"\r(?!\n)|(?<!\r)\n", raw)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    mail = parse_mail(raw)
    assert "\ufffd" not in mail.body and mail.warnings == ()
    out = extract(mail.body, RULES)
    assert out.fields["issues"] == "客户要求延长账期。"
    assert out.metrics == {"visits": 5, "sales": 12000, "collections": 8000}
