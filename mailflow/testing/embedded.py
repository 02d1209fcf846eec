"""An IMAP server in-process (pymap, in-memory) on a free loopback port.

For the demo and the tests: a real IMAP server speaking the real protocol, with users
and mailboxes created on the spot, so the pipeline runs unchanged against it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from argparse import ArgumentParser, Namespace
from concurrent.futures import Future
from contextlib import AsyncExitStack
from typing import Any

from pymap.backend.dict import DictBackend, Identity
from pymap.imap import IMAPService
from pymap.user import Passwords, UserMetadata
from pysasl.hashing import BuiltinHash


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _args(host: str, port: int) -> Namespace:
    parser = ArgumentParser()
    parser.add_argument("--debug", action="store_true")
    parser.set_defaults(skip_services=[], passlib_cfg=None)
    subparsers = parser.add_subparsers(dest="backend")
    DictBackend.add_subparser("dict", subparsers)
    IMAPService.add_arguments(parser)
    return parser.parse_args(["--host", host, "--port", str(port), "--no-tls", "dict",
                              "--demo-user", "admin", "--demo-password", "admin"])


class EmbeddedImap:
    """Start with .start(); add users with .add_user(); stop with .stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="embedded-imap",
                                        daemon=True)
        self._stop: asyncio.Event | None = None
        self._backend: DictBackend | None = None
        self._done: Future[None] | None = None

    def _call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> "EmbeddedImap":
        self._thread.start()
        ready: Future[None] = Future()
        self._done = asyncio.run_coroutine_threadsafe(self._serve(ready), self._loop)
        ready.result(30)
        return self

    async def _serve(self, ready: Future[None]) -> None:
        self._stop = asyncio.Event()
        try:
            # pymap hashes each password with 500,000 rounds of PBKDF2, 0.3 s for every
            # user added and every LOGIN: the demo paid 3.6 s of its 15 for that. These
            # users live in memory for one run, on loopback, with passwords made for it.
            backend, config = await DictBackend.init(_args(self.host, self.port),
                                                     hash_context=BuiltinHash(rounds=1000))
            config.apply_context()
            self._backend = backend
            async with AsyncExitStack() as stack:
                await backend.start(stack)
                await IMAPService(backend, config).start(stack)
                ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    def add_user(self, name: str, password: str) -> None:
        async def add() -> None:
            assert self._backend is not None
            login = self._backend.login
            hashed = await Passwords(login.config).hash_password(password)
            await Identity(name, login, None, {"admin"}).set(
                UserMetadata(login.config, name, password=hashed))
        self._call(add())

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            if self._done is not None:
                try:
                    self._done.result(10)
                except Exception:  # the server is going away; its errors are moot now
                    pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> "EmbeddedImap":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Collector:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"


class EmbeddedSmtp:
    """aiosmtpd on a free loopback port that keeps every message it accepts."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        from aiosmtpd.controller import Controller

        self.host = host
        self.port = free_port(host)
        self.collector = _Collector()
        self._controller = Controller(self.collector, hostname=host, port=self.port)

    @property
    def messages(self) -> list[tuple[list[str], bytes]]:
        with self.collector.lock:
            return list(self.collector.messages)

    def start(self) -> "EmbeddedSmtp":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
