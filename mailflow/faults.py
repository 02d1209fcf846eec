"""Named crash points for the fault tests: MAILFLOW_FAULT=point:N kills the process with
SIGKILL the N-th time it passes `point`, exactly as `kill -9` would. Unset, it costs one
dictionary lookup."""

from __future__ import annotations

import os
import signal
from collections import Counter

_hits: Counter[str] = Counter()


def point(name: str) -> None:
    spec = os.environ.get("MAILFLOW_FAULT")
    if not spec:
        return
    target, _, count = spec.partition(":")
    if target != name:
        return
    _hits[name] += 1
    if _hits[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
