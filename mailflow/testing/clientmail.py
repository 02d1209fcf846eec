"""Report mails written byte for byte the way the clients salespeople use write them.

Used to seed the demo and the integration tests. Each writer follows the header order,
charset labels, transfer encodings and quirks of one client, as seen in real mail:
Foxmail labels GBK text gb2312 and quotes encoded words; Outlook sends HTML only with a
Word table; QQ Mail uses gb18030 and quotes the previous mail under 原始邮件; iPhone Mail
writes UTF-8 quoted-printable with its signature; mutt sends raw 8-bit GBK; 163 webmail
sends UTF-8 base64 multipart/alternative.
"""

from __future__ import annotations

import base64
import html
import quopri
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime

CLIENTS = ("foxmail", "outlook", "qqmail", "iphone", "mutt", "coremail", "xlsx")


@dataclass(frozen=True)
class Draft:
    from_name: str
    from_addr: str
    to: tuple[tuple[str, str], ...]
    cc: tuple[tuple[str, str], ...]
    subject: str
    sections: tuple[tuple[str, str], ...]   # (heading, text)
    date: datetime
    message_id: str
    in_reply_to: str | None = None
    quoted: str = ""                         # an earlier mail quoted under the reply
    extra_headers: tuple[tuple[str, str], ...] = field(default=())
    text: str = ""                           # free text instead of sections (a request, a reply)


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _qp(data: bytes) -> bytes:
    # Encode with bare LF line ends, then put CRLF on the wire: encoding CRLF text
    # directly leaves a lone CR before each soft line break.
    return quopri.encodestring(data.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")


def _word(text: str, charset: str, codec: str | None = None) -> str:
    """One RFC 2047 B-encoded word."""
    raw = text.encode(codec or charset)
    return f"=?{charset}?B?{base64.b64encode(raw).decode()}?="


def _addr(name: str, addr: str, charset: str, quoted: bool, codec: str | None = None) -> str:
    if not name:
        return addr
    word = _word(name, charset, codec) if not name.isascii() else name
    return f'"{word}" <{addr}>' if quoted else f"{word} <{addr}>"


def _addrs(items: tuple[tuple[str, str], ...], charset: str, quoted: bool,
           codec: str | None = None) -> str:
    return ", ".join(_addr(n, a, charset, quoted, codec) for n, a in items)


def plain_body(d: Draft) -> str:
    if d.text:
        return d.text.replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n"
    parts = [f"【{h}】\r\n{t}" for h, t in d.sections]
    return "\r\n\r\n".join(parts) + "\r\n"


def _text_html(d: Draft, tag: str = "div") -> str:
    """Free text as a client's HTML writes it: one element per line, a <br> when empty."""
    return "".join(f"<{tag}>{html.escape(line) if line.strip() else '<br>'}</{tag}>"
                   for line in d.text.replace("\r\n", "\n").split("\n"))


def _headers(lines: list[tuple[str, str]]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in lines).encode("ascii", "surrogateescape")


def _extra(d: Draft) -> list[tuple[str, str]]:
    out = list(d.extra_headers)
    if d.in_reply_to:
        out += [("In-Reply-To", f"<{d.in_reply_to}>"), ("References", f"<{d.in_reply_to}>")]
    return out


def foxmail(d: Draft) -> bytes:
    boundary = "----=_001_NextPart000000000000_=----"
    text = plain_body(d) + "\r\n\r\n" + d.from_name + "\r\n"
    divs = _text_html(d) if d.text else "".join(
        f"<div>【{html.escape(h)}】</div><div>{html.escape(t)}</div><div><br></div>"
        for h, t in d.sections)
    page = (f'<html><head><meta http-equiv="content-type" content="text/html; charset=gb2312">'
            f"</head><body>\r\n{divs}<div><br></div><hr>\r\n<div>{html.escape(d.from_name)}"
            f"</div>\r\n</body></html>")
    head = _headers([
        ("Date", format_datetime(d.date)),
        ("From", _addr(d.from_name, d.from_addr, "gb2312", True, "gbk")),
        ("To", _addrs(d.to, "gb2312", True, "gbk")),
        *([("Cc", _addrs(d.cc, "gb2312", True, "gbk"))] if d.cc else []),
        ("Subject", _word(d.subject, "gb2312", "gbk")),
        ("X-Priority", "3"), ("X-Has-Attach", "no"), ("X-Mailer", "Foxmail 7.2.25.228[cn]"),
        ("Mime-Version", "1.0"), ("Message-ID", f"<{d.message_id}>"), *_extra(d),
        ("Content-Type", f'multipart/alternative;\r\n\tboundary="{boundary}"'),
    ])
    return (head + b"\r\nThis is a multi-part message in MIME format.\r\n\r\n"
            + f"--{boundary}\r\nContent-Type: text/plain;\r\n\tcharset=\"gb2312\"\r\n"
              f"Content-Transfer-Encoding: base64\r\n\r\n".encode()
            + _b64(text.encode("gbk"))
            + f"\r\n--{boundary}\r\nContent-Type: text/html;\r\n\tcharset=\"gb2312\"\r\n"
              f"Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode()
            + _qp(page.encode("gbk")) + f"\r\n\r\n--{boundary}--\r\n".encode())


def outlook(d: Draft) -> bytes:
    rows = "".join(
        f'<tr>\r\n<td width="113" valign="top"><p class="MsoNormal"><b><span style="font-family:'
        f'宋体">{html.escape(h)}</span></b><o:p></o:p></p>\r\n</td>\r\n<td width="440" valign='
        f'"top"><p class="MsoNormal"><span style="font-family:宋体">'
        + "</span></p><p class=\"MsoNormal\"><span style=\"font-family:宋体\">".join(
            html.escape(line) for line in t.split("\n"))
        + "</span><o:p></o:p></p>\r\n</td>\r\n</tr>\r\n" for h, t in d.sections)
    page = (f'<html xmlns:o="urn:schemas-microsoft-com:office:office">\r\n<head>\r\n<meta '
            f'http-equiv="Content-Type" content="text/html; charset=gb2312">\r\n<meta name='
            f'"Generator" content="Microsoft Word 15 (filtered medium)">\r\n<style><!--\r\n'
            f"p.MsoNormal {{margin:0cm; font-size:10.5pt; font-family:等线;}}\r\n--></style>\r\n"
            f'</head>\r\n<body lang="ZH-CN">\r\n<div class="WordSection1">\r\n'
            + (_text_html(d, "p") if d.text else
               f'<p class="MsoNormal"><span>{html.escape(d.to[0][0] if d.to else "")}：您好！今日'
               f'工作汇报如下</span></p>\r\n<table class="MsoTableGrid" border="1" cellspacing="0"'
               f' cellpadding="0">\r\n<tbody>\r\n{rows}</tbody>\r\n</table>\r\n<p class='
               f'"MsoNormal"><o:p>&nbsp;</o:p></p>\r\n<p class="MsoNormal"><span>'
               f'{html.escape(d.from_name)}</span></p>\r\n')
            + "</div>\r\n</body>\r\n</html>\r\n")
    utc = d.date.astimezone(timezone.utc)
    head = _headers([
        ("From", _addr(d.from_name, d.from_addr, "gb2312", False, "gbk")),
        ("To", _addrs(d.to, "gb2312", False, "gbk")),
        *([("CC", _addrs(d.cc, "gb2312", False, "gbk"))] if d.cc else []),
        ("Subject", _word(d.subject, "gb2312", "gbk")),
        ("Thread-Topic", _word(d.subject, "gb2312", "gbk")),
        ("Date", format_datetime(utc).replace("-0000", "+0000")),
        ("Message-ID", f"<{d.message_id}>"), *_extra(d),
        ("Accept-Language", "zh-CN, en-US"), ("Content-Language", "zh-CN"),
        ("X-MS-Has-Attach", ""), ("X-Mailer", "Microsoft Outlook 16.0"),
        ("Content-Type", 'text/html; charset="gb2312"'),
        ("Content-Transfer-Encoding", "quoted-printable"), ("MIME-Version", "1.0"),
    ])
    return head + b"\r\n" + _qp(page.encode("gbk"))


def qqmail(d: Draft) -> bytes:
    boundary = "----=_NextPart_5F0A1B2C_3D4E5F60_71829304"
    text = plain_body(d)
    if d.quoted:
        text += "\r\n\r\n\r\n------------------ 原始邮件 ------------------\r\n" + d.quoted
    divs = _text_html(d) if d.text else "".join(
        f"<div>【{html.escape(h)}】</div><div>{html.escape(t)}</div><div><br></div>"
        for h, t in d.sections)
    page = ('<meta http-equiv="Content-Type" content="text/html; charset=GB18030">' + divs)
    head = _headers([
        ("X-QQ-mid", "xmsezbcf02869b109e668923aa"),
        ("From", _addr(d.from_name, d.from_addr, "gb18030", True)),
        ("To", _addrs(d.to, "gb18030", True)),
        *([("Cc", _addrs(d.cc, "gb18030", True))] if d.cc else []),
        ("Subject", _word(d.subject, "gb18030")), ("Mime-Version", "1.0"),
        ("Content-Type", f'multipart/alternative;\r\n\tboundary="{boundary}"'),
        ("Content-Transfer-Encoding", "8Bit"), ("Date", format_datetime(d.date)),
        ("X-Priority", "3"), ("Message-ID", f"<{d.message_id}>"), *_extra(d),
        ("X-QQ-MIME", "TCMime 1.0 by Tencent"), ("X-Mailer", "QQMail 2.x"),
    ])
    return (head + b"\r\nThis is a multi-part message in MIME format.\r\n\r\n"
            + f"--{boundary}\r\nContent-Type: text/plain;\r\n\tcharset=\"gb18030\"\r\n"
              f"Content-Transfer-Encoding: base64\r\n\r\n".encode()
            + _b64(text.encode("gb18030"))
            + f"\r\n--{boundary}\r\nContent-Type: text/html;\r\n\tcharset=\"gb18030\"\r\n"
              f"Content-Transfer-Encoding: base64\r\n\r\n".encode()
            + _b64(page.encode("gb18030")) + f"\r\n--{boundary}--\r\n".encode())


def iphone(d: Draft) -> bytes:
    text = plain_body(d) + "\r\n发自我的iPhone"
    head = _headers([
        ("Content-Type", "text/plain;\r\n\tcharset=utf-8"),
        ("Content-Transfer-Encoding", "quoted-printable"),
        ("From", _addr(d.from_name, d.from_addr, "utf-8", False)),
        ("Mime-Version", "1.0 (1.0)"), ("Date", format_datetime(d.date)),
        ("Subject", d.subject if d.subject.isascii() else _word(d.subject, "utf-8")),
        ("Message-Id", f"<{d.message_id}>"), *_extra(d),
        ("To", _addrs(d.to, "utf-8", False)),
        *([("Cc", _addrs(d.cc, "utf-8", False))] if d.cc else []),
        ("X-Mailer", "iPhone Mail (22B83)"),
    ])
    return head + b"\r\n" + _qp(text.encode("utf-8"))


def mutt(d: Draft) -> bytes:
    head = _headers([
        ("Date", format_datetime(d.date)),
        ("From", _addr(d.from_name, d.from_addr, "gbk", False)),
        ("To", ", ".join(a for _, a in d.to)),
        *([("Cc", ", ".join(a for _, a in d.cc))] if d.cc else []),
        ("Subject", _word(d.subject, "gbk")), ("Message-ID", f"<{d.message_id}>"), *_extra(d),
        ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=gbk"),
        ("Content-Disposition", "inline"), ("Content-Transfer-Encoding", "8bit"),
        ("User-Agent", "Mutt/2.2.12 (2023-09-09)"),
    ])
    return head + b"\r\n" + plain_body(d).encode("gbk")


def coremail(d: Draft) -> bytes:
    boundary = "----=_Part_12348916_5882581.1788867720000"
    text = plain_body(d)
    page = ('<div style="line-height:1.7;color:#000000;font-size:14px;font-family:Arial">'
            + (_text_html(d) if d.text else "".join(
                f"<div>【{html.escape(h)}】</div><div>{html.escape(t)}</div><div><br></div>"
                for h, t in d.sections)) + "</div>")
    head = _headers([
        ("X-Originating-IP", "[203.0.113.77]"), ("Date", format_datetime(d.date) + " (CST)"),
        ("From", _addr(d.from_name, d.from_addr, "UTF-8", False)),
        ("To", ", ".join(a for _, a in d.to)),
        *([("Cc", ", ".join(a for _, a in d.cc))] if d.cc else []),
        ("Subject", _word(d.subject, "UTF-8")), ("X-Priority", "3"),
        ("X-Mailer", "Coremail Webmail Server Version XT5.0.14 build 20230109(dcb5de15)"),
        ("Content-Type", f'multipart/alternative; \r\n\tboundary="{boundary}"'),
        ("MIME-Version", "1.0"), ("Message-ID", f"<{d.message_id}>"), *_extra(d),
        ("X-Coremail-Locale", "zh_CN"),
    ])
    return (head + b"\r\n"
            + f"--{boundary}\r\nContent-Type: text/plain; charset=UTF-8\r\n"
              f"Content-Transfer-Encoding: base64\r\n\r\n".encode() + _b64(text.encode())
            + f"\r\n--{boundary}\r\nContent-Type: text/html; charset=UTF-8\r\n"
              f"Content-Transfer-Encoding: base64\r\n\r\n".encode() + _b64(page.encode())
            + f"\r\n--{boundary}--\r\n".encode())


def xlsx_bytes(d: Draft) -> bytes:
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "日报"
    ws.append(["项目", "内容"])
    for heading, text in d.sections:
        ws.append([heading, text])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsx(d: Draft) -> bytes:
    """Outlook with the report as an .xlsx attachment; the file name in RFC 2231 form."""
    boundary = "_004_TYZPR06MB0000000000000000_"
    filename = f"{d.subject}.xlsx"
    encoded = "utf-8''" + "".join(
        c if c.isascii() and c.isalnum() or c in ".-_" else
        "".join(f"%{b:02X}" for b in c.encode()) for c in filename)
    body = (f"{d.to[0][0] if d.to else ''}：您好！今日日报见附件。\r\n\r\n{d.from_name}\r\n")
    head = _headers([
        ("From", _addr(d.from_name, d.from_addr, "gb2312", False, "gbk")),
        ("To", _addrs(d.to, "gb2312", False, "gbk")),
        *([("CC", _addrs(d.cc, "gb2312", False, "gbk"))] if d.cc else []),
        ("Subject", _word(d.subject, "gb2312", "gbk")),
        ("Date", format_datetime(d.date)), ("Message-ID", f"<{d.message_id}>"), *_extra(d),
        ("Content-Language", "zh-CN"), ("X-MS-Has-Attach", "yes"),
        ("X-Mailer", "Microsoft Outlook 16.0"),
        ("Content-Type", f'multipart/mixed;\r\n\tboundary="{boundary}"'), ("MIME-Version", "1.0"),
    ])
    return (head + b"\r\n"
            + f"--{boundary}\r\nContent-Type: text/plain; charset=\"gb2312\"\r\n"
              f"Content-Transfer-Encoding: base64\r\n\r\n".encode() + _b64(body.encode("gbk"))
            + f"\r\n--{boundary}\r\nContent-Type: application/vnd.openxmlformats-officedocument."
              f"spreadsheetml.sheet;\r\n\tname*={encoded}\r\nContent-Disposition: attachment;"
              f"\r\n\tfilename*={encoded}\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode()
            + _b64(xlsx_bytes(d)) + f"\r\n--{boundary}--\r\n".encode())


WRITERS = {"foxmail": foxmail, "outlook": outlook, "qqmail": qqmail, "iphone": iphone,
           "mutt": mutt, "coremail": coremail, "xlsx": xlsx}


def write(client: str, draft: Draft) -> bytes:
    return WRITERS[client](draft)


# -- replies: a supervisor answering a report (or a digest) in their own client ----------

@dataclass(frozen=True)
class ReplyDraft:
    """A reply to `original` (the report, or any mail given by its headers) with `text`
    as the writer's own words; each client quotes the original its own way."""

    from_name: str
    from_addr: str
    to: tuple[tuple[str, str], ...]
    text: str
    date: datetime
    message_id: str
    original_id: str
    original_subject: str
    original_from: tuple[str, str]
    original_date: datetime
    original_text: str
    references: tuple[str, ...] = ()     # the thread before the original, oldest first
    cc: tuple[tuple[str, str], ...] = ()


def _thread(r: ReplyDraft) -> list[tuple[str, str]]:
    refs = " ".join(f"<{m}>" for m in (*r.references, r.original_id))
    return [("In-Reply-To", f"<{r.original_id}>"), ("References", refs)]


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _cn_date(d: datetime) -> str:
    return f"{d.year}年{d.month}月{d.day}日 {d:%H:%M}"


def foxmail_reply(r: ReplyDraft) -> bytes:
    """Foxmail: 回复： prefix, GBK labelled gb2312, the original under a 发件人/发送时间 block."""
    name, addr = r.original_from
    text = _crlf(f"{r.text}\n\n\n\n{r.from_name}\n\n发件人： {name}\n发送时间： "
                 f"{r.original_date:%Y-%m-%d %H:%M}\n收件人： {r.from_name}\n主题： "
                 f"{r.original_subject}\n{r.original_text}\n")
    head = _headers([
        ("Date", format_datetime(r.date)),
        ("From", _addr(r.from_name, r.from_addr, "gb2312", True, "gbk")),
        ("To", _addrs(r.to, "gb2312", True, "gbk")),
        *([("Cc", _addrs(r.cc, "gb2312", True, "gbk"))] if r.cc else []),
        ("Subject", _word("回复：" + r.original_subject, "gb2312", "gbk")),
        *_thread(r), ("X-Priority", "3"), ("X-Mailer", "Foxmail 7.2.25.228[cn]"),
        ("Mime-Version", "1.0"), ("Message-ID", f"<{r.message_id}>"),
        ("Content-Type", 'text/plain;\r\n\tcharset="gb2312"'),
        ("Content-Transfer-Encoding", "base64"),
    ])
    return head + b"\r\n" + _b64(text.encode("gbk"))


def outlook_reply(r: ReplyDraft) -> bytes:
    """Outlook: HTML only, 答复: prefix, the reply above a bordered 发件人:/发送时间: block."""
    name, addr = r.original_from
    own = "".join(f'<p class="MsoNormal"><span>{html.escape(line)}<o:p></o:p></span></p>\r\n'
                  for line in r.text.split("\n"))
    quoted = "".join(f'<p class="MsoNormal">{html.escape(line)}</p>\r\n'
                     for line in r.original_text.split("\n"))
    page = (f'<html xmlns:o="urn:schemas-microsoft-com:office:office">\r\n<head>\r\n<meta '
            f'http-equiv="Content-Type" content="text/html; charset=gb2312">\r\n</head>\r\n'
            f'<body lang="ZH-CN">\r\n<div class="WordSection1">\r\n{own}<p class="MsoNormal">'
            f'<o:p>&nbsp;</o:p></p>\r\n<div style="border:none;border-top:solid #E1E1E1 1.0pt;'
            f'padding:3.0pt 0cm 0cm 0cm">\r\n<p class="MsoNormal"><b>发件人:</b> {html.escape(name)}'
            f' &lt;{addr}&gt; <br>\r\n<b>发送时间:</b> {_cn_date(r.original_date)}<br>\r\n'
            f'<b>收件人:</b> {html.escape(r.from_name)} &lt;{r.from_addr}&gt;<br>\r\n<b>主题:</b> '
            f'{html.escape(r.original_subject)}<o:p></o:p></p>\r\n</div>\r\n{quoted}</div>\r\n'
            f'</body>\r\n</html>\r\n')
    head = _headers([
        ("From", _addr(r.from_name, r.from_addr, "gb2312", False, "gbk")),
        ("To", _addrs(r.to, "gb2312", False, "gbk")),
        *([("CC", _addrs(r.cc, "gb2312", False, "gbk"))] if r.cc else []),
        ("Subject", _word("答复: " + r.original_subject, "gb2312", "gbk")),
        ("Thread-Topic", _word(r.original_subject, "gb2312", "gbk")),
        ("Date", format_datetime(r.date.astimezone(timezone.utc)).replace("-0000", "+0000")),
        ("Message-ID", f"<{r.message_id}>"), *_thread(r),
        ("Content-Language", "zh-CN"), ("X-Mailer", "Microsoft Outlook 16.0"),
        ("Content-Type", 'text/html; charset="gb2312"'),
        ("Content-Transfer-Encoding", "quoted-printable"), ("MIME-Version", "1.0"),
    ])
    return head + b"\r\n" + _qp(page.encode("gbk"))


def qqmail_reply(r: ReplyDraft) -> bytes:
    """QQ Mail: gb18030, 回复： prefix, the original under 原始邮件."""
    name, addr = r.original_from
    text = _crlf(f"{r.text}\n\n\n------------------ 原始邮件 ------------------\n"
                 f'发件人: "{name}"<{addr}>;\n发送时间: {_cn_date(r.original_date)}\n'
                 f'收件人: "{r.from_name}"<{r.from_addr}>;\n主题: {r.original_subject}\n\n'
                 f"{r.original_text}\n")
    head = _headers([
        ("X-QQ-mid", "xmsezbcf02869b109e668923ab"),
        ("From", _addr(r.from_name, r.from_addr, "gb18030", True)),
        ("To", _addrs(r.to, "gb18030", True)),
        ("Subject", _word("回复：" + r.original_subject, "gb18030")), ("Mime-Version", "1.0"),
        ("Content-Type", 'text/plain;\r\n\tcharset="gb18030"'),
        ("Content-Transfer-Encoding", "base64"), ("Date", format_datetime(r.date)),
        ("Message-ID", f"<{r.message_id}>"), *_thread(r), ("X-Mailer", "QQMail 2.x"),
    ])
    return head + b"\r\n" + _b64(text.encode("gb18030"))


def iphone_reply(r: ReplyDraft) -> bytes:
    """iPhone Mail: Re: prefix, 发自我的iPhone, the original quoted with '>' under 写道："""
    name, addr = r.original_from
    quoted = "\n".join("> " + line if line else ">" for line in r.original_text.split("\n"))
    text = _crlf(f"{r.text}\n\n发自我的iPhone\n\n> 在 {_cn_date(r.original_date)}，{name} "
                 f"<{addr}> 写道：\n> \n{quoted}\n")
    subject = "Re: " + r.original_subject
    head = _headers([
        ("Content-Type", "text/plain;\r\n\tcharset=utf-8"),
        ("Content-Transfer-Encoding", "quoted-printable"),
        ("From", _addr(r.from_name, r.from_addr, "utf-8", False)),
        ("Mime-Version", "1.0 (1.0)"), ("Date", format_datetime(r.date)),
        ("Subject", _word(subject, "utf-8")), ("Message-Id", f"<{r.message_id}>"), *_thread(r),
        ("To", _addrs(r.to, "utf-8", False)), ("X-Mailer", "iPhone Mail (22B83)"),
    ])
    return head + b"\r\n" + _qp(text.encode("utf-8"))


def mail163_reply(r: ReplyDraft) -> bytes:
    """网易邮箱大师 on a phone: 回复: prefix, its signature, the original under a rule."""
    name, addr = r.original_from
    text = _crlf(f"{r.text}\n\n\n发自网易邮箱大师\n---- 回复的原邮件 ----\n| 发件人 | {name}<{addr}> |\n"
                 f"| 日期 | {_cn_date(r.original_date)} |\n| 主题 | {r.original_subject} |\n"
                 f"{r.original_text}\n")
    page = ('<div style="line-height:1.7;font-size:14px">'
            + "".join(f"<div>{html.escape(line)}</div>" for line in r.text.split("\n"))
            + '<div><br></div><div style="font-size:12px">发自网易邮箱大师</div>'
            + '<div>---- 回复的原邮件 ----</div><table><tr><td>发件人</td><td>'
            + f"{html.escape(name)}&lt;{addr}&gt;</td></tr><tr><td>日期</td><td>"
            + f"{_cn_date(r.original_date)}</td></tr></table><div>"
            + html.escape(r.original_text).replace("\n", "<br>") + "</div></div>")
    boundary = "----=_Part_9912_1788867720001"
    head = _headers([
        ("Date", format_datetime(r.date) + " (CST)"),
        ("From", _addr(r.from_name, r.from_addr, "UTF-8", False)),
        ("To", ", ".join(a for _, a in r.to)),
        ("Subject", _word("回复:" + r.original_subject, "UTF-8")),
        ("X-Mailer", "MailMasterAndroid/7.18.4"),
        ("Content-Type", f'multipart/alternative; \r\n\tboundary="{boundary}"'),
        ("MIME-Version", "1.0"), ("Message-ID", f"<{r.message_id}>"), *_thread(r),
    ])
    return (head + b"\r\n"
            + f"--{boundary}\r\nContent-Type: text/plain; charset=UTF-8\r\n"
              f"Content-Transfer-Encoding: base64\r\n\r\n".encode() + _b64(text.encode())
            + f"\r\n--{boundary}\r\nContent-Type: text/html; charset=UTF-8\r\n"
              f"Content-Transfer-Encoding: base64\r\n\r\n".encode() + _b64(page.encode())
            + f"\r\n--{boundary}--\r\n".encode())


REPLY_WRITERS = {"foxmail": foxmail_reply, "outlook": outlook_reply, "qqmail": qqmail_reply,
                 "iphone": iphone_reply, "163": mail163_reply}


def write_reply(client: str, draft: ReplyDraft) -> bytes:
    return REPLY_WRITERS[client](draft)
