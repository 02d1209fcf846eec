"""Building an outgoing mail: HTML with a plain-text part, safe headers, a Message-ID that
is the same every time the same mail is built."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from email.header import Header
from email.utils import encode_rfc2231, format_datetime, formataddr, parseaddr, quote

from .render import Rendered, one_line


def message_id(dedupe_key: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "mailflow.invalid"
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]
    return f"{dedupe_key.split('|', 1)[0]}.{digest}@{domain}"


Attachment = tuple[str, str, bytes]   # file name, MIME type, content

CRLF = "\r\n"
_WIDTH = 78   # RFC 5322's recommended line length, where an address list is folded


def build(*, sender: str, to: list[tuple[str, str]], cc: list[tuple[str, str]],
          rendered: Rendered, msg_id: str, date: datetime, reply_to: str = "",
          attachments: tuple[Attachment, ...] = ()) -> bytes:
    """The mail as it goes on the wire (CRLF): multipart/alternative (text, HTML), inside
    multipart/mixed when there are attachments; every body part UTF-8 in base64, every
    non-ASCII header an RFC 2047 encoded word, file names RFC 2231.

    Written out here rather than through the email package's generator: its header
    folding and payload encoding were half of queuing a day's 2,000 digests. The shape is
    the one the email package gave (tests/test_compose.py reads both back with it). The
    boundaries come from the Message-ID, so the same mail is built to the same bytes."""
    sender_name, sender_addr = parseaddr(sender)
    seed = hashlib.sha256(msg_id.encode()).hexdigest()
    alternative = f"=_alt_{seed[:24]}"     # "_" never occurs in base64: a safe boundary
    head = []
    if attachments:
        mixed = f"=_mixed_{seed[24:48]}"
        head.append(f'Content-Type: multipart/mixed; boundary="{mixed}"')
    else:
        head.append(f'Content-Type: multipart/alternative; boundary="{alternative}"')
    head.append("MIME-Version: 1.0")
    head.append("From: " + _address(sender_name, sender_addr))
    head.append(_addresses("To", to))
    if cc:
        head.append(_addresses("Cc", cc))
    if reply_to:
        # Answers to an automatic mail go to a person (HR), not to the robot's address.
        head.append("Reply-To: " + _address("", reply_to))
    head.append("Subject: " + Header(one_line(rendered.subject), "utf-8",
                                     header_name="Subject").encode(linesep=CRLF))
    head.append("Date: " + format_datetime(date))
    head.append(f"Message-ID: <{msg_id}>")
    # RFC 3834: an automatic mail; well-behaved auto-responders do not answer it.
    head.append("Auto-Submitted: auto-generated")
    head.append("X-Auto-Response-Suppress: All")
    body = _multipart(alternative, [_part("text/plain", rendered.text.encode()),
                                    _part("text/html", rendered.html.encode())])
    if attachments:
        inner = (f'Content-Type: multipart/alternative; boundary="{alternative}"'
                 f"{CRLF}MIME-Version: 1.0{CRLF}{CRLF}").encode() + body
        body = _multipart(mixed, [inner, *(_attachment(*a) for a in attachments)])
    return (CRLF.join(head) + CRLF + CRLF).encode("ascii") + body


def _address(name: str, addr: str) -> str:
    # Names come from the roster and from mail: no line breaks may reach a header.
    username, _, domain = addr.partition("@")
    if not username or not domain or any(c in addr for c in "\r\n <>,;\"()"):
        raise ValueError(f"not a plain address: {addr!r}")
    # A non-ASCII name goes out as an RFC 2047 encoded word, an ASCII one quoted as needed.
    return formataddr((one_line(name), addr), charset="utf-8").replace("\n", CRLF)


def _addresses(field: str, people: list[tuple[str, str]]) -> str:
    """`field: a, b, …`, folded between addresses where a line would pass 78 columns."""
    out = f"{field}:"
    column = len(out)
    for i, (name, addr) in enumerate(people):
        item = _address(name, addr) + ("," if i < len(people) - 1 else "")
        if i and column + 1 + len(item.split(CRLF, 1)[0]) > _WIDTH:
            out += CRLF + " " + item
        else:
            out += " " + item
        column = len(out.rsplit(CRLF, 1)[-1])
    return out


def _base64(content: bytes) -> bytes:
    # 76 characters a line, as RFC 2045 asks; one C call for the whole payload.
    return base64.encodebytes(content).replace(b"\n", b"\r\n")


def _part(mime: str, content: bytes, disposition: str = "") -> bytes:
    charset = '; charset="utf-8"' if mime.startswith("text/") else ""
    head = (f"Content-Type: {mime}{charset}{CRLF}MIME-Version: 1.0{CRLF}"
            f"Content-Transfer-Encoding: base64{CRLF}")
    if disposition:
        head += f"Content-Disposition: {disposition}{CRLF}"
    return (head + CRLF).encode("ascii") + _base64(content)


def _multipart(boundary: str, parts: list[bytes]) -> bytes:
    # Each part ends in CRLF and is followed by a blank line, as the email package lays
    # it out: the line break before a boundary belongs to the boundary (RFC 2046).
    sep = f"--{boundary}{CRLF}".encode()
    out = []
    for part in parts:
        out += [sep, part, b"\r\n"]
    out.append(f"--{boundary}--{CRLF}".encode())
    return b"".join(out)


def _attachment(filename: str, mime: str, content: bytes) -> bytes:
    # Text attachments (CSV) are UTF-8 and say so, or clients guess a legacy charset; they
    # go out as the bytes they are, never decoded to text on the way.
    name = one_line(filename)
    if name.isascii():
        disposition = f'attachment; filename="{quote(name)}"'
    else:
        # Non-ASCII names go out RFC 2231-encoded, which every client here reads.
        disposition = f"attachment;{CRLF} filename*={encode_rfc2231(name, 'utf-8', '')}"
    return _part(mime, content, disposition)
