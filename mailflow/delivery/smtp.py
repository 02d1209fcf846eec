"""Delivering the outbox with aiosmtplib: `[smtp] connections` lanes, each reusing one
connection, each row claimed and committed before its SMTP conversation and marked sent
right after it (in the same transaction that claims the lane's next row).

Where a conversation stops decides what becomes of the row. A lane connects and logs in
before it claims a row, so a server it cannot reach, a TLS failure or a refused login
touches no row: the problem is recorded (`outbox.record_problem`) and the mail waits. Any
reply or dropped connection before the end of DATA means the server does not have the
mail: the row is retried with backoff. The row's `data_at` is committed just before the
final "." is written; only a failure after that and before the server's reply leaves the
outcome unknown. Transactions here are this module's own (one per step).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar
from email.utils import parseaddr

import aiosmtplib
from aiosmtplib import (SMTPException, SMTPRecipientRefused, SMTPResponseException,
                        SMTPServerDisconnected, SMTPTimeoutError)

from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

from .. import faults
from . import outbox
from ..store import leases
from ..app import App
from ..errors import ConfigError, UserError
from ..config.settings import Smtp, read_secret
from ..config.tlsfix import tls_context, tls_fix

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class SendReport:
    sent: int = 0
    retry: int = 0
    failed: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)   # pending past their use: not sent
    retry_reasons: list[str] = field(default_factory=list)
    problem: str | None = None     # why the server could not be used; nothing was claimed
    connected: bool = False        # a connection was made and logged in
    waiting: outbox.Waiting | None = None
    resent: list[str] = field(default_factory=list)    # unknown, sent again (on_unknown)
    # Every delivery whose outcome is unknown and that nobody has resolved, after the pass
    # (send_pending reads it): named at every send until resolved.
    unresolved: list[outbox.Listed] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.sent} sent, {self.retry} to retry, {len(self.failed)} failed, "
                f"{len(self.unknown)} with unknown outcome"
                + (f", {len(self.expired)} expired (not sent)" if self.expired else ""))


class _Temporary(Exception):
    """Not delivered, and worth another try later."""


class _Permanent(Exception):
    """Not delivered; the server said no for good."""


class _Unknown(Exception):
    """The conversation broke after the end of DATA was written: the server may have the
    mail."""


class _TakenOver(Exception):
    """The row was settled by another sender as a dead one's while this one delivered it
    (this one was silent longer than its lease): the end of DATA is not written."""


class ServerUnusable(Exception):
    """No conversation could start (no connection, TLS, login): no row is touched."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind   # connect, tls, login


