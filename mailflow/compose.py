"""Building an outgoing mail: HTML with a plain-text part, safe headers, a Message-ID that
is the same every time the same mail is built."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from .render import Rendered, one_line


def message_id(dedupe_key: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "mailflow.invalid"
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]
    return f"{dedupe_key.split('|', 1)[0]}.{digest}@{domain}"


def _address(name: str, addr: str) -> Address:
    # Names come from the roster and from mail: no line breaks may reach a header.
    username, _, domain = addr.partition("@")
    if not username or not domain or any(c in addr for c in "\r\n <>,;\""):
        raise ValueError(f"not a plain address: {addr!r}")
    return Address(display_name=one_line(name), username=username, domain=domain)


Attachment = tuple[str, str, bytes]   # file name, MIME type, content


def build(*, sender: str, to: list[tuple[str, str]], cc: list[tuple[str, str]],
          rendered: Rendered, msg_id: str, date: datetime, reply_to: str = "",
          attachments: tuple[Attachment, ...] = ()) -> bytes:
    msg = EmailMessage(policy=SMTP)
    sender_name, sender_addr = parseaddr(sender)
    msg["From"] = _address(sender_name, sender_addr)
    msg["To"] = [_address(n, a) for n, a in to]
    if cc:
        msg["Cc"] = [_address(n, a) for n, a in cc]
    if reply_to:
        # Answers to an automatic mail go to a person (HR), not to the robot's address.
        msg["Reply-To"] = _address("", reply_to)
    msg["Subject"] = one_line(rendered.subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = f"<{msg_id}>"
    # RFC 3834: an automatic mail; well-behaved auto-responders do not answer it.
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(rendered.text, charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    for filename, mime, content in attachments:
        maintype, _, subtype = mime.partition("/")
        # Non-ASCII names go out RFC 2231-encoded, which every client here reads.
        if maintype == "text":
            # Text attachments (CSV) are UTF-8 and say so, or clients guess a legacy charset.
            msg.add_attachment(content.decode("utf-8"), subtype=subtype, charset="utf-8",
                               filename=one_line(filename))
        else:
            msg.add_attachment(content, maintype=maintype, subtype=subtype,
                               filename=one_line(filename))
    return msg.as_bytes()
