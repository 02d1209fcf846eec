"""Named fault points for the fault tests. MAILFLOW_FAULT=point:N kills the process with
SIGKILL the N-th time it passes `point`, exactly as `kill -9` would; point:N:stall=S
instead stops there for S seconds (time for a test to take a server away). Unset, it
costs one dictionary lookup."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

_hits: Counter[str] = Counter()


def point(name: str) -> None:
    spec = os.environ.get("MAILFLOW_FAULT")
    if not spec:
        return
    target, _, rest = spec.partition(":")
    if target != name:
        return
    count, _, action = rest.partition(":")
    _hits[name] += 1
    if _hits[name] != int(count or 1):
        return
    if action.startswith("stall="):
        time.sleep(float(action.split("=", 1)[1]))
    else:
        os.kill(os.getpid(), signal.SIGKILL)
