"""The dates of a leave mail in every form SPEC §5 lists, and a reply's own text."""

from datetime import date

import pytest

from mailflow.parsing.leavedates import LeaveDates, read_dates, read_line
from mailflow.parsing.replytext import own_text

ARRIVAL = date(2026, 12, 1)      # a Tuesday
HALF = ("上午", "下午", "半天")


@pytest.mark.parametrize("text,start,end,half", [
    ("请假 12月3日", date(2026, 12, 3), date(2026, 12, 3), False),
    ("请假 12月3号", date(2026, 12, 3), date(2026, 12, 3), False),
    ("病假 12月3日-12月5日", date(2026, 12, 3), date(2026, 12, 5), False),
    ("年假12月3日至5日", date(2026, 12, 3), date(2026, 12, 5), False),
    ("事假 12月3日到12月4日", date(2026, 12, 3), date(2026, 12, 4), False),
    ("请假 2026-12-03~2026-12-05", date(2026, 12, 3), date(2026, 12, 5), False),
    ("请假 2026-12-03至2026-12-05", date(2026, 12, 3), date(2026, 12, 5), False),
    ("请假 2026年12月3日", date(2026, 12, 3), date(2026, 12, 3), False),
    ("请假12.3-12.5", date(2026, 12, 3), date(2026, 12, 5), False),
    ("请假 12/3-12/5", date(2026, 12, 3), date(2026, 12, 5), False),
    ("请假 １２月３日～５日", date(2026, 12, 3), date(2026, 12, 5), False),   # full width
    ("今天请假", date(2026, 12, 1), date(2026, 12, 1), False),
    ("请假 明天", date(2026, 12, 2), date(2026, 12, 2), False),
    ("请假 后天", date(2026, 12, 3), date(2026, 12, 3), False),
    ("明天上午请假", date(2026, 12, 2), date(2026, 12, 2), True),
    ("请假 12月3日下午", date(2026, 12, 3), date(2026, 12, 3), True),
    ("请假半天 12月3日", date(2026, 12, 3), date(2026, 12, 3), True),
    ("年假 12月30日-1月2日", date(2026, 12, 30), date(2027, 1, 2), False),
    # A range of days is never a half day, whatever word is near it.
    ("请假 12月3日-12月4日 上午回来", date(2026, 12, 3), date(2026, 12, 4), False),
])
def test_every_form(text, start, end, half):
    assert read_line(text, ARRIVAL, HALF) == LeaveDates(start, end, half)


@pytest.mark.parametrize("text", ["请假", "请假申请", "销售额12.3万", "请假 13月40日",
                                  "请假 12月5日-12月3日"])
def test_no_date(text):
    assert read_line(text, ARRIVAL, HALF) is None


def test_year_is_the_nearest_to_the_arrival():
    assert read_line("请假 1月4日", date(2026, 12, 30)) == \
        LeaveDates(date(2027, 1, 4), date(2027, 1, 4))
    assert read_line("请假 12月31日", date(2027, 1, 2)) == \
        LeaveDates(date(2026, 12, 31), date(2026, 12, 31))


def test_subject_first_else_the_first_body_lines():
    body = "钱主管：\n\n我想请假 12月3日-12月4日，家里有事。\n\n谢谢！\n2026年12月9日"
    assert read_dates("请假申请", body, ARRIVAL, HALF) == \
        LeaveDates(date(2026, 12, 3), date(2026, 12, 4))
    assert read_dates("病假 12月7日", body, ARRIVAL, HALF) == \
        LeaveDates(date(2026, 12, 7), date(2026, 12, 7))
    # A half day said in the body halves the day the subject names, and the other way.
    assert read_dates("请假 12月3日", "下午去医院", ARRIVAL, HALF).half_day is True
    assert read_dates("请半天假", "12月3日", ARRIVAL, HALF).half_day is True
    # Only the first lines are read: a date far down (a signature) is no request.
    far = "\n".join(f"第{i}行" for i in range(8)) + "\n12月3日"
    assert read_dates("请假", far, ARRIVAL, HALF) is None


# -- a reply's own text ---------------------------------------------------------------

@pytest.mark.parametrize("client,text", [
    ("foxmail/qq", "同意\r\n\r\n\r\n------------------ 原始邮件 ------------------\r\n"
                   "发件人: \"韩梅\"<han.mei@example.com>\r\n主题: 病假 12月3日\r\n\r\n不同意也行"),
    ("outlook", "同意\r\n\r\n发件人: 韩梅 <han.mei@example.com>\r\n发送时间: 2026年12月1日 9:00\r\n"
                "收件人: 钱主管\r\n主题: 病假 12月3日\r\n\r\n不同意的话请告诉我"),
    ("outlook-en", "同意\n\n________________________________\nFrom: 韩梅\nSent: Tuesday\n不同意"),
    ("163", "同意\n\n在 2026-12-01 09:00:00，\"韩梅\" <han.mei@example.com> 写道：\n> 不同意"),
    ("gmail", "同意\n\nOn Tue, Dec 1, 2026 at 9:00 AM 韩梅 <han.mei@example.com> wrote:\n不同意"),
    ("qq-mobile", "同意\n\n韩梅 于 2026年12月1日 09:00 写道：\n不同意"),
    ("iphone", "同意\n\n发自我的iPhone\n\n> 在 2026年12月1日，09:00，韩梅 写道：\n> 不同意"),
    ("signature", "同意\n-- \n钱主管 不同意见请找人事"),
    ("quoted", "> 不同意\n同意"),
])
def test_own_text_drops_quotes_and_signatures(client, text):
    assert own_text(text) == "同意", client


def test_own_text_keeps_every_line_the_writer_typed():
    assert own_text("好的，\n批准。\n") == "好的，\n批准。"
    assert own_text("------------------ 原始邮件 ------------------\n同意") == ""