def _words(exc: SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".strip()


def _client(cfg: Smtp) -> aiosmtplib.SMTP:
    tls = cfg.security != "none"
    return aiosmtplib.SMTP(hostname=cfg.host, port=cfg.port, use_tls=cfg.security == "ssl",
                           start_tls=True if cfg.security == "starttls" else False,
                           timeout=cfg.timeout,
                           tls_context=tls_context(cfg.ca_file, cfg.verify_tls) if tls else None)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" ({cause})"
    return text


async def connect(cfg: Smtp) -> aiosmtplib.SMTP:
    """A connection that is ready for MAIL: TLS as configured, logged in if a username is
    set. Raises ServerUnusable with a one-line message that names the fix."""
    where = f"SMTP server {cfg.host}:{cfg.port} (security = \"{cfg.security}\")"
    try:
        password = read_secret(cfg.password_env, "[smtp] password_env") if cfg.username else ""
    except ConfigError:
        raise ServerUnusable("login", f"cannot log in to {where}: the environment variable "
                             f"{cfg.password_env} is not set; export it with the SMTP "
                             "password (QQ and NetEase want the 授权码)") from None
    client = _client(cfg)
    try:
        await client.connect()
    except (SMTPException, OSError) as exc:
        client.close()
        text = _reason(exc)
        fix = tls_fix("[smtp]", cfg.security, cfg.port, text)
        if fix:
            raise ServerUnusable("tls", f"TLS with {where} failed: {text}; {fix}") from None
        raise ServerUnusable("connect", f"cannot reach {where}: {text}") from None
    if not cfg.username:
        return client
    try:
        await _login(client, cfg.username, password)
    except aiosmtplib.SMTPAuthenticationError as exc:
        client.close()
        raise ServerUnusable("login", f"{where} refused the login as {cfg.username} "
                             f"({_words(exc)}); check the password in ${cfg.password_env} "
                             "(QQ and NetEase want the 授权码, not the web password)") from None
    except (SMTPException, OSError) as exc:
        client.close()
        text = _reason(exc)
        if "not supported" in text.lower():
            raise ServerUnusable("login", f"{where} offers no login (AUTH) on this connection "
                                 f"({text}); most servers offer it only over TLS: set "
                                 '[smtp] security = "starttls" or "ssl"') from None
        raise ServerUnusable("connect", f"cannot log in to {where}: {text}") from None
    return client


async def _login(client: aiosmtplib.SMTP, username: str, password: str) -> None:
    """Log in with the first mechanism that works, like aiosmtplib's login, but stop at a
    535: the password is wrong whatever the mechanism, and every further try is one more
    failed login towards the account's lockout (QQ and NetEase lock after a few)."""
    if client.is_ehlo_or_helo_needed:
        await client.ehlo()
    if not client.supports_extension("auth"):
        await client.login(username, password)   # raises the "no AUTH" error it words
        return
    failure: aiosmtplib.SMTPAuthenticationError | None = None
    for name in client.supported_auth_methods:
        try:
            await getattr(client, f"auth_{name.replace('-', '')}")(username, password)
            return
        except aiosmtplib.SMTPAuthenticationError as exc:
            failure = exc
            if exc.code == 535:
                break
    raise failure or aiosmtplib.SMTPException("no login mechanism this server offers works")


_LOST = "connection lost before the end of the message (not delivered)"


async def _deliver(client: aiosmtplib.SMTP, row: outbox.Claimed, sender: str,
                   data_end: Callable[[], Awaitable[None]]) -> dict[str, str]:
    """One message; returns the refused recipients with the server's words. `data_end` is
    awaited (and must commit) just before the final "." of DATA is written."""
    try:
        await client.mail(sender)
    except SMTPResponseException as exc:
        # A refused sender is about the account or the session, not this message.
        raise _Temporary(f"MAIL FROM refused: {_words(exc)}") from None
    except (SMTPServerDisconnected, SMTPTimeoutError, OSError) as exc:
        raise _Temporary(f"{_LOST}: {exc}") from None
    refused: dict[str, str] = {}
    for rcpt in [*row.to_addrs, *row.cc_addrs]:
        try:
            await client.rcpt(rcpt)
        except SMTPRecipientRefused as exc:
            refused[rcpt] = _words(exc)
        except (SMTPServerDisconnected, SMTPTimeoutError, OSError) as exc:
            raise _Temporary(f"{_LOST}: {exc}") from None
    if len(refused) == len(row.to_addrs) + len(row.cc_addrs):
        try:
            await client.rset()
        except (SMTPException, OSError):
            client.close()
        # Retried with backoff like any reply before the end of DATA: a relay or policy
        # refusal is often the account's, and the row gives up after MAX_ATTEMPTS.
        raise _Temporary("every recipient refused: "
                         + "; ".join(f"{a}: {w}" for a, w in refused.items()))
    await _data(client, row.raw, data_end)
    return refused


async def _data(client: aiosmtplib.SMTP, raw: bytes,
                data_end: Callable[[], Awaitable[None]]) -> None:
    """DATA written by hand rather than with `client.data`, which sends the final "." in
    the same write as the message: here the row is marked just before it."""
    try:
        start = await client.execute_command(b"DATA")
    except (SMTPServerDisconnected, SMTPTimeoutError, OSError) as exc:
        raise _Temporary(f"{_LOST}: {exc}") from None
    if start.code != 354:
        raise _Temporary(f"DATA refused: {start.code} {start.message}".strip())
    protocol = client.protocol
    body = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(raw))
    try:
        assert protocol is not None
        protocol.write(body)
        await data_end()
        # A close the server sent before the "." is written means it cannot have the mail.
        # Two turns of the loop let a close already received be seen (the first runs the
        # I/O callbacks after this task's turn); one still on its way cannot be, and its
        # row is reported unknown.
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        if not client.is_connected:
            raise SMTPServerDisconnected("the server closed the connection")
        protocol.write(b".\r\n")
    except (SMTPServerDisconnected, OSError, AssertionError) as exc:
        client.close()
        raise _Temporary(f"{_LOST}: {exc}") from None
    try:
        reply = await protocol.read_response(timeout=client.timeout)
    except (SMTPServerDisconnected, SMTPTimeoutError, OSError) as exc:
        client.close()
        raise _Unknown("the connection broke after the whole message was sent, before the "
                       f"server confirmed it: {exc or type(exc).__name__}") from None
    if reply.code != 250:
        # The server answered the end of DATA with an error: it said it did not take it.
        raise (_Temporary if 400 <= reply.code < 500 else _Permanent)(
            f"{reply.code} {reply.message}".strip())


