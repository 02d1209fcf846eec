"""Leases: work that only one instance may do at a time, among several `mailflow run`
sharing one database.

A lease is a row (name, holder, expires_at). Taking it succeeds when nobody holds it,
when it has expired, or when its holder is a process on this host that no longer
exists (a restart need not wait out the old lease). The holder renews it while the
work goes on; an instance that is killed stops renewing, and another takes the work
over once the lease expires.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .models import Lease

TTL = timedelta(seconds=20)       # a dead holder's work is taken over within this
RENEW_EVERY = 5.0                 # seconds between renewals by the holder
RETRY_EVERY = 5.0                 # seconds between tries by an instance waiting for it


def _instance() -> str:
    """This instance's name: $MAILFLOW_INSTANCE where set (several instances on one host
    that should treat each other as separate machines), else the host name."""
    return os.environ.get("MAILFLOW_INSTANCE", "").replace(":", "_") or socket.gethostname()


def holder_id() -> str:
    """instance:pid:nonce: unique per process, and it says which machine and process
    holds the lease."""
    return f"{_instance()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_here(holder: str) -> bool:
    """Is the holder a process on this host that has gone?"""
    parts = holder.split(":")
    if len(parts) < 3 or parts[0] != _instance() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return holder != _ME       # this process's earlier self (before a fork or restart)
    return process_gone(pid)


def process_gone(pid: int) -> bool:
    """Has the process with this id (on this host) exited? One that exists but belongs to
    another user is not gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


_ME = holder_id()


def me() -> str:
    return _ME


def take(db: sessionmaker[Session], name: str, *, holder: str | None = None,
         ttl: timedelta = TTL) -> bool:
    """Take or renew the lease. True when `holder` (this process) holds it now.

    Leases run on the real clock, whatever --now says: they measure how long a holder
    has been silent, not what day the record is at."""
    holder = holder or _ME
    now = datetime.now(timezone.utc)
    try:
        with db.begin() as session:
            lease = session.scalars(select(Lease).where(Lease.name == name)
                                    .with_for_update()).first()
            if lease is None:
                session.add(Lease(name=name, holder=holder, acquired_at=now,
                                  expires_at=now + ttl))
                return True
            if lease.holder != holder and lease.expires_at > now and \
                    not _dead_here(lease.holder):
                return False
            if lease.holder != holder:
                lease.holder, lease.acquired_at = holder, now
            lease.expires_at = now + ttl
            return True
    except IntegrityError:
        return False   # another instance inserted it first


@contextmanager
def holding(db: sessionmaker[Session], name: str) -> Iterator[bool]:
    """Hold the lease for the length of the block, renewed in the background; yields
    False (and runs nothing of its own) when another instance holds it. A holder that
    dies stops renewing, so the work is free again after TTL, however long it runs."""
    if not take(db, name):
        yield False
        return
    done = threading.Event()

    def renew() -> None:
        while not done.wait(RENEW_EVERY):
            take(db, name)

    renewer = threading.Thread(target=renew, name=f"lease {name}", daemon=True)
    renewer.start()
    try:
        yield True
    finally:
        done.set()
        renewer.join()
        release(db, name)


def release(db: sessionmaker[Session], name: str, holder: str | None = None) -> None:
    with db.begin() as session:
        session.execute(delete(Lease).where(Lease.name == name,
                                            Lease.holder == (holder or _ME)))


def alive(session: Session, name: str) -> bool:
    """Is the lease `name` held by a holder that still works (renewed in time, and not a
    process on this host that has gone)?"""
    lease = session.get(Lease, name)
    return lease is not None and lease.expires_at > datetime.now(timezone.utc) and \
        not _dead_here(lease.holder)


def holders(session: Session) -> dict[str, tuple[str, datetime]]:
    """name → (holder, expires_at), for `status` and the tests."""
    return {l.name: (l.holder, l.expires_at) for l in session.scalars(select(Lease))}
