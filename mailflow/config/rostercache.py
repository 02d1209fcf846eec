"""The roster as last read, kept between commands: every command reads the roster at its
start, and a 50,000-person roster took half a second to parse and check each time.

An entry is keyed by the roster's bytes and by this package's roster code, so an edited
roster or a new mailflow parses afresh; only a roster that passed every check is kept.
Entries live in $MAILFLOW_CACHE_DIR, else $XDG_CACHE_HOME/mailflow, else
~/.cache/mailflow; the newest few are kept. A cache that cannot be read or written is
ignored: it only saves time. Reads and writes that folder only."""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

KEEP = 8   # entries: a test run or a few projects on one machine, not a growing folder


def folder() -> Path | None:
    given = os.environ.get("MAILFLOW_CACHE_DIR")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or (
        str(Path.home() / ".cache") if os.environ.get("HOME") else "")
    return Path(base) / "mailflow" if base else None


def key(data: bytes, code: bytes) -> str:
    """The entry of a file's bytes as read by `code` (the parsing and checking module's
    own source: a cached roster is what that code made of those bytes)."""
    return hashlib.sha256(hashlib.sha256(code).digest() + data).hexdigest()


def load(data: bytes, code: bytes) -> Any | None:
    where = folder()
    if where is None:
        return None
    try:
        with open(where / f"roster-{key(data, code)}.pickle", "rb") as fh:
            return pickle.load(fh)
    except Exception:      # missing, unreadable, truncated, from another Python: parse
        return None


def store(data: bytes, code: bytes, value: Any) -> None:
    where = folder()
    if where is None:
        return
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".roster-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, where / f"roster-{key(data, code)}.pickle")   # readers see all or nothing
        entries = sorted(where.glob("roster-*.pickle"), key=lambda p: p.stat().st_mtime,
                         reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        return
