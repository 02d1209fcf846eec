"""A reply's own text (parsing/replytext.py): what each client puts under or around the
writer's words is removed, the words are kept."""

from __future__ import annotations

from mailflow.parsing.htmltext import html_to_text
from mailflow.parsing.replytext import own_text


def test_greater_than_quoting_is_removed():
    text = "收到，明天把报价发给客户。\n\n> 【今日工作】\n> 拜访客户3家\n>\n> 冯喆\n"
    assert own_text(text) == "收到，明天把报价发给客户。"


def test_foxmail_and_qq_original_mail_block():
    text = ("已阅，回款要盯紧。\n\n\n------------------ 原始邮件 ------------------\n"
            "发件人: \"冯喆\"<feng.zhe@example.com>;\n发送时间: 2026年12月3日(星期四) 晚上9:05\n"
            "收件人: \"钱主管\"<qian.zg@example.com>;\n主题: 日报 2026-12-03\n\n【今日工作】\n拜访")
    assert own_text(text) == "已阅，回款要盯紧。"


def test_outlook_header_block_in_plain_and_in_html_only_replies():
    plain = ("好的，周五前把合同寄出。\n\n________________________________\n"
             "发件人: 冯喆 <feng.zhe@example.com>\n发送时间: 2026年12月3日 21:05\n"
             "收件人: 钱主管 <qian.zg@example.com>\n主题: 日报 2026-12-03\n\n【今日工作】")
    assert own_text(plain) == "好的，周五前把合同寄出。"
    html = ('<html><body><div class="WordSection1"><p class="MsoNormal">辛苦了，'
            '竞品价格再核实一下。<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
            '<div style="border:none;border-top:solid #E1E1E1 1.0pt"><p class="MsoNormal">'
            '<b>发件人:</b> 冯喆 &lt;feng.zhe@example.com&gt; <br><b>发送时间:</b> '
            '2026年12月3日 21:05<br><b>收件人:</b> 钱主管<br><b>主题:</b> 日报 2026-12-03</p>'
            '</div><table><tr><td>今日工作</td><td>拜访客户3家</td></tr></table></div>'
            '</body></html>')
    assert own_text(html_to_text(html)) == "辛苦了，竞品价格再核实一下。"
    one_line = "同意。\n发件人: 冯喆 发送时间: 2026年12月3日 21:05 收件人: 钱主管\n【今日工作】"
    assert own_text(one_line) == "同意。"
    english = "OK\n\nFrom: Feng Zhe <feng.zhe@example.com>\nSent: Thursday\nTo: Qian\n"
    assert own_text(english) == "OK"


def test_wrote_attributions_chinese_and_english_also_wrapped():
    assert own_text("看过了。\n\n在 2026年12月3日 21:05，冯喆 <feng.zhe@example.com> 写道：\n"
                    "> 【今日工作】") == "看过了。"
    assert own_text("已阅\n冯喆 <feng.zhe@example.com> 于2026年12月3日 周四 21:05写道：\n"
                    "【今日工作】") == "已阅"
    assert own_text("Fine.\n\nOn Thu, Dec 3, 2026 at 9:05 PM 冯喆 <feng.zhe@example.com>\n"
                    "wrote:\n\n> text") == "Fine."
    assert own_text("Noted.\nOn Thu, 3 Dec 2026 21:05 Feng wrote:\n> x") == "Noted."


def test_phone_and_dash_signatures():
    assert own_text("收到\n\n发自我的iPhone\n\n在 2026年12月3日，21:05，冯喆 写道：\n> x") == "收到"
    assert own_text("好的\n\n发自网易邮箱大师\n---- 回复的原邮件 ----") == "好的"
    assert own_text("可以\n-- \n钱主管 华东区域\n电话 138") == "可以"
    assert own_text("Sure\n\nSent from my Huawei phone") == "Sure"


def test_the_writers_own_lines_stay_as_written():
    text = "\n\n1. 回款再跟一下\n2. 明天拜访A客户前先电话确认\n   带上样品\n\n"
    assert own_text(text) == "1. 回款再跟一下\n2. 明天拜访A客户前先电话确认\n   带上样品"
    assert own_text("") == ""
    # A line merely mentioning 'From:' inside the writer's text is not a header block.
    assert own_text("From: 客户那边说下周签\n明天去") == "From: 客户那边说下周签\n明天去"
