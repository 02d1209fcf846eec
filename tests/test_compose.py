"""compose.build writes the wire form itself: read back by the email package (what the
clients' parsers follow), it must say what the email package's own MIME classes said for
the same mail — the same headers, the same parts in the same order, the same bytes in
each part — with CRLF line ends and no line over RFC 5322's 998 characters."""

from __future__ import annotations

import email
import re
from datetime import datetime, timedelta, timezone
from email import encoders
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32, default
from email.utils import format_datetime, formataddr

import pytest
from hypothesis import given, settings, strategies as st

from mailflow.mails import compose
from mailflow.mails.render import Rendered, one_line

CST = timezone(timedelta(hours=8))
WHEN = datetime(2026, 11, 27, 22, 0, tzinfo=CST)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def reference(*, sender, to, cc, rendered, msg_id, date, reply_to="", attachments=()):
    """The same mail through the email package's MIME classes and generator."""
    body = MIMEMultipart("alternative")
    body.attach(MIMEText(rendered.text, "plain", "utf-8"))
    body.attach(MIMEText(rendered.html, "html", "utf-8"))
    msg = body
    if attachments:
        msg = MIMEMultipart("mixed")
        msg.attach(body)
        for filename, mime, content in attachments:
            maintype, _, subtype = mime.partition("/")
            if maintype == "text":
                part = MIMEText(content.decode(), subtype, "utf-8")
            else:
                part = MIMEBase(maintype, subtype)
                part.set_payload(content)
                encoders.encode_base64(part)
            name = one_line(filename)
            part.add_header("Content-Disposition", "attachment",
                            filename=name if name.isascii() else ("utf-8", "", name))
            msg.attach(part)
    name, addr = email.utils.parseaddr(sender)
    msg["From"] = formataddr((name, addr), charset="utf-8")
    msg["To"] = ", ".join(formataddr((one_line(n), a), charset="utf-8") for n, a in to)
    if cc:
        msg["Cc"] = ", ".join(formataddr((one_line(n), a), charset="utf-8") for n, a in cc)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = Header(one_line(rendered.subject), "utf-8")
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = f"<{msg_id}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    return msg.as_bytes(policy=compat32.clone(linesep="\r\n"))


def read_back(raw: bytes) -> dict:
    msg = email.message_from_bytes(raw, policy=default)
    parts = []
    for part in msg.walk():
        entry = [part.get_content_type(), part.get_content_charset(), part.get_filename()]
        if not part.is_multipart():
            entry.append(part.get_payload(decode=True))
        parts.append(entry)
    headers = {k: str(msg[k]) for k in ("From", "To", "Cc", "Reply-To", "Subject", "Date",
                                        "Message-ID", "Auto-Submitted",
                                        "X-Auto-Response-Suppress", "MIME-Version")
               if msg[k] is not None}
    return {"headers": headers, "parts": parts, "defects": [
        type(d).__name__ for p in msg.walk() for d in p.defects]}


NAMES = st.sampled_from(["钱主管", "人事部", "Zhang San", "A very long english name person",
                         "欧阳·司马长长长长长长长长长长长长长长长名字", "O'Brien, J.", ""])
ADDRESSES = st.builds(lambda n, i: (n, f"p{i}@example.com"), NAMES, st.integers(0, 99))
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
               max_size=300)
SUBJECT = st.sampled_from(["【日清】区域1 2026-11-27 周五 日报汇总（25 人：按时 20，迟交 2，未交 3）",
                           "Weekly report", "日报提醒", "x" * 120]) | TEXT
ATTACHMENT = st.one_of(
    st.builds(lambda b: ("销售区域周报_区域1_2026-W47.xlsx", XLSX, b), st.binary(max_size=3000)),
    st.builds(lambda t: ("detail.csv", "text/csv", t.encode()), TEXT),
    st.builds(lambda b: ("report \"q\".pdf", "application/pdf", b), st.binary(max_size=200)))


@settings(max_examples=150, deadline=None)
@given(to=st.lists(ADDRESSES, min_size=1, max_size=30), cc=st.lists(ADDRESSES, max_size=5),
       subject=SUBJECT, text=TEXT, html=TEXT, reply=st.sampled_from(["", "hr@example.com"]),
       attachments=st.lists(ATTACHMENT, max_size=3))
def test_build_reads_back_as_the_email_packages_own_mail(to, cc, subject, text, html, reply,
                                                        attachments):
    args = dict(sender="日报助手 <reports@example.com>", to=to, cc=cc,
                rendered=Rendered(subject, text, html), msg_id="digest.abc123@example.com",
                date=WHEN, reply_to=reply, attachments=tuple(attachments))
    raw = compose.build(**args)
    ours, theirs = read_back(raw), read_back(reference(**args))
    assert ours["defects"] == []
    assert ours == theirs
    assert raw == compose.build(**args)            # the same mail, the same bytes
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_a_digest_to_a_supervisor_with_hr_in_cc_and_two_files():
    raw = compose.build(sender="日报助手 <reports@example.com>",
                        to=[("钱主管", "zg1@example.com")], cc=[("人事部", "hr@example.com")],
                        rendered=Rendered("【日清】区域1 2026-11-27", "正文\n", "<p>正文</p>"),
                        msg_id="digest.1@example.com", date=WHEN, reply_to="hr@example.com",
                        attachments=(("周报.xlsx", XLSX, b"PK\x03\x04"),
                                     ("detail.csv", "text/csv", "姓名,日期\n".encode())))
    msg = email.message_from_bytes(raw, policy=default)
    assert str(msg["To"]) == "钱主管 <zg1@example.com>"
    assert str(msg["Cc"]) == "人事部 <hr@example.com>"
    assert msg["Reply-To"] == "hr@example.com"
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", XLSX, "text/csv"]
    files = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
    assert files == {"周报.xlsx": b"PK\x03\x04", "detail.csv": "姓名,日期\n".encode()}
    assert re.search(rb'^Content-Type: text/csv; charset="utf-8"\r$', raw, re.M)


def test_an_address_that_could_break_a_header_is_refused():
    with pytest.raises(ValueError):
        compose.build(sender="r <reports@example.com>", to=[("x", "a@b.com\r\nBcc: c@d.com")],
                      cc=[], rendered=Rendered("s", "t", "h"), msg_id="m@x", date=WHEN)