def send_pending(app: App, progress: Callable[[str], None] = lambda m: None) -> SendReport:
    cfg = app.settings.smtp
    if cfg is None:
        raise UserError(f"{app.settings.path}: there is no [smtp] section; add host, port, "
                        "security and sender to send mail")
    report = SendReport()
    asyncio.run(send_loop(app, cfg, report, progress))
    with app.read.begin() as session:
        report.waiting = outbox.waiting(session)
        report.unresolved = outbox.unresolved(session)
    return report


async def send_loop(app: App, cfg: Smtp, report: SendReport,
                    progress: Callable[[str], None]) -> None:
    """Deliver every due row, on `cfg.connections` connections at once. First, rows left
    `sending` by a sender that is gone (killed, or another instance that died) are settled:
    pending again when it stopped before the end of DATA, `unknown` (reported) after it.
    Every pass does this, not only a start, so a running instance finishes what a dead
    one left. Rows past their use (a reminder after its deadline) expire unsent."""
    with app.db.begin() as session:
        _recover(app, session, report, sending=False)
        report.expired += outbox.expire(session, app.now())
        if cfg.on_unknown == "resend":
            for row in outbox.resend_unknown(session, app.now(),
                                             timedelta(seconds=cfg.resend_after)):
                report.resent.append(f"#{row.id} <{row.message_id}> to "
                                     f"{', '.join(row.to_addrs)}")
    # One connection first: a server that refuses the login refuses it once per pass, not
    # once per lane (each refusal counts towards the account's lockout).
    first = await _open(app, cfg, report)
    if first is None:
        return
    sweep = _Sweep()
    # Held while this pass may hold rows: the other instances, on any machine, read it to
    # tell a sender at work from a dead one (renewed every 5 s, expired after 20 s).
    with leases.holding(app.db, outbox.SENDER_LEASE + outbox.claimer()):
        await asyncio.gather(*(_lane(app, cfg, report, progress, sweep,
                                     first if i == 0 else None)
                               for i in range(cfg.connections)))


RECOVER_EVERY = 5.0   # seconds between looks, during a pass, for rows a dead sender left


