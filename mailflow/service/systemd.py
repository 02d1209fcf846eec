"""The few lines of systemd's notify protocol `mailflow run` speaks when systemd starts it
with Type=notify: READY=1 once it runs, WATCHDOG=1 from the scheduler's loop while
WatchdogSec= is set, STOPPING=1 when it stops, and a STATUS= line. Each is one datagram on
the unix socket named by $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace);
without that variable nothing is sent. Written here rather than taken from a library:
the protocol is a datagram of text."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def _address(env: Mapping[str, str]) -> str | None:
    addr = env.get("NOTIFY_SOCKET", "")
    if addr.startswith("@"):
        return "\0" + addr[1:]
    if addr.startswith("/"):
        return addr
    return None     # unset, or a kind of socket (vsock) this does not speak


def notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send `state` ("READY=1", "WATCHDOG=1", …) to systemd; False when not under it or
    the socket is gone (logged: the service goes on)."""
    addr = _address(os.environ if env is None else env)
    if addr is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(addr)
            sock.sendall(state.encode("utf-8"))
        return True
    except OSError as exc:
        log.warning("systemd notify (%s) failed: %s", state.split("=", 1)[0], exc)
        return False


def watchdog_every(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WatchdogSec=, as systemd advises), or
    None when no watchdog is set for this process."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or _address(env) is None:
        return None
    if pid and pid != str(os.getpid()):
        return None     # meant for another process (a parent that started this one)
    return int(usec) / 1e6 / 2
