"""Delivering the outbox with aiosmtplib: `[smtp] connections` lanes, each reusing one
connection, each row claimed and committed before its SMTP conversation and marked sent
right after it (in the same transaction that claims the lane's next row)."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parseaddr

import aiosmtplib
from aiosmtplib import (SMTPException, SMTPRecipientRefused, SMTPResponseException,
                        SMTPServerDisconnected, SMTPTimeoutError)

from .. import faults
from . import outbox
from ..app import App
from ..errors import UserError
from ..config.settings import Smtp, read_secret

log = logging.getLogger(__name__)


@dataclass
class SendReport:
    sent: int = 0
    retry: int = 0
    failed: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    retry_reasons: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.sent} sent, {self.retry} to retry, {len(self.failed)} failed, "
                f"{len(self.unknown)} with unknown outcome")


class _Temporary(Exception):
    """Not delivered, and worth another try later."""


class _Permanent(Exception):
    """Not delivered; the server said no for good."""


class _Unknown(Exception):
    """The conversation broke after DATA began: the server may have the mail."""


def _words(exc: SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".strip()


def _client(cfg: Smtp) -> aiosmtplib.SMTP:
    context = ssl.create_default_context(cafile=cfg.ca_file)
    if not cfg.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return aiosmtplib.SMTP(hostname=cfg.host, port=cfg.port, use_tls=cfg.security == "ssl",
                           start_tls=True if cfg.security == "starttls" else False,
                           timeout=cfg.timeout, tls_context=context
                           if cfg.security != "none" else None)


async def _connect(cfg: Smtp) -> aiosmtplib.SMTP:
    client = _client(cfg)
    try:
        await client.connect()
        if cfg.username:
            await client.login(cfg.username, read_secret(cfg.password_env, "[smtp] password_env"))
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise UserError(f"SMTP login as {cfg.username} at {cfg.host} refused ({_words(exc)}); "
                        f"check ${cfg.password_env}") from None
    except (SMTPException, OSError) as exc:
        raise _Temporary(f"cannot reach SMTP server {cfg.host}:{cfg.port}: {exc}") from None
    return client


async def _deliver(client: aiosmtplib.SMTP, row: outbox.Claimed, sender: str) -> dict[str, str]:
    """One message; returns the refused recipients with the server's words."""
    try:
        await client.mail(sender)
    except SMTPResponseException as exc:
        raise (_Temporary if 400 <= exc.code < 500 else _Permanent)(_words(exc)) from None
    except (SMTPServerDisconnected, SMTPTimeoutError, OSError) as exc:
        raise _Temporary(f"connection lost before the message was sent: {exc}") from None
    refused: dict[str, str] = {}
    for rcpt in [*row.to_addrs, *row.cc_addrs]:
        try:
            await client.rcpt(rcpt)
        except SMTPRecipientRefused as exc:
            refused[rcpt] = _words(exc)
        except (SMTPServerDisconnected, SMTPTimeoutError, OSError) as exc:
            raise _Temporary(f"connection lost before the message was sent: {exc}") from None
    if len(refused) == len(row.to_addrs) + len(row.cc_addrs):
        await client.rset()
        temporary = all(w.startswith("4") for w in refused.values())
        raise (_Temporary if temporary else _Permanent)(
            "every recipient refused: " + "; ".join(f"{a}: {w}" for a, w in refused.items()))
    try:
        await client.data(row.raw)
    except SMTPResponseException as exc:
        # The server answered DATA with an error: it said clearly that it did not take it.
        raise (_Temporary if 400 <= exc.code < 500 else _Permanent)(_words(exc)) from None
    except (SMTPServerDisconnected, SMTPTimeoutError, OSError) as exc:
        raise _Unknown(f"connection lost during DATA: {exc}") from None
    return refused


def send_pending(app: App, progress: Callable[[str], None] = lambda m: None) -> SendReport:
    cfg = app.settings.smtp
    if cfg is None:
        raise UserError(f"{app.settings.path}: there is no [smtp] section; add host, port, "
                        "security and sender to send mail")
    report = SendReport()
    with app.db.begin() as session:
        for row in outbox.recover(session, app.now()):
            report.unknown.append(f"<{row.message_id}> to {', '.join(row.to_addrs)}: "
                                  f"{row.last_error}")
    asyncio.run(send_loop(app, cfg, report, progress))
    return report


async def send_loop(app: App, cfg: Smtp, report: SendReport,
                    progress: Callable[[str], None]) -> None:
    """Deliver every due row, on `cfg.connections` connections at once."""
    await asyncio.gather(*(_lane(app, cfg, report, progress) for _ in range(cfg.connections)))


async def _lane(app: App, cfg: Smtp, report: SendReport,
                progress: Callable[[str], None]) -> None:
    sender = parseaddr(cfg.sender)[1]
    client: aiosmtplib.SMTP | None = None
    done: tuple[int, dict[str, str]] | None = None   # delivered, not yet marked sent
    try:
        while True:
            with app.db.begin() as session:
                if done is not None:
                    outbox.mark_sent(session, done[0], app.now(), done[1])
                    done = None
                rows = outbox.claim(session, app.now(), limit=1)
            if not rows:
                break
            row = rows[0]
            faults.point("claimed")
            try:
                if client is None or not client.is_connected:
                    client = await _connect(cfg)
                refused = await _deliver(client, row, sender)
            except _Temporary as exc:
                with app.db.begin() as session:
                    outbox.mark_retry(session, row, app.now(), str(exc))
                report.retry += 1
                report.retry_reasons.append(f"<{row.message_id}> {row.subject}: {exc}")
                client = await _drop(client)
                if "cannot reach" in str(exc):
                    break  # the server is down: the rest waits for the next run
                continue
            except _Permanent as exc:
                with app.db.begin() as session:
                    outbox.mark_failed(session, row.id, str(exc))
                report.failed.append(f"<{row.message_id}> {row.subject}: {exc}")
                continue
            except _Unknown as exc:
                with app.db.begin() as session:
                    outbox.mark_unknown(session, row.id, str(exc))
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