class _Sweep:
    """When the lanes of this pass last looked for rows a sender that has died left
    `sending`. The look is made during the pass, not only at its start: another instance
    killed mid-send would otherwise have its rows wait for this pass's whole backlog."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last < RECOVER_EVERY:
            return False
        self.last = now
        return True


def _recover(app: App, session, report: SendReport,  # type: ignore[no-untyped-def]
             sending: bool = True) -> None:
    for row in outbox.recover(session, app.now(), sending):
        report.unknown.append(f"<{row.message_id}> to {', '.join(row.to_addrs)}: "
                              f"{row.last_error}")


async def _open(app: App, cfg: Smtp, report: SendReport) -> aiosmtplib.SMTP | None:
    """A connection when some row is due and the server can be used; else None, with the
    problem recorded."""
    with app.read.begin() as session:
        if not outbox.any_due(session, app.now()):
            return None
    try:
        client = await connect(cfg)
    except ServerUnusable as exc:
        with app.db.begin() as session:
            outbox.record_problem(session, "smtp", exc.kind, str(exc), app.now())
        report.problem = str(exc)
        return None
    with app.db.begin() as session:
        outbox.clear_problem(session, "smtp")
    report.connected = True
    return client


async def _lane(app: App, cfg: Smtp, report: SendReport, progress: Callable[[str], None],
                sweep: _Sweep, client: aiosmtplib.SMTP | None) -> None:
    sender = parseaddr(cfg.sender)[1]
    done: tuple[int, dict[str, str]] | None = None   # delivered, not yet marked sent
    # On PostgreSQL each step's transaction runs on a worker thread, so a lane waiting for
    # the database lets the other lanes talk SMTP meanwhile, instead of every lane waiting
    # for every lane's round trips in turn. SQLite takes one writer at a time and commits
    # without waiting for the disk (synchronous=NORMAL): there the steps run in line.
    threaded = app.db.kw["bind"].dialect.name == "postgresql"

    async def step(fn: Callable[[], T]) -> T:
        return await asyncio.to_thread(fn) if threaded else fn()

    def take() -> list[outbox.Claimed]:
        nonlocal done
        with app.db.begin() as session:
            outbox.commit_without_waiting(session)
            if done is not None:
                outbox.mark_sent(session, done[0], app.now(), done[1])
                done = None
            if sweep.due():
                _recover(app, session, report)
            rows = outbox.claim(session, app.now(), limit=1)
            if not rows:
                # Before this lane stops, once more: what a sender that died leaves
                # pending again is sent now, not at the next pass.
                _recover(app, session, report)
                rows = outbox.claim(session, app.now(), limit=1)
        return rows

    try:
        while True:
            if client is None or not client.is_connected:
                client = await _open(app, cfg, report)
                if client is None:
                    break
            rows = await step(take)
            if not rows:
                break
            row = rows[0]
            faults.point("claimed")

            def mark(row_id: int = row.id) -> None:
                with app.db.begin() as session:
                    if not outbox.mark_data_end(session, row_id, app.now()):
                        raise _TakenOver()
                faults.point("data-end")

            async def data_end() -> None:
                await step(mark)

            try:
                refused = await _deliver(client, row, sender, data_end)
            except _Temporary as exc:
                with app.db.begin() as session:
                    outbox.mark_retry(session, row, app.now(), str(exc))
                report.retry += 1
                report.retry_reasons.append(f"<{row.message_id}> {row.subject}: {exc}")
                client = await _drop(client)
                continue
            except _Permanent as exc:
                with app.db.begin() as session:
                    outbox.mark_failed(session, row.id, str(exc))
                report.failed.append(f"<{row.message_id}> {row.subject}: {exc}")
                continue
            except _TakenOver:
                # Not ours any more: the end of DATA was not written, and the row is left
                # to the sender that took it.
                log.warning("outbox: <%s> taken over by another sender while this one was "
                            "silent; the end of its DATA not written", row.message_id)
                client = await _drop(client)
                continue
            except _Unknown as exc:
                with app.db.begin() as session:
                    outbox.mark_unknown(session, row.id, str(exc), app.now())
                report.unknown.append(f"<{row.message_id}> {row.subject}: {exc}")
                client = await _drop(client)
                continue
            faults.point("accepted")
            done = (row.id, refused)
            report.sent += 1
            for addr, words in refused.items():
                report.refused.append(f"<{row.message_id}> {addr}: {words}")
            if report.sent % 100 == 0:
                progress(f"  sent {report.sent}")
    finally:
        if done is not None:
            with app.db.begin() as session:
                outbox.mark_sent(session, done[0], app.now(), done[1])
        await _drop(client, polite=True)


def waiting_line(waiting: outbox.Waiting, tz) -> str:  # type: ignore[no-untyped-def]
    """What HR reads in `status` and `send` while the server cannot be used."""
    what = {"login": "a working SMTP login", "tls": "a working TLS connection to the SMTP "
            "server", "connect": "the SMTP server to be reachable"}.get(waiting.kind,
                                                                          "the SMTP server")
    oldest = waiting.oldest.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    since = waiting.since.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return (f"{waiting.count} mail(s) waiting for {what}, the oldest queued {oldest}; "
            f"failing since {since}: {waiting.detail}. Nothing is lost: they go out once it "
            "works.")


async def _drop(client: aiosmtplib.SMTP | None, polite: bool = False) -> None:
    if client is None:
        return None
    try:
        if polite and client.is_connected:
            await asyncio.wait_for(client.quit(), 5)
        else:
            client.close()
    except Exception:  # QUIT failing after the last 250 changes nothing that was sent
        client.close()
    return None
