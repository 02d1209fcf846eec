"""Raw mail bytes → a frozen ParsedMail: decoded headers, addresses, the report text.

Built on the standard library's email package with our own charset handling: mail-parser
decodes gb2312-labelled GBK mail with replacement characters (a Foxmail subject such as
日报-姜镕-9月8日 comes out unreadable) and does not decode encoded words inside quoted
display names, both common in the mail this service reads.
"""

from __future__ import annotations

import email
import email.utils
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from email.policy import compat32

from ..inbound.identity import clean_message_id
from .charsets import decode_bytes, decode_header_value, raw_header, unescape_8bit
from .htmltext import html_to_text
from .xlsxtext import XlsxRefused, xlsx_to_text

MAX_PARTS = 500


class ParseError(Exception):
    """The mail cannot be read as a mail; the message says what is wrong."""

    def __init__(self, message: str) -> None:
        # The message is stored and mailed to HR: no lone surrogates from raw bytes.
        super().__init__(message.encode("utf-8", "replace").decode("utf-8").replace("\x00", ""))


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    subject: str
    from_name: str
    from_addr: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None
    in_reply_to: str | None
    body: str                       # the report text: no quoted mail, no signature
    attachments: tuple[Attachment, ...]
    auth_results: tuple[str, ...]   # Authentication-Results, topmost first
    auto_submitted: str
    precedence: str
    content_type: str
    other_headers: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    references: tuple[str, ...] = ()   # the References header's Message-IDs, oldest first


_ADDR = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$|"
                   r"^[^@\s<>()\[\],;:\"]+@localhost$")


def _addresses(msg: Message, name: str, warnings: list[str]) -> list[tuple[str, str]]:
    values = msg.get_all(name) or []
    out: list[tuple[str, str]] = []
    for display, addr in email.utils.getaddresses([raw_header(v) for v in values]):
        raw_addr = unescape_8bit(addr)
        if raw_addr is not None:
            addr = decode_bytes(raw_addr, None)[0]
        addr = addr.strip().lower()
        if not addr or len(addr) > 254 or not _ADDR.match(addr):
            if addr:
                warnings.append(f"{name}: {addr[:100]!r} is not a valid address; ignored")
            continue
        out.append((decode_header_value(display, warnings).strip('"\' '), addr))
    return out


def _date(msg: Message) -> datetime | None:
    value = msg.get("Date")
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _filename(part: Message, warnings: list[str]) -> str:
    """The attachment's name, decoded, with no path and no control characters in it."""
    name = part.get_filename()  # RFC 2231 continuations and charsets are joined here
    if name is None:
        return ""
    text = decode_header_value(raw_header(name) if not isinstance(name, str) else name, warnings)
    text = "".join(ch if ch >= " " else "_" for ch in text)
    return text.replace("/", "_").replace("\\", "_")[:255]


