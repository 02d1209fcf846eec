"""The only imapclient user: connect, read a folder incrementally, raw bytes out.

Mailboxes are only ever read: folders are opened with EXAMINE and bodies fetched with
BODY.PEEK, so no flag changes. INTERNALDATE — when the company's server received the
mail — comes back as an aware datetime.
"""

from __future__ import annotations

import ast
import imaplib
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from datetime import date, datetime, timedelta, timezone

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from ..errors import UserError
from .rawmail import RawMail
from ..config.settings import Mailbox, is_loopback
from ..config.tlsfix import tls_context

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


_HEAD = re.compile(rb'UID (\d+) RFC822\.SIZE (\d+) INTERNALDATE "([^"]+)"')  # Dovecot's order
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_DATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_FETCH_LITERAL = re.compile(rb"\* \d+ FETCH .*\{(\d+)\}\r\n\Z", re.S)
_LITERAL = re.compile(rb"\{(\d+)\}(?:\r\n)?\Z")


class Client(IMAPClient):
    """IMAPClient with the bulk FETCHes of a sync done by hand.

    IMAPClient.fetch joins ids with commas (100k sparse UIDs make a command line longer
    than servers accept) and, since 3.x, filters the answer by int(each id), so a range
    such as "1:500,700" cannot be passed to it. Its response parser also tokenises every
    byte of every body; a sync asks for two fixed shapes of answer, read here off the
    socket with a few regular expressions, faster than imaplib's own response loop.
    """

    examined: tuple[str, int] | None = None   # the folder open read-only, its UIDVALIDITY

    def examine(self, box: Mailbox, folder: str) -> int:
        """Open the folder read-only, or, when it is open already, make the server report
        the mail that came since the last command. Returns the UIDVALIDITY.

        A folder kept open is cheaper than EXAMINE each poll, but RFC 3501 lets a server
        hold new mail back from an open folder until NOOP or CHECK (pymap does: a UID
        SEARCH there does not see it, and a report would be missed until the next NOOP).
        So an idle poll is NOOP + UID SEARCH, not EXAMINE + SEARCH; a server would close
        the folder were its UIDVALIDITY to change."""
        if self.examined is not None and self.examined[0] == folder:
            self.noop()
            self.saw_new_mail()   # what NOOP reported, the search that follows finds
            return self.examined[1]
        self.examined = None
        try:
            info = self.select_folder(folder, readonly=True)
        except IMAPClientError as exc:
            raise ImapError(f"mailbox {box.name}: folder {folder!r} cannot be opened: "
                            f"{error_text(exc)}{self._folders_hint()}") from None
        self.examined = (folder, int(info[b"UIDVALIDITY"]))
        return self.examined[1]

    def _folders_hint(self) -> str:
        """The folders the server has, for the fix of a misnamed one (a client shows 收件箱
        where the server says INBOX)."""
        try:
            names = [str(name) for _, _, name in self.list_folders()]
        except (IMAPClientError, OSError):
            return ""
        # INBOX first: it is the folder most people mean (收件箱 in their client).
        names.sort(key=lambda n: n.upper() != "INBOX")
        shown = ", ".join(names[:20]) + (" …" if len(names) > 20 else "")
        return f"; this server has: {shown}; name one of them in folders = [...]" if names else ""

    def saw_new_mail(self) -> bool:
        """Did the server report new mail (an untagged EXISTS) since the last call?"""
        return bool(self._imap.untagged_responses.pop("EXISTS", None))

    def _uid_fetch(self, uids: list[int], items: str) -> list[tuple[bytes, bytes, bytes]]:
        """Each answer of a UID FETCH carrying a literal: `_answers(_ask(…))`."""
        return self._answers(self._ask(uids, items))

    def _ask(self, uids: list[int], items: str) -> bytes:
        """Send a UID FETCH without waiting for its answer; returns its tag, for
        `_answers`. Commands asked one after another are answered in that order."""
        return self._imap._command("UID", "FETCH", collapse(uids), items)

    def _answers(self, tag: bytes) -> list[tuple[bytes, bytes, bytes]]:
        """The answers to the FETCH tagged `tag` that carry a literal, as (the line up to
        the literal, the literal, what follows it up to the end of the answer).

        Read straight off imaplib's socket file: its general response loop (a regular
        expression per line, a log entry, the answers kept in a dict of lists) cost half
        the fetch stage's CPU. Other untagged answers (EXISTS, EXPUNGE, BYE) are handed to
        imaplib's store as its own loop would."""
        imap = self._imap
        done = tag + b" "
        readline, read = imap.readline, imap.read
        answers: list[tuple[bytes, bytes, bytes]] = []
        while True:
            line = readline()
            if not line:
                raise imap.abort("socket error: EOF")
            body = _FETCH_LITERAL.match(line)
            if body is not None:
                data = read(int(body.group(1)))
                rest = readline()
                while rest.endswith(b"}\r\n") and _LITERAL.search(rest):
                    # A second literal in one answer is not something asked for; read it
                    # to stay in step with the stream.
                    rest = rest + read(int(_LITERAL.search(rest).group(1))) + readline()
                answers.append((line.rstrip(), data, rest.rstrip()))
            elif line.startswith(done):
                del imap.tagged_commands[tag]
                typ, _, text = line[len(done):].rstrip().partition(b" ")
                self._checkok("fetch", typ.decode("ascii", "replace"), [text])
                imap._check_bye()
                return answers
            else:
                self._other_answer(line.rstrip(b"\r\n"))

    def _other_answer(self, line: bytes) -> None:
        """An answer inside a FETCH's that is not a body: kept for imaplib (EXISTS for
        saw_new_mail, BYE to end the connection) as its response loop keeps it."""
        imap = self._imap
        status = imap.Untagged_status.match(line)
        found = status or imaplib.Untagged_response.match(line)
        if found is None:
            raise imap.abort(f"unexpected response: {line[:80]!r}")
        typ, dat = found.group("type").decode("ascii"), found.group("data") or b""
        if status is not None and status.group("data2"):
            dat += b" " + status.group("data2")
        while (literal := _LITERAL.search(dat)) is not None:
            imap._append_untagged(typ, (dat, imap.read(int(literal.group(1)))))
            dat = imap.readline().rstrip(b"\r\n")
        if typ != "FETCH":   # a FETCH without a body (flags changed elsewhere): not asked for
            imap._append_untagged(typ, dat)

    def ask_heads(self, uids: list[int], limit: int) -> bytes:
        """Send the FETCH of each mail's size, date and first `limit` bytes, without
        waiting for the answer; `heads` reads it."""
        return self._ask(uids, f"(UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.{limit}>)")

    def heads(self, tag: bytes, uids: list[int]) -> dict[int, tuple[int, datetime, bytes]]:
        """The answer to `ask_heads(uids, …)` sent as `tag`: UID → (RFC822.SIZE,
        INTERNALDATE (aware), the first bytes of the message: all of it when shorter)."""
        wanted, out = set(uids), {}
        for line, data, rest in self._answers(tag):
            found = _HEAD.search(line)
            if found is not None:
                uid, size, when = found.groups()
            else:
                # Items in another order, or after the literal.
                text = line + b" " + rest
                parts = _UID.search(text), _SIZE.search(text), _DATE.search(text)
                if None in parts:
                    continue
                uid, size, when = (p.group(1) for p in parts)  # type: ignore[union-attr]
            number = int(uid)
            if number in wanted:   # a UID left without an answer was expunged meanwhile
                out[number] = (int(size), _internaldate(when), data)
        return out

    def fetch_bodies(self, uids: list[int], section: str = "BODY.PEEK[]") -> dict[int, bytes]:
        """UID → the message bytes (or the part `section` asks for)."""
        if not uids:
            return {}
        wanted, out = set(uids), {}
        for line, data, rest in self._uid_fetch(uids, f"(UID {section})"):
            uid = _UID.search(line) or _UID.search(rest)   # a server may put UID after it
            if uid is not None and int(uid.group(1)) in wanted:
                out[int(uid.group(1))] = data
        return out


