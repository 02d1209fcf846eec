"""The only imapclient user: connect, read a folder incrementally, raw bytes out.

Mailboxes are only ever read: folders are opened with EXAMINE and bodies fetched with
BODY.PEEK, so no flag changes. INTERNALDATE — when the company's server received the
mail — comes back as an aware datetime.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from datetime import date, datetime, timezone

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from .errors import UserError
from .rawmail import RawMail
from .settings import Mailbox, is_loopback

log = logging.getLogger(__name__)

CLIENT_ID = {"name": "mailflow", "version": "0.1", "vendor": "mailflow"}


class ImapError(Exception):
    """A server or network problem while reading a mailbox; the message names it."""


@dataclass(frozen=True)
class Cursor:
    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class Batch:
    uidvalidity: int
    mails: list[RawMail]
    last_uid: int          # highest UID covered by this batch (state to save with it)
    total: int             # how many new messages the folder had when the sync started


def collapse(uids: list[int]) -> str:
    """UIDs as an IMAP sequence set with ranges collapsed: 1:5,7,9:12.

    imapclient joins message ids with commas; 100k sparse UIDs then make a command line
    longer than servers accept.
    """
    if not uids:
        raise ValueError("no UIDs")
    ordered = sorted(set(uids))
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)


_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_DATE = re.compile(rb'INTERNALDATE "([^"]+)"')


class Client(IMAPClient):
    """IMAPClient with the bulk FETCHes of a sync done by hand.

    IMAPClient.fetch joins ids with commas (100k sparse UIDs make a command line longer
    than servers accept) and, since 3.x, filters the answer by int(each id), so a range
    such as "1:500,700" cannot be passed to it. Its response parser also tokenises every
    byte of every body; a sync asks for two fixed shapes of answer, read here with a few
    regular expressions at close to the speed of bare imaplib.
    """

    def _uid_fetch(self, uids: list[int], items: str) -> list[Any]:
        tag = self._imap._command("UID", "FETCH", collapse(uids), items)
        typ, resp = self._imap._command_complete("FETCH", tag)
        self._checkok("fetch", typ, resp)
        return self._imap._untagged_response(typ, resp, "FETCH")[1]

    def fetch_meta(self, uids: list[int]) -> dict[int, tuple[int, datetime]]:
        """UID → (RFC822.SIZE, INTERNALDATE as an aware UTC datetime)."""
        if not uids:
            return {}
        wanted, out = set(uids), {}
        for line in self._uid_fetch(uids, "(UID RFC822.SIZE INTERNALDATE)"):
            if isinstance(line, tuple):
                line = b"".join(line)
            uid, size, when = _UID.search(line), _SIZE.search(line), _DATE.search(line)
            if uid is None or int(uid.group(1)) not in wanted:
                continue  # an unsolicited FETCH (another message's flags)
            if size is None or when is None:
                raise ImapError(f"server answered FETCH without a size or date: {line[:200]!r}")
            out[int(uid.group(1))] = (int(size.group(1)), _internaldate(when.group(1)))
        return out

    def fetch_bodies(self, uids: list[int], section: str = "BODY.PEEK[]") -> dict[int, bytes]:
        """UID → the message bytes (or the part `section` asks for)."""
        if not uids:
            return {}
        wanted, out = set(uids), {}
        resp = self._uid_fetch(uids, f"(UID {section})")
        for i, item in enumerate(resp):
            if not isinstance(item, tuple):
                continue
            uid = _UID.search(item[0])
            if uid is None and i + 1 < len(resp) and isinstance(resp[i + 1], bytes):
                uid = _UID.search(resp[i + 1])  # a server may put UID after the literal
            if uid is not None and int(uid.group(1)) in wanted:
                out[int(uid.group(1))] = item[1]
        return out


def _tls_context(box: Mailbox) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=box.ca_file)
    if not box.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(box: Mailbox, password: str) -> Client:
    """Log in; TLS unless the host is loopback; the ID command where offered."""
    if box.security == "none" and not is_loopback(box.host):
        raise UserError(f"mailbox {box.name}: security = \"none\" is allowed only for a "
                        f"loopback host, not {box.host}")
    try:
        client = Client(box.host, port=box.port, ssl=box.security == "ssl",
                            ssl_context=_tls_context(box) if box.security == "ssl" else None,
                            timeout=box.timeout)
        # imapclient turns on imaplib's protocol debug output, which formats every
        # response, bodies included; it costs most of the fetch time and is not wanted.
        client._imap.debug = 0
        sock = client.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        # imaplib writes a command and its literal in separate sends; with Nagle on, the
        # second waits for the server's delayed ACK (40 ms a command on Linux).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if box.security == "starttls":
            client.starttls(_tls_context(box))
        client.login(box.username, password)
        if b"ID" in client.capabilities():
            # NetEase 163/126 answer "Unsafe Login" to SELECT from a client that has not
            # identified itself.
            client.id_(CLIENT_ID)
    except LoginError as exc:
        raise ImapError(f"mailbox {box.name}: login as {box.username} at {box.host} refused "
                        f"({_text(exc)}); check the password in ${box.password_env} (NetEase and "
                        "QQ want the 授权码, not the web password)") from None
    except (OSError, IMAPClientError, ssl.SSLError) as exc:
        raise ImapError(f"mailbox {box.name}: cannot reach {box.host}:{box.port} "
                        f"({box.security}): {_text(exc)}") from None
    return client


def _text(exc: BaseException) -> str:
    msg = str(exc)
    return msg.decode(errors="replace") if isinstance(msg, bytes) else (msg or type(exc).__name__)


def _internaldate(value: bytes) -> datetime:
    """An IMAP date-time ("16-Nov-2026 18:00:00 +0800") as an aware UTC datetime."""
    text = value.decode("ascii", "replace").strip()
    try:
        return datetime.strptime(text, "%d-%b-%Y %H:%M:%S %z").astimezone(timezone.utc)
    except ValueError:
        raise ImapError(f"server returned an unreadable INTERNALDATE ({text!r})") from None


def _new_uids(client: IMAPClient, cursor: Cursor | None, uidvalidity: int,
              since: date | None) -> list[int]:
    if cursor is not None and cursor.uidvalidity == uidvalidity:
        # `UID n:*` always returns the newest message even when its UID is below n.
        found = client.search(["UID", f"{cursor.last_uid + 1}:*"])
        return sorted(u for u in found if u > cursor.last_uid)
    if since is not None:
        return sorted(client.search(["SINCE", since]))
    return sorted(client.search("ALL"))


def fetch_new(client: Client, box: Mailbox, folder: str,
              cursor: Cursor | None) -> Iterator[Batch]:
    """Yield the folder's new mail in batches, oldest first.

    A changed UIDVALIDITY (the folder was rebuilt) reads the whole folder again; the store
    recognises what it already has by Message-ID, so nothing is duplicated or skipped.
    """
    try:
        info = client.select_folder(folder, readonly=True)
    except IMAPClientError as exc:
        raise ImapError(f"mailbox {box.name}: folder {folder!r} cannot be opened: "
                        f"{_text(exc)}") from None
    uidvalidity = int(info[b"UIDVALIDITY"])
    if cursor is not None and cursor.uidvalidity != uidvalidity:
        log.warning("%s/%s: UIDVALIDITY changed %s → %s; reading the folder again",
                    box.name, folder, cursor.uidvalidity, uidvalidity)
    uids = _new_uids(client, cursor, uidvalidity, box.since if cursor is None or
                     cursor.uidvalidity != uidvalidity else None)
    if not uids:
        last = cursor.last_uid if cursor and cursor.uidvalidity == uidvalidity else 0
        yield Batch(uidvalidity, [], last, 0)
        return
    for i in range(0, len(uids), box.fetch_batch):
        chunk = uids[i:i + box.fetch_batch]
        yield Batch(uidvalidity, list(_fetch_chunk(client, box, folder, uidvalidity, chunk)),
                    chunk[-1], len(uids))


def _fetch_chunk(client: Client, box: Mailbox, folder: str, uidvalidity: int,
                 chunk: list[int]) -> Iterator[RawMail]:
    meta = client.fetch_meta(chunk)
    cap = box.max_message_bytes
    small = [u for u in chunk if u in meta and meta[u][0] <= cap]
    large = [u for u in chunk if u in meta and meta[u][0] > cap]
    bodies = client.fetch_bodies(small)
    if large:
        # Only the head of an oversized mail: headers and the text part come first, so the
        # report is still read while a 50 MB attachment stays on the server.
        bodies.update(client.fetch_bodies(large, f"BODY.PEEK[]<0.{cap}>"))
        log.info("%s/%s: %d message(s) over %d bytes fetched in part", box.name, folder,
                 len(large), cap)
    for uid in chunk:
        if uid not in meta:
            continue  # expunged between SEARCH and FETCH
        size, received = meta[uid]
        yield RawMail(data=bodies.get(uid, b""), received_at=received, mailbox=box.name,
                      folder=folder, uidvalidity=uidvalidity, uid=uid, size=size,
                      truncated=uid in large)
