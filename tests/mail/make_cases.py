"""Writes the case fixtures in tests/mail/ (run from the project root to regenerate).

Most are written by mailflow.testing.clientmail, which follows real clients byte for byte; the
rest are written here by hand where the case is a header or MIME shape no writer makes.
The six mails under clients/ are real clients' output and are not generated.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from mailflow.testing.clientmail import Draft, write

HERE = Path(__file__).resolve().parent
CST = timezone(timedelta(hours=8))
SUP = ("钱主管", "qian.zg@example.com")
OTHER_SUP = ("孙主管", "sun.zg@example.com")
HR = ("人事部", "hr@example.com")
SECTIONS = (("今日工作", "拜访镕鑫电子，洽谈年度合同。"), ("客户拜访", "共拜访3家"),
            ("销售额", "1.2万"), ("回款", "￥8,000.00"), ("竞品信息", "竞品降价5%"),
            ("问题与需求", "需要样品支持"), ("明日计划", "跟进报价单"))


def draft(**kw: object) -> Draft:
    base = dict(from_name="冯喆", from_addr="feng.zhe@example.com", to=(SUP,), cc=(HR,),
                subject="工作日报 2026-11-26", sections=SECTIONS,
                date=datetime(2026, 11, 26, 20, 5, tzinfo=CST), message_id="case@example.com")
    base.update(kw)
    return Draft(**base)  # type: ignore[arg-type]


def cases() -> dict[str, bytes]:
    out = {
        "on_time_foxmail.eml": write("foxmail", draft(message_id="ok-foxmail@example.com")),
        "hr_in_to_not_cc.eml": write("foxmail", draft(to=(SUP, HR), cc=(),
                                                      message_id="hr-in-to@example.com")),
        "wrong_supervisor.eml": write("outlook", draft(to=(OTHER_SUP,),
                                                       message_id="wrong-sup@example.com")),
        "missing_plan_section.eml": write("iphone", draft(sections=SECTIONS[:-1],
                                                          message_id="no-plan@example.com")),
        "reply_re.eml": write("qqmail", draft(subject="回复：工作日报 2026-11-26",
                                              in_reply_to="ok-foxmail@example.com",
                                              message_id="reply@example.com")),
        "forward_fw_fullwidth.eml": write("outlook", draft(subject="转发： RE: 日报 11.26",
                                                           message_id="fwd@example.com")),
        "reply_header_fresh_subject.eml": write("coremail", draft(
            in_reply_to="older@example.com", subject="日报 2026-11-26",
            message_id="fresh-with-irt@example.com")),
        "glued_subject_date.eml": write("mutt", draft(subject="工作日报20261125",
                                                      message_id="glued@example.com")),
        "xlsx_report.eml": write("xlsx", draft(subject="日报 11月26日",
                                               message_id="xlsx@example.com")),
        "qq_with_quote.eml": write("qqmail", draft(quoted="【今日工作】\r\n昨天的旧内容",
                                                   message_id="qq-quote@example.com")),
    }
    out["spoof_display_name_outside.eml"] = write("coremail", draft(
        from_addr="fengzhe2026@163.com", message_id="spoof-name@example.com"))
    out["authres_dkim_fail.eml"] = (
        b"Authentication-Results: mx.example.com; dkim=fail header.d=example.com; spf=pass\r\n"
        + write("mutt", draft(message_id="dkim-fail@example.com")))
    # The sender wrote a passing result for the company's id below the server's own header.
    out["authres_forged_below.eml"] = (
        b"Authentication-Results: mx.example.com; spf=fail smtp.mailfrom=example.com\r\n"
        b"Authentication-Results: mx.example.com; spf=pass; dkim=pass; dmarc=pass\r\n"
        + write("mutt", draft(message_id="forged-below@example.com")))
    out["authres_forged_only.eml"] = (
        b"Authentication-Results: mx.example.com; spf=pass; dkim=pass; dmarc=pass\r\n"
        b"Authentication-Results: evil.example.net; dkim=fail\r\n"
        + write("mutt", draft(message_id="forged-only@example.com")))
    out["auto_reply.eml"] = (
        "From: =?utf-8?B?5Yav5ZaG?= <feng.zhe@example.com>\r\n"
        "To: qian.zg@example.com\r\nSubject: =?utf-8?B?6Ieq5Yqo5Zue5aSNOiDml6XmiqU=?=\r\n"
        "Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n"
        "Date: Thu, 26 Nov 2026 20:30:00 +0800\r\nMessage-ID: <auto@example.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        "5oiR5q2j5Zyo5LyR5YGH77yM5Zue5p2l5ZCO5Zue5aSN44CC\r\n").encode()
    out["bounce_dsn.eml"] = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        b"To: feng.zhe@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        b"Date: Thu, 26 Nov 2026 20:31:00 +0800\r\nMessage-ID: <bounce@mx.example.com>\r\n"
        b"MIME-Version: 1.0\r\nAuto-Submitted: auto-replied\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\r\n\r\n'
        b"--B1\r\nContent-Type: text/plain\r\n\r\nThe mail to nobody@example.com bounced.\r\n"
        b"--B1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        b"Final-Recipient: rfc822; nobody@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--B1--\r\n")
    # An RFC 2047 word split in the middle of a multibyte character, as some webmails fold.
    subj = "工作日报 冯喆".encode("utf-8")
    import base64
    w1 = base64.b64encode(subj[:8]).decode()
    w2 = base64.b64encode(subj[8:]).decode()
    out["split_encoded_word.eml"] = (
        f"From: feng.zhe@example.com\r\nTo: qian.zg@example.com\r\nCc: hr@example.com\r\n"
        f"Subject: =?utf-8?B?{w1}?=\r\n =?utf-8?B?{w2}?=\r\n"
        f"Date: Thu, 26 Nov 2026 20:00:00 +0800\r\nMessage-ID: <split@example.com>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + (
        "【今日工作】\n跟进合同\n【客户拜访】\n2家\n【销售额】\n0\n【回款】\n0\n【明日计划】\n报价\n"
        ).encode()
    # 8-bit GBK header bytes with no charset label anywhere.
    out["eightbit_header_no_charset.eml"] = (
        b"From: " + "冯喆".encode("gbk") + b" <feng.zhe@example.com>\r\n"
        b"To: qian.zg@example.com\r\nCc: hr@example.com\r\n"
        b"Subject: " + "日报 11-26 冯喆".encode("gbk") + b"\r\n"
        b"Date: Thu, 26 Nov 2026 20:00:00 +0800\r\nMessage-ID: <eightbit@example.com>\r\n"
        b"Content-Type: text/plain\r\n\r\n"
        + "【今日工作】\r\n拜访镕鑫\r\n【客户拜访】\r\n1家\r\n【销售额】\r\n100\r\n【回款】\r\n0\r\n"
          "【明日计划】\r\n报价\r\n".encode("gbk"))
    out["outlook_original_message.eml"] = (
        b"From: feng.zhe@example.com\r\nTo: qian.zg@example.com\r\nCc: hr@example.com\r\n"
        b"Subject: =?utf-8?B?" + base64.b64encode("日报 2026/11/26".encode()) + b"?=\r\n"
        b"Date: Thu, 26 Nov 2026 20:00:00 +0800\r\nMessage-ID: <orig-msg@example.com>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + (
            "今日工作：新内容\r\n客户拜访：2家\r\n销售额：3000\r\n回款：0\r\n明日计划：报价\r\n\r\n"
            "-----Original Message-----\r\nFrom: feng.zhe@example.com\r\n"
            "销售额：999999\r\n").encode())
    out["gmail_on_wrote.eml"] = (
        b"From: feng.zhe@example.com\r\nTo: qian.zg@example.com\r\nCc: hr@example.com\r\n"
        b"Subject: daily report 11/26\r\nDate: Thu, 26 Nov 2026 20:00:00 +0800\r\n"
        b"Message-ID: <gmail@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + (
            "1. 今日工作: 拜访\n2. 客户拜访: 4家\n3. 销售额: 5,000\n4. 回款: 0\n5. 明日计划: 报价\n\n"
            "On Wed, Nov 25, 2026 at 8:00 PM 冯喆 <feng.zhe@example.com> wrote:\n"
            "> 销售额: 777\n").encode())
    out["no_message_id.eml"] = (
        b"From: feng.zhe@example.com\r\nTo: qian.zg@example.com\r\nCc: hr@example.com\r\n"
        b"Subject: =?utf-8?B?" + base64.b64encode("日报".encode()) + b"?=\r\n"
        b"Date: Thu, 26 Nov 2026 20:00:00 +0800\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"\r\n" + "今日工作：无\r\n".encode())
    out["no_from_unparseable.eml"] = (
        b"To: qian.zg@example.com\r\nSubject: broken\r\nMessage-ID: <nofrom@example.com>\r\n"
        b"\r\nno sender at all\r\n")
    return out


if __name__ == "__main__":
    for name, data in cases().items():
        (HERE / name).write_bytes(data)
        print(f"wrote tests/mail/{name} ({len(data)} bytes)")