def _tls_context(box: Mailbox) -> ssl.SSLContext:
    return tls_context(box.ca_file, box.verify_tls)


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
                        f"({error_text(exc)}); check the password in ${box.password_env} "
                        "(NetEase and QQ want the 授权码, not the web password)") from None
    except (OSError, IMAPClientError, ssl.SSLError) as exc:
        raise ImapError(f"mailbox {box.name}: cannot reach {box.host}:{box.port} "
                        f"({box.security}): {error_text(exc)}") from None
    return client


# imaplib raises with the server's reply as bytes, and imapclient's LoginError keeps the
# repr of those bytes: left alone, a user reads "refused (b'[AUTHENTICATIONFAILED] …')".
_BYTES_REPR = re.compile(r"""(?<!\w)b('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


def _decoded(raw: bytes) -> str:
    for charset in ("utf-8", "gb18030"):   # replies in Chinese come from NetEase and QQ too
        try:
            return raw.decode(charset)
        except UnicodeDecodeError:
            pass
    return raw.decode("utf-8", errors="replace")


def _unrepr(match: re.Match[str]) -> str:
    try:
        value = ast.literal_eval(match.group(0))
    except (ValueError, SyntaxError):
        return match.group(0)
    return _decoded(value) if isinstance(value, bytes) else match.group(0)


def error_text(exc: BaseException) -> str:
    """What an IMAP error says, as text a user can read: the server's words decoded, never
    a Python bytes literal."""
    if len(exc.args) == 1 and isinstance(exc.args[0], bytes):
        msg = _decoded(exc.args[0])
    else:
        msg = _BYTES_REPR.sub(_unrepr, str(exc))
    return msg.strip() or type(exc).__name__


_MONTHS = {m: n for n, m in enumerate((b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul",
                                         b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"), start=1)}


@lru_cache(maxsize=64)
def _zone(zone: bytes) -> timezone:
    if len(zone) != 5 or zone[:1] not in (b"+", b"-"):
        raise ValueError(zone)
    offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
    return timezone(offset if zone[:1] == b"+" else -offset)


def _internaldate(value: bytes) -> datetime:
    """An IMAP date-time ("16-Nov-2026 18:00:00 +0800", the day may be " 6") as an aware
    datetime, in the server's offset; stored as UTC.
    (By split and slice: strptime cost more than the rest of reading the answer, and a
    regular expression's groups half of it.)"""
    try:
        day, clock, zone = value.split()
        mday, month, year = day.split(b"-")
        if len(clock) != 8 or len(year) != 4:
            raise ValueError(value)
        return datetime(int(year), _MONTHS.get(month) or _MONTHS[month.title()], int(mday),
                        int(clock[:2]), int(clock[3:5]), int(clock[6:]), tzinfo=_zone(zone))
    except (ValueError, KeyError):
        raise ImapError(f"server returned an unreadable INTERNALDATE ({value[:40]!r})") from None


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
    uidvalidity = client.examine(box, folder)
    if cursor is not None and cursor.uidvalidity != uidvalidity:
        log.warning("%s/%s: UIDVALIDITY changed %s → %s; reading the folder again",
                    box.name, folder, cursor.uidvalidity, uidvalidity)
    uids = _new_uids(client, cursor, uidvalidity, box.since if cursor is None or
                     cursor.uidvalidity != uidvalidity else None)
    if not uids:
        last = cursor.last_uid if cursor and cursor.uidvalidity == uidvalidity else 0
        yield Batch(uidvalidity, [], last, 0)
        return
    yield from _chunks(client, box, folder, uidvalidity, uids)


BATCH_BYTES = 8 * 1024 * 1024   # what a batch holds in memory, whatever its count
ANSWER_BYTES = 4 * BATCH_BYTES  # what one FETCH's answer may hold at the most
HEAD_MIN = 16 * 1024
MIN_CHUNK = 50                  # mails per FETCH at the least, however long the mail


def _next_fetch(box: Mailbox, longest: int, mean: int) -> tuple[int, int]:
    """How many mails the next FETCH asks for, and how many bytes of each, from the mail
    read so far in this sync: the longest and the mean size of the last chunk (the next
    mails are most likely alike: a company's report mail is 10 to 80 KB, one in ten with
    an attachment). 0, 0 before the first.

    Each mail's share is the longest mail seen, so each comes whole in one answer and
    none costs a second FETCH (`_rests` continues a longer one); at least BATCH_BYTES
    shared among `fetch_batch` mails, at most among MIN_CHUNK. As many mails as make
    about half of BATCH_BYTES at the mean size (fewer FETCHes: each costs the server a
    pass), never more than ANSWER_BYTES at the full share, nor more than `fetch_batch`."""
    cap, most = box.max_message_bytes, box.fetch_batch
    floor = min(cap, max(HEAD_MIN, BATCH_BYTES // most))
    if not mean:
        return most, floor
    share = min(cap, max(floor, min(longest, BATCH_BYTES // MIN_CHUNK)))
    count = min(most, ANSWER_BYTES // share, max(MIN_CHUNK, BATCH_BYTES // (2 * mean)))
    return max(1, count), share


def _chunks(client: Client, box: Mailbox, folder: str, uidvalidity: int,
            uids: list[int]) -> Iterator[Batch]:
    """The new mail a FETCH per chunk of UIDs, the next chunk's FETCH sent as soon as the
    one before needs nothing more from the server: while the caller records a batch, the
    server reads the next chunk's mail. How many mails a chunk holds, and how much of
    each is asked for, is learnt from the chunk before (`_next_fetch`)."""
    count, share = _next_fetch(box, 0, 0)
    start, chunk, longest = 0, uids[:count], 0
    asked: bytes | None = client.ask_heads(chunk, share)
    try:
        while asked is not None:
            heads = client.heads(asked, chunk)
            asked = None
            sizes = [min(size, box.max_message_bytes) for size, _, _ in heads.values()]
            if sizes:
                longest = max(longest, *sizes)
                count, share = _next_fetch(box, longest, sum(sizes) // len(sizes) or 1)
            start += len(chunk)
            following = uids[start:start + count]

            def ask_next(following: list[int] = following, share: int = share) -> None:
                nonlocal asked
                if following and asked is None:
                    asked = client.ask_heads(following, share)

            yield from _fetch_chunk(client, box, folder, uidvalidity, chunk, heads, len(uids),
                                    ask_next)
            chunk = following
    finally:
        if asked is not None:
            # The caller stopped early: read the FETCH already sent, so the connection
            # stays in step for its next command.
            try:
                client._answers(asked)
            except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
                log.info("%s/%s: the FETCH sent ahead could not be read to its end: %s",
                         box.name, folder, error_text(exc))


def _rests(client: Client, first: tuple[int, int, bytes],
           following: list[tuple[int, int, bytes]], cap: int) -> dict[int, bytes]:
    """The rest of `first`'s bytes past its head, and of the mails after it whose heads
    stopped at the same offset, in one FETCH while they add up to BATCH_BYTES: a mail
    with an attachment costs no round trip of its own (one in ten report mails has one).
    A mail over the cap is read alone up to the cap. (uid, size, head) in, uid → rest."""
    uid, full, head = first
    offset = len(head)
    if full > cap:
        return client.fetch_bodies([uid], f"BODY.PEEK[]<{offset}.{cap - offset}>")
    group, total = [uid], full - offset
    for other, size, data in following:
        if len(data) != offset or len(data) >= size or size > cap:
            continue
        if total + size - offset > BATCH_BYTES:
            break
        group.append(other)
        total += size - offset
    # Each asks to the cap; the server sends each only to the end of its message.
    return client.fetch_bodies(group, f"BODY.PEEK[]<{offset}.{cap - offset}>")


def _fetch_chunk(client: Client, box: Mailbox, folder: str, uidvalidity: int,
                 chunk: list[int], heads: dict[int, tuple[int, datetime, bytes]], total: int,
                 done: Callable[[], None]) -> Iterator[Batch]:
    """The chunk's mail from its `heads` (each mail's size, date and first bytes); the
    rest of a longer mail, up to the cap, is fetched here. `done` is called once nothing
    more is asked of the server for this chunk. Batches come out in UID order, each under
    BATCH_BYTES."""
    cap = box.max_message_bytes
    last = max((i for i, uid in enumerate(chunk)
                if uid in heads and len(heads[uid][2]) < min(heads[uid][0], cap)), default=-1)
    if last < 0:
        done()
    rests: dict[int, bytes] = {}
    batch: list[RawMail] = []
    size = 0
    for i, uid in enumerate(chunk):
        if uid not in heads:
            continue
        full, received, data = heads.pop(uid)
        want = min(full, cap)
        if len(data) < want:
            # Only the head of an oversized mail: headers and the text part come first, so
            # the report is still read while a 50 MB attachment stays on the server.
            if uid not in rests:
                rests.update(_rests(client, (uid, full, data), [
                    (u, *heads[u][::2]) for u in chunk[i + 1:] if u in heads], cap))
            data += rests.pop(uid, b"")
            if i == last:
                done()
        if full > cap:
            log.info("%s/%s: UID %d of %d bytes fetched in part (first %d)", box.name, folder,
                     uid, full, cap)
        # Positional: keywords cost a third of building the value, 20,000 times a backlog.
        batch.append(RawMail(data, received, box.name, folder, uidvalidity, uid, full, full > cap))
        size += len(data)
        if size >= BATCH_BYTES and uid != chunk[-1]:
            yield Batch(uidvalidity, batch, uid, total)
            batch, size = [], 0
    yield Batch(uidvalidity, batch, chunk[-1], total)


