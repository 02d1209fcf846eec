"""Parsing mail that could hurt: in a separate process with a time and memory limit.

Ordinary report mail (small, few MIME parts) is parsed in-process; it is most of the
traffic and a process per mail would cost more than the parse. A mail that is large or
has many parts — where a hostile or broken one can take seconds or gigabytes — is parsed
in a child process started by a fork server (safe beside the service's threads), killed
at the time limit and capped in address space.
"""

from __future__ import annotations

import multiprocessing
import resource
from contextlib import nullcontext
from typing import Any
from multiprocessing.connection import Connection

from .parse import ParsedMail, ParseError, parse_mail

RISKY_BYTES = 1024 * 1024
RISKY_PARTS = 200
TIME_LIMIT = 20.0
MEMORY_LIMIT = 1024 * 1024 * 1024


def processes() -> multiprocessing.context.BaseContext:
    """Where child processes come from: a fork server (safe beside the service's threads,
    where a forked copy of a lock another thread held would never be released) that has
    imported the judging code once, so each child starts at once and shares those pages."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["mailflow.judging.judge"])
    return ctx


def risky(raw: bytes) -> bool:
    return len(raw) > RISKY_BYTES or raw.count(b"\n--") > RISKY_PARTS


def _child(raw: bytes, conn: Connection, memory_limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    try:
        conn.send(("ok", parse_mail(raw)))
    except ParseError as exc:
        conn.send(("error", str(exc)))
    except MemoryError:
        conn.send(("error", f"parsing needed more than {memory_limit // 2**20} MB"))
    except Exception as exc:  # anything the email package raises on hostile input
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


# Set in worker processes: a semaphore they share (a large mail's parse takes ~10× its
# size in memory; two at once would double the peak), and plain fork for the child (a
# worker has one thread, and a fork shares its pages instead of starting a fork server).
one_at_a_time: Any = None
child_processes: multiprocessing.context.BaseContext | None = None


def parse_guarded(raw: bytes, *, time_limit: float = TIME_LIMIT,
                  memory_limit: int = MEMORY_LIMIT, force: bool = False) -> ParsedMail:
    """parse_mail, in a limited child process when the mail is risky (or `force`)."""
    if not force and not risky(raw):
        return parse_mail(raw)
    with one_at_a_time if one_at_a_time is not None else nullcontext():
        return _in_child(raw, time_limit, memory_limit)


def _in_child(raw: bytes, time_limit: float, memory_limit: int) -> ParsedMail:
    ctx = child_processes or processes()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(raw, child, memory_limit), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(time_limit):
            raise ParseError(f"parsing took longer than {time_limit:g} s; stopped")
        status, value = parent.recv()
    except EOFError:
        raise ParseError(f"the parser process died (exit code {proc.exitcode})") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()
    if status == "error":
        raise ParseError(value)
    return value
