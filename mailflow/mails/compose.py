"""Building an outgoing mail: HTML with a plain-text part, safe headers, a Message-ID that
is the same every time the same mail is built."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email import encoders
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr

from .render import Rendered, one_line


def message_id(dedupe_key: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "mailflow.invalid"
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]
    return f"{dedupe_key.split('|', 1)[0]}.{digest}@{domain}"


def _address(name: str, addr: str) -> str:
    # Names come from the roster and from mail: no line breaks may reach a header.
    username, _, domain = addr.partition("@")
    if not username or not domain or any(c in addr for c in "\r\n <>,;\"()"):
        raise ValueError(f"not a plain address: {addr!r}")
    # A non-ASCII name goes out as an RFC 2047 encoded word, an ASCII one quoted as needed.
    return formataddr((one_line(name), addr), charset="utf-8")


Attachment = tuple[str, str, bytes]   # file name, MIME type, content

# The compat32 classes, not EmailMessage: the modern policy's header folding made
# building a reminder cost more than rendering, queuing and sending it together.
_WIRE = compat32.clone(linesep="\r\n")


def build(*, sender: str, to: list[tuple[str, str]], cc: list[tuple[str, str]],
          rendered: Rendered, msg_id: str, date: datetime, reply_to: str = "",
          attachments: tuple[Attachment, ...] = ()) -> bytes:
    body = MIMEMultipart("alternative")
    body.attach(MIMEText(rendered.text, "plain", "utf-8"))
    body.attach(MIMEText(rendered.html, "html", "utf-8"))
    if attachments:
        msg = MIMEMultipart("mixed")
        msg.attach(body)
        for filename, mime, content in attachments:
            msg.attach(_attachment(filename, mime, content))
    else:
        msg = body
    sender_name, sender_addr = parseaddr(sender)
    msg["From"] = _address(sender_name, sender_addr)
    msg["To"] = ", ".join(_address(n, a) for n, a in to)
    if cc:
        msg["Cc"] = ", ".join(_address(n, a) for n, a in cc)
    if reply_to:
        # Answers to an automatic mail go to a person (HR), not to the robot's address.
        msg["Reply-To"] = _address("", reply_to)
    msg["Subject"] = Header(one_line(rendered.subject), "utf-8")
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = f"<{msg_id}>"
    # RFC 3834: an automatic mail; well-behaved auto-responders do not answer it.
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    return msg.as_bytes(policy=_WIRE)


def _attachment(filename: str, mime: str, content: bytes) -> MIMEBase:
    maintype, _, subtype = mime.partition("/")
    if maintype == "text":
        # Text attachments (CSV) are UTF-8 and say so, or clients guess a legacy charset.
        part: MIMEBase = MIMEText(content.decode("utf-8"), subtype, "utf-8")
    else:
        part = MIMEBase(maintype, subtype)
        part.set_payload(content)
        encoders.encode_base64(part)
    # Non-ASCII names go out RFC 2231-encoded, which every client here reads.
    name = one_line(filename)
    part.add_header("Content-Disposition", "attachment",
                    filename=name if name.isascii() else ("utf-8", "", name))
    return part