def _part_text(part: Message, warnings: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    text, warn = decode_bytes(payload, part.get_content_charset())
    if warn:
        warnings.append(f"{part.get_content_type()}: {warn}")
    return text


def _walk(msg: Message, warnings: list[str]) -> tuple[str, str, list[Attachment], list[str]]:
    """The first text/plain and text/html bodies, the attachments, and xlsx text."""
    plain = html = ""
    attachments: list[Attachment] = []
    xlsx: list[str] = []
    for n, part in enumerate(msg.walk()):
        if n > MAX_PARTS:
            warnings.append(f"more than {MAX_PARTS} MIME parts; the rest were not read")
            break
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        filename = _filename(part, warnings)
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            if ctype == "text/plain" and not plain:
                plain = _part_text(part, warnings)
            elif ctype == "text/html" and not html:
                html = _part_text(part, warnings)
            continue
        is_xlsx = filename.lower().endswith(".xlsx") or ctype == XLSX_TYPE
        if not is_xlsx:
            # Only the size of other attachments is kept: it is read off the encoded text,
            # so a 20 MB scan is never decoded into memory.
            attachments.append(Attachment(filename, ctype, _encoded_size(part)))
            continue
        payload = part.get_payload(decode=True)
        attachments.append(Attachment(filename, ctype,
                                      len(payload) if isinstance(payload, bytes) else 0))
        if isinstance(payload, bytes):
            try:
                xlsx.append(xlsx_to_text(payload))
            except XlsxRefused as exc:
                warnings.append(f"attachment {filename!r}: {exc}")
    return plain, html, attachments, xlsx


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _encoded_size(part: Message) -> int:
    """The decoded size of a part, from its encoded text (base64: 3 bytes per 4 chars)."""
    payload = part.get_payload()
    if not isinstance(payload, str):
        return 0
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding == "base64":
        return (len(payload) - payload.count("\n") - payload.count("\r")
                - payload.count(" ")) * 3 // 4 - payload.rstrip().count("=")
    return len(payload)


# Where quoted earlier mail starts: everything from that line on is not the report.
_QUOTE_STARTS = [
    re.compile(r"^\s*-{2,}\s*(原始邮件|原始郵件|Original Message|Original)\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*-{2,}\s*(转发邮件信息|Forwarded message)\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*_{10,}\s*$"),
    re.compile(r"^\s*On .{4,200} wrote:\s*$"),
    re.compile(r"^\s*在\s*.{4,200}写道\s*[:：]\s*$"),
    re.compile(r"^.{0,100}于\s*\d{4}\s*年.{0,100}写道\s*[:：]\s*$"),
]
_HEADER_BLOCK = re.compile(r"^\s*\**\s*(发件人|From)\s*\**\s*[:：]", re.I)
_HEADER_NEXT = re.compile(r"^\s*\**\s*(发送时间|发送日期|日期|Sent|Date|收件人|To)\s*\**\s*[:：]", re.I)
_SIGNATURES = [
    re.compile(r"^-- ?$"),
    re.compile(r"^\s*(发自我的|来自我的|从我的|Sent from my)\s*\S.*$", re.I),
    re.compile(r"^\s*(发自|来自)(网易邮箱大师|QQ邮箱|手机QQ邮箱|企业微信|钉钉|Foxmail)\s*$"),
    re.compile(r"^\s*Get Outlook for (iOS|Android)\s*$", re.I),
]


def strip_quotes_and_signature(text: str, sender_name: str = "") -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        if any(p.match(line) for p in _QUOTE_STARTS) or any(p.match(line) for p in _SIGNATURES):
            cut = i
            break
        if _HEADER_BLOCK.match(line) and any(_HEADER_NEXT.match(n) for n in lines[i + 1:i + 5]):
            cut = i
            break
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    # A signature that is just the sender's name (and maybe a department) under a gap.
    name = sender_name.strip()
    if name:
        for i in range(len(kept) - 1, max(-1, len(kept) - 5), -1):
            if kept[i].strip() == name and (i == 0 or not kept[i - 1].strip()):
                kept = kept[:i]
                break
    return "\n".join(line.rstrip() for line in kept).strip()


def parse_mail(raw: bytes) -> ParsedMail:
    """Read one mail. Raises ParseError when it has no usable sender or is not a mail;
    hostile input that trips the email package is a ParseError too, never a crash."""
    try:
        return _parse(raw)
    except ParseError:
        raise
    except RecursionError:
        raise ParseError("MIME structure nested too deeply") from None
    except Exception as exc:  # the email package and codecs raise many types on bad input
        raise ParseError(f"unreadable mail ({type(exc).__name__}: {exc})"[:500]) from None


def _parse(raw: bytes) -> ParsedMail:
    if not raw or not raw.strip():
        raise ParseError("empty message")
    try:
        msg = email.message_from_bytes(raw, policy=compat32)
    except Exception as exc:  # the email package can fail on pathological input
        raise ParseError(f"not a readable mail: {exc}") from None
    warnings: list[str] = []
    senders = _addresses(msg, "From", warnings)
    if not senders:
        raw_from = msg.get("From")
        raise ParseError("no From header" if raw_from is None else
                         f"From header has no valid address: "
                         f"{decode_header_value(raw_header(raw_from))[:120]!r}")
    from_name, from_addr = senders[0]
    from_name = from_name[:200]
    try:
        plain, html, attachments, xlsx = _walk(msg, warnings)
    except (RecursionError, LookupError, ValueError, AssertionError) as exc:
        raise ParseError(f"MIME structure could not be read: {exc}") from None
    text = plain if plain.strip() else html_to_text(html) if html else ""
    body = strip_quotes_and_signature(text, from_name)
    if xlsx:
        body = (body + "\n\n" + "\n\n".join(xlsx)).strip()
    return ParsedMail(
        message_id=clean_message_id(raw_header(msg.get("Message-ID"))),
        subject=decode_header_value(msg.get("Subject"), warnings),
        from_name=from_name,
        from_addr=from_addr,
        to=tuple(a for _, a in _addresses(msg, "To", warnings)),
        cc=tuple(a for _, a in _addresses(msg, "Cc", warnings)),
        date=_date(msg),
        in_reply_to=clean_message_id(raw_header(msg.get("In-Reply-To"))),
        body=body,
        attachments=tuple(attachments),
        auth_results=tuple(" ".join(raw_header(v).split()) for v in
                           (msg.get_all("Authentication-Results") or [])),
        auto_submitted=raw_header(msg.get("Auto-Submitted")).strip().lower(),
        precedence=raw_header(msg.get("Precedence")).strip().lower(),
        content_type=msg.get_content_type(),
        other_headers={k: raw_header(msg.get(k)) for k in ("X-Autoreply", "X-Autorespond",
                                                     "X-Auto-Response-Suppress", "Return-Path")
                       if msg.get(k) is not None},
        warnings=tuple(warnings),
        references=_references(raw_header(msg.get("References"))),
    )


def _references(value: str) -> tuple[str, ...]:
    found = (clean_message_id(m) for m in re.findall(r"<[^<>\s]+>", value or ""))
    return tuple(dict.fromkeys(m for m in found if m))[:100]
