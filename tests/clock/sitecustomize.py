"""Loaded (through PYTHONPATH) by every Python process of scripts/test.sh's runs under
faketime, and only there.

Those runs fake the wall clock and leave the monotonic clock real
(FAKETIME_DONT_FAKE_MONOTONIC=1), so that timeouts and waits keep their length. Python
3.11+ sleeps with clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME), which libfaketime
0.9.10 (Debian's) wrongly shifts by the fake offset: time.sleep fails with EINVAL
(libfaketime issue #426). A timed lock wait uses the real monotonic clock and sleeps
just as long, so time.sleep is made one. (The same shift of pthread_cond_timedwait, the
GIL's wait, is turned off by FAKETIME_FORCE_MONOTONIC_FIX=0 in scripts/test.sh.)
"""

import threading
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    lock = threading.Lock()
    lock.acquire()
    lock.acquire(timeout=seconds)


time.sleep = _sleep
