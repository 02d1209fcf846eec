"""Assessing chunks of mail on worker processes.

Parsing is what ingesting costs; a backlog (a first poll, a morning after an outage)
spreads it over the machine's cores while the main process stores what comes back. A
trickle of new mail is assessed in-process: starting workers would cost more.
"""

from __future__ import annotations

import os
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from .checks import Context
from ..parsing import guard
from ..parsing.guard import processes
from .judge import Assessment, Pending, assess

# Below this many pending mails the work stays in-process.
POOL_THRESHOLD = 400

_ctx: Context | None = None


def _init(ctx: Context, large_mail: Any) -> None:
    global _ctx
    _ctx = ctx
    guard.one_at_a_time = large_mail
    guard.child_processes = multiprocessing.get_context("fork")


def _assess_chunk(chunk: list[Pending]) -> list[Assessment]:
    assert _ctx is not None, "worker started without its context"
    return [assess(p, _ctx) for p in chunk]


def worker_count(pending: int) -> int:
    """How many worker processes for a backlog of this size (0: none)."""
    if pending < POOL_THRESHOLD:
        return 0
    return min(4, len(os.sched_getaffinity(0)))


class Assessor:
    """Hands out chunks of mail to assess: to worker processes once `start` was called
    for a backlog, else in-process (the future comes back already done)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.pool: ProcessPoolExecutor | None = None
        self.workers = 0

    def start(self, workers: int) -> None:
        if self.pool is not None or workers <= 0:
            return
        ctx = processes()
        self.pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init,
                                        initargs=(self.ctx, ctx.Semaphore(1)))
        self.workers = workers

    def submit(self, chunk: list[Pending]) -> Future[list[Assessment]]:
        if self.pool is not None:
            return self.pool.submit(_assess_chunk, chunk)
        done: Future[list[Assessment]] = Future()
        done.set_result([assess(p, self.ctx) for p in chunk])
        return done

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
