"""Three `mailflow send` instances on one PostgreSQL database and one aiosmtpd, under a
50,000-person day: 5,000 reminders and 2,000 supervisor digests, each sent once.

The mail is mailflow's own: `close-day` of a day nobody reported on, for 50,000
salespeople in 2,000 regions of 25, queues the 2,000 digests (each lists its 25 people);
`remind` over 5,000 of them (the ones still without a report the next evening; the 45,000
who reported add no mail) queues the reminders. That database is the template of each
run, so every run sends the same rows:

- one instance alone, until the outbox is empty (msg/s);
- three at once, the same rows (msg/s);
- three again, one killed (SIGKILL) once a third of the mail is at the server: the rows
  it had claimed are watched until another instance settles them (sent, or `unknown`
  when it had written the end of the message's DATA), which is the takeover time; then
  every Message-ID at the server is counted: one seen twice is a duplicate unless its row
  is `unknown` (reported, never resent automatically).

Beside them, bare aiosmtplib sends the same bytes on the same number of connections (one
process, and three processes). `python bench/instances.py` or `bench/run --instances`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from growth import roster  # noqa: E402
from workdir import write_project  # noqa: E402

REGIONS, PER_REGION = 2000, 25          # 50,000 salespeople
REMINDED_REGIONS = 200                  # 5,000 without a report at 20:00
DIGEST_DAY, REMIND_DAY = "2026-11-19", "2026-11-20"
SEND_NOW = f"{REMIND_DAY}T20:01:00+08:00"   # before the reminders' deadline (21:00)
ENV = {"PATH": "/usr/bin:/bin"}
MID = re.compile(rb"^Message-ID:\s*<([^>]+)>", re.I | re.M)
Log = Callable[[str], None]


def mailflow(settings: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mailflow", "--config", str(settings), *args]


def run_cmd(cmd: list[str], log: Log, what: str) -> float:
    t = time.perf_counter()
    out = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    took = time.perf_counter() - t
    if out.returncode not in (0,):
        raise RuntimeError(f"{what} failed ({out.returncode}): {out.stderr[-2000:]}")
    log(f"instances: {what} in {took:.1f} s: {out.stdout.strip()[:300]}")
    return took


class Db:
    def __init__(self, port: int) -> None:
        self.port = port

    def conn(self, name: str = "postgres"):  # type: ignore[no-untyped-def]
        import psycopg
        return psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname={name}",
                               autocommit=True)

    def copy(self, template: str, name: str) -> str:
        with self.conn() as c:
            c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def states(self, name: str) -> Counter[str]:
        with self.conn(name) as c:
            return Counter(dict(c.execute("select state, count(*) from outbox group by state")
                                .fetchall()))


def settings_for(work: Path, url: str, smtp_port: int, connections: int,
                 regions: int | None = None) -> Path:
    regions = regions or REGIONS
    return write_project(work, roster(regions), database=url, smtp_port=smtp_port,
                         connections=connections, management=True)


def queue(db: Db, work: Path, smtp_port: int, connections: int, log: Log) -> int:
    """The template database "queued": 2,000 digests and 5,000 reminders. Returns how many
    rows it holds."""
    with db.conn() as c:
        c.execute('CREATE DATABASE "queued"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:{db.port}/queued"
    full = settings_for(work / "queue-full", url, smtp_port, connections)
    run_cmd(mailflow(full, "--now", f"{DIGEST_DAY}T22:00:00+08:00", "close-day", "--date",
                     DIGEST_DAY), log, f"close-day {DIGEST_DAY}, {REGIONS * PER_REGION:,} salespeople")
    part = settings_for(work / "queue-part", url, smtp_port, connections,
                        min(REGIONS, REMINDED_REGIONS))
    run_cmd(mailflow(part, "--now", f"{REMIND_DAY}T20:00:00+08:00", "remind", "--date",
                     REMIND_DAY), log, f"remind {REMIND_DAY}, {min(REGIONS, REMINDED_REGIONS) * PER_REGION:,} without a report")
    states = db.states("queued")
    with db.conn("queued") as c:
        kinds = dict(c.execute("select kind, count(*) from outbox group by kind").fetchall())
        size = c.execute("select avg(length(raw)) from outbox").fetchone()[0]
    log(f"instances: queued {kinds}, mean {size:,.0f} bytes, states {dict(states)}")
    return sum(states.values())


def message_ids(server) -> Counter[str]:  # type: ignore[no-untyped-def]
    out: Counter[str] = Counter()
    for _, _, data in list(server.recorder.messages):
        found = MID.search(data)
        out[found.group(1).decode() if found else "(none)"] += 1
    return out


def start(settings: Path, log_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(mailflow(settings, "--now", SEND_NOW, "send"), env=ENV,
                            stdout=log_path.open("wb"), stderr=subprocess.STDOUT)


def wait_all(procs: list[subprocess.Popen[bytes]], timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    for p in procs:
        p.wait(max(1.0, deadline - time.monotonic()))


def instances_run(db: Db, work: Path, server, n: int, count: int, connections: int,  # type: ignore[no-untyped-def]
                  log: Log) -> float:
    """`count` instances on a fresh copy of the queued rows, to the end; msg/s."""
    name = f"run{count}"
    settings = settings_for(work / name, db.copy("queued", name), server.port, connections)
    server.recorder.messages.clear()
    t = time.perf_counter()
    procs = [start(settings, work / f"{name}-{i}.log") for i in range(count)]
    wait_all(procs)
    took = time.perf_counter() - t
    got = len(server.recorder.messages)
    states = db.states(name)
    log(f"instances: {count} instance(s): {got:,} at the server in {took:.1f} s; "
        f"rows {dict(states)}")
    if got != n or states.get("sent") != n:
        log(f"instances: WARNING: {n:,} rows queued, {got:,} received, {dict(states)}")
    return got / took


def killed_run(db: Db, work: Path, server, n: int, connections: int,  # type: ignore[no-untyped-def]
               log: Log) -> dict[str, object]:
    name = "killed"
    settings = settings_for(work / name, db.copy("queued", name), server.port, connections)
    server.recorder.messages.clear()
    t = time.perf_counter()
    procs = [start(settings, work / f"{name}-{i}.log") for i in range(3)]
    while len(server.recorder.messages) < n // 3:
        if all(p.poll() is not None for p in procs):
            raise RuntimeError("the instances ended before a third of the mail was sent")
        time.sleep(0.01)
    victim = procs[1]
    victim.send_signal(signal.SIGKILL)
    killed_at = time.perf_counter()
    victim.wait()
    at_kill = len(server.recorder.messages)
    with db.conn(name) as c:   # claimed as instance:pid:nonce (host:pid before)
        held = [r[0] for r in c.execute(
            "select id from outbox where state = 'sending' and (claimed_by = %s or "
            "claimed_by like %s)", (f"{socket.gethostname()}:{victim.pid}",
                                    f"%:{victim.pid}:%"))]
    log(f"instances: killed pid {victim.pid} with {at_kill:,} mails at the server; it held "
        f"{len(held)} row(s) in `sending`: {held}")
    settled_after: float | None = None
    next_pass: float | None = None
    with db.conn(name) as c:
        while True:
            left = c.execute("select count(*) from outbox where id = any(%s) and state not in "
                             "('sent', 'unknown', 'failed')", (held,)).fetchone()[0]
            if not left:
                settled_after = time.perf_counter() - killed_at
                break
            if all(p.poll() is not None for p in procs):
                break
            time.sleep(0.05)
    wait_all(procs)
    took = time.perf_counter() - t
    if settled_after is None:
        # What the survivors left: the next `mailflow send` (cron's next run) settles it.
        log("instances: the survivors ended their pass without settling the killed "
            "instance's rows; one more `mailflow send`")
        extra = start(settings, work / f"{name}-next.log")
        extra.wait()
        next_pass = time.perf_counter() - killed_at
    ids = message_ids(server)
    twice = {m: k for m, k in ids.items() if k > 1}
    with db.conn(name) as c:
        rows = {m: s for m, s in c.execute("select message_id, state from outbox")}
        held_states = dict(c.execute("select id, state from outbox where id = any(%s)",
                                     (held,)).fetchall())
    states = Counter(rows.values())
    unknown = [m for m, s in rows.items() if s == "unknown"]
    missing = [m for m, s in rows.items() if s == "sent" and m not in ids]
    log(f"instances: killed run: {sum(ids.values()):,} received ({len(ids):,} distinct) in "
        f"{took:.1f} s; rows {dict(states)}; the killed one's rows now {held_states}")
    return {"took": took, "received": sum(ids.values()), "distinct": len(ids),
            "twice": twice, "twice_unknown": [m for m in twice if rows.get(m) == "unknown"],
            "unknown": unknown, "unknown_at_server": [m for m in unknown if m in ids],
            "missing": missing, "held": len(held), "settled_after": settled_after,
            "next_pass": next_pass, "states": dict(states), "at_kill": at_kill}


# -- the baseline: bare aiosmtplib on the same connections, the same bytes ---------------

def _bare_part(port: int, dbport: int, part: int, parts: int, connections: int) -> None:
    import aiosmtplib
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={dbport} user=postgres dbname=queued") as c:
        rows = c.execute("select to_addrs, cc_addrs, raw from outbox where id %% %s = %s",
                         (parts, part)).fetchall()

    async def lane(mine: list) -> None:  # type: ignore[type-arg]
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await smtp.connect()
        for to, cc, raw in mine:
            await smtp.sendmail("reports@example.com", [*to, *cc], bytes(raw))
        await smtp.quit()

    async def main() -> None:
        await asyncio.gather(*(lane(rows[k::connections]) for k in range(connections)))

    asyncio.run(main())


def bare(server, dbport: int, n: int, processes: int, connections: int) -> float:  # type: ignore[no-untyped-def]
    server.recorder.messages.clear()
    ctx = multiprocessing.get_context("spawn")
    t = time.perf_counter()
    procs = [ctx.Process(target=_bare_part, args=(server.port, dbport, k, processes,
                                                  connections)) for k in range(processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    took = time.perf_counter() - t
    got = len(server.recorder.messages)
    assert got == n, (got, n)
    return got / took


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(work: Path, log: Log, connections: int = 4, fsync: bool = True,
        parts: tuple[str, ...] = ("one", "three", "killed", "bare")
        ) -> list[tuple[str, str, str]]:
    from servers import Postgres, SmtpServer

    pg = Postgres().start()
    server = SmtpServer().start()
    db = Db(pg.port)
    try:
        if fsync:   # the test cluster runs without; a deployment's commits wait for the disk
            with db.conn() as c:
                c.execute("ALTER SYSTEM SET fsync = on")
                c.execute("SELECT pg_reload_conf()")
        log(f"instances: load average before {loadavg()}")
        n = queue(db, work, server.port, connections, log)
        got: dict[str, object] = {}
        if "one" in parts:
            got["one"] = instances_run(db, work, server, n, 1, connections, log)
        if "three" in parts:
            got["three"] = instances_run(db, work, server, n, 3, connections, log)
        log(f"instances: load average {loadavg()}")
        if "killed" in parts:
            got["killed"] = killed_run(db, work, server, n, connections, log)
        if "bare" in parts:
            got["bare one"] = bare(server, pg.port, n, 1, connections)
            got["bare three"] = bare(server, pg.port, n, 3, connections)
        log(f"instances: load average after {loadavg()}")
    finally:
        server.stop()
        pg.stop()
    return rows(got, n, connections, fsync)


def rows(got: dict[str, Any], n: int, connections: int, fsync: bool) -> list[tuple[str, str, str]]:
    rate = lambda r: f"{r:,.0f} msg/s" if r else "—"  # noqa: E731
    one, three = got.get("one"), got.get("three")
    bare_one, bare_three = got.get("bare one"), got.get("bare three")
    out = []
    if one:
        out.append((f"instances: {n:,} mails ({n - REGIONS:,} reminders, {REGIONS:,} digests), "
                    f"one `send`, {connections} connections, PostgreSQL"
                    f"{' (fsync on)' if fsync else ' (fsync off)'}", rate(one),
                    f"bare aiosmtplib, one process, {connections} connections: "
                    f"{rate(bare_one)}" + (f" ({one / bare_one:.2f}×)" if bare_one else "")))
    if three:
        out.append(("instances: three `send` at once, the same rows",
                    rate(three) + (f" ({three / one:.2f}× one)" if one else ""),
                    f"bare aiosmtplib, three processes, {connections} connections each: "
                    f"{rate(bare_three)}" + (f" ({three / bare_three:.2f}×)" if bare_three
                                             else "")))
    k = got.get("killed")
    if k:
        if k["settled_after"] is not None:
            takeover = f"{k['settled_after']:.1f} s (target ≤ 30 s)"
        else:
            takeover = (f"not by the survivors' pass; by the next `send`, "
                        f"{k['next_pass']:.1f} s after the kill (target ≤ 30 s)")
        dup = len(k["twice"]) - len(k["twice_unknown"])
        out.append(("instances: three, one killed (SIGKILL) a third of the way: takeover of "
                    f"its {k['held']} claimed row(s)", takeover, "—"))
        out.append(("instances: the killed run at the server",
                    f"{k['received']:,} received, {k['distinct']:,} distinct; {dup} "
                    f"duplicate(s) (target 0); {len(k['unknown'])} unknown outcome(s) "
                    f"reported ({len(k['unknown_at_server'])} of them at the server), "
                    f"{len(k['missing'])} marked sent but not received",
                    f"rows {k['states']}"))
    return out


def main(argv: list[str] | None = None) -> None:
    global REGIONS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=4, help="[smtp] connections")
    ap.add_argument("--regions", type=int, default=REGIONS,
                    help="regions of 25 (default 2,000: 50,000 salespeople, 2,000 digests; "
                         "reminders go to the first 200 regions)")
    ap.add_argument("--parts", default="one,three,killed,bare",
                    help="what to run (default all: one,three,killed,bare)")
    ap.add_argument("--no-fsync", action="store_true",
                    help="PostgreSQL without fsync (as the test suite runs it)")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mailflow-instances-"))
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    try:
        REGIONS = args.regions
        table = run(work, log, args.connections, not args.no_fsync,
                    tuple(args.parts.split(",")))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for row in table:
        print(" | ".join(row))


if __name__ == "__main__":
    main()
