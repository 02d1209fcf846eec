from pathlib import Path

import pytest

from mailflow.config.policy import load_policy
from mailflow.judging.sections import extract, parse_number

RULES = load_policy(Path(__file__).resolve().parent.parent / "rules").daily


@pytest.mark.parametrize("text,value", [
    ("12,000", 12000), ("1.2万", 12000), ("¥12000.00", 12000), ("￥12,800.00", 12800),
    ("３２００元", 3200), ("共拜访3家", 3), ("1.5w", 15000), ("0", 0), ("0.5万", 5000),
    ("合计 2.75", 2.75),
])
def test_numbers(text, value):
    assert parse_number(text) == value


def test_no_number():
    assert parse_number("无") is None


@pytest.mark.parametrize("heading", [
    "【今日工作】", "一、今日工作", "1. 今日工作:", "1、今日工作", "今日工作:", "今日工作：",
    "**今日工作**", "(一) 今日工作", "[今日工作]", "今日工作内容：",
])
def test_heading_forms(heading):
    text = f"{heading}\n走访渠道\n【明日计划】\n报价"
    out = extract(text, RULES)
    assert out.fields["work"] == "走访渠道"
    assert out.fields["plan"] == "报价"


def test_inline_heading_content_and_metrics():
    text = "今日工作：整理档案\n客户拜访：拜访客户数 2\n销售额：￥12,800.00\n回款：0\n明日计划：跟进"
    out = extract(text, RULES)
    assert out.metrics == {"visits": 2, "sales": 12800, "collections": 0}
    assert out.missing == ()


def test_missing_and_empty_required_sections():
    out = extract("【今日工作】\n走访\n【客户拜访】\n\n【销售额】\n100\n【回款】\n0", RULES)
    assert out.missing == ("客户拜访", "明日计划")


def test_content_line_that_merely_starts_with_a_heading_word_is_not_a_heading():
    out = extract("【销售额】\n今日销售额: 9,000\n【今日工作】\n无", RULES)
    assert out.fields["sales"] == "今日销售额: 9,000"
    assert out.metrics["sales"] == 9000
