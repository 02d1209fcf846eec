"""How cost grows with the company: the commands people run, at 500, 5,000 and 50,000
salespeople (20, 200 and 2,000 regions of 25), on SQLite and PostgreSQL.

The month (November 2026) is made fast: four regions' month of mail (100 people, about
2,000 reports and the supervisors' weekly reports) goes through mailflow's own ingest and
close-day into a template database; its rows (mails with their compressed bytes, where
they were seen, reports, verdicts) are then copied region by region into the measured
database with the people's addresses and names changed, in bulk inserts. So every region
has the same pattern of late, missing and incomplete days, and each mail row keeps the
bytes of a real one. Each command then runs as its own process; its time and peak memory
(PSS of the process tree, sampled every 100 ms) are taken, and the database size is set
against the mails it keeps. The roster is parsed once before (into the cache a deployment
keeps, config/rostercache.py), as any earlier command would have. On PostgreSQL
auto_explain logs the plan of every statement over 50 ms while the commands run (row
counts and buffers, without per-node timing, which slowed the statements timed): the
five slowest are printed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from workdir import write_project

CST = timezone(timedelta(hours=8))
PER_REGION = 25
TEMPLATE_REGIONS = 4
MONTH_START, MONTH_END = date(2026, 11, 1), date(2026, 11, 30)
DAY = "2026-11-27"
SIZES = (500, 5000, 50000)
TARGETS = {"close-day": 5, "status": 2, "export": 3, "compile-weekly": 60, "hr-monthly": 60,
           "month-end": 60}
PEAK_MB, KB_PER_MAIL = 300, 2.5
COMMANDS: list[tuple[str, tuple[str, ...]]] = [
    # The baseline of every row: start-up alone (settings, the roster, rules, templates).
    ("check-config", ("check-config",)),
    ("close-day", ("--now", "2026-11-27T22:00:00+08:00", "close-day", "--date", DAY)),
    ("status", ("--now", "2026-11-28T09:00:00+08:00", "status", "--date", DAY, "--json")),
    ("export", ("--now", "2026-11-28T09:00:00+08:00", "export", "--from", DAY, "--to", DAY)),
    ("compile-weekly", ("--now", "2026-11-23T08:00:00+08:00", "compile-weekly", "--week",
                        "2026-W47")),
    ("hr-monthly", ("--now", "2026-12-01T09:00:00+08:00", "hr-monthly", "--month", "2026-11")),
    ("month-end", ("--now", "2026-11-30T09:00:00+08:00", "month-end", "--month", "2026-11")),
]
Log = Callable[[str], None]


def roster(regions: int) -> list[str]:
    lines = ["hr@example.com,人事部,hr,,,2024-01-01,,no",
             "gm@example.com,总经理,management,,,2024-01-01,,no"]
    for r in range(regions):
        lines.append(f"zg{r}@example.com,主管{r},supervisor,区域{r},,2024-01-01,,no")
        lines += [f"s{r}x{i}@example.com,业务{r}-{i},sales,区域{r},zg{r}@example.com,"
                  "2025-01-01,,no" for i in range(PER_REGION)]
    return lines


def template(work: Path, log: Log) -> Path:
    """Four regions' month through mailflow's own ingest and close-day (SQLite)."""
    import company
    from mailflow.app import load_app
    from mailflow.records.days import close_day
    from mailflow.service.pipeline import ingest

    settings = write_project(work, roster(TEMPLATE_REGIONS), database="template.db",
                             smtp_port=1, management=True)
    app = load_app(settings, "2026-11-30T22:00:00+08:00")
    workdays = app.workdays.workdays_between(MONTH_START, MONTH_END)
    saved = company.REGIONS, company.PER_REGION
    company.REGIONS, company.PER_REGION = TEMPLATE_REGIONS, PER_REGION
    try:
        t = time.perf_counter()
        counts = ingest(app, company.month_of_mail(workdays[:-1]))
    finally:
        company.REGIONS, company.PER_REGION = saved
    for day in workdays[:-2]:   # the last two days are closed by the timed commands
        app.fixed_now = datetime.combine(day, datetime.min.time(), CST) + timedelta(hours=23)
        close_day(app, day)
    log(f"growth: template month, {counts.new:,} mails of {TEMPLATE_REGIONS * PER_REGION} "
        f"people through mailflow's ingest in {time.perf_counter() - t:.1f} s")
    return work / "template.db"


_TOKEN = re.compile(r"(?<![A-Za-z0-9])(s|zg|区域|主管|业务)([0-3])(?![0-9])")


def _prepared(row: dict[str, Any]) -> dict[str, Any]:
    """Each value of a template row split once around its people's tokens (s1x…, zg1@,
    区域1, …), so that each copy is a join, not a regex pass."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, (list, dict)):
            dumped = json.dumps(value, ensure_ascii=False)
            parts = _TOKEN.split(dumped)
            out[key] = value if len(parts) == 1 else ("json", parts)
        elif isinstance(value, str):
            parts = _TOKEN.split(value)
            out[key] = value if len(parts) == 1 else ("str", parts)
        else:
            out[key] = value
    return out


def _copy(prepared: dict[str, Any], block: int) -> dict[str, Any]:
    """The row for template region t renamed to region block * 4 + t."""
    out = {}
    for key, value in prepared.items():
        if isinstance(value, tuple):
            kind, parts = value
            text = "".join(p if i % 3 != 2 else str(block * TEMPLATE_REGIONS + int(p))
                           for i, p in enumerate(parts))
            out[key] = json.loads(text) if kind == "json" else text
        else:
            out[key] = value
    return out


CLONED = ("mails", "mail_locations", "reports", "violations", "changes", "leave_entries")


def fill(url: str, source: Path, regions: int, log: Log) -> int:
    """Copy the template's rows into the database at `url`, once per block of four
    regions. Returns the number of mails."""
    from sqlalchemy import create_engine, func, select, text

    from mailflow.store.db import open_db
    from mailflow.store.models import Base

    db = open_db(url)
    src = create_engine(f"sqlite:///{source}")
    tables = Base.metadata.tables
    with src.connect() as conn:
        rows = {name: [dict(r._mapping) for r in conn.execute(select(tables[name]))]
                for name in CLONED}
        closes = [dict(r._mapping) for r in conn.execute(select(tables["day_closes"]))]
    step = {name: max([r["id"] for r in rows[name]] or [0]) for name in CLONED}
    prepared = {name: [_prepared(r) for r in rows[name]] for name in CLONED}
    blocks = regions // TEMPLATE_REGIONS
    t = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(tables["day_closes"].insert(), closes)
    for block in range(blocks):
        with db.engine.begin() as conn:
            for name in CLONED:
                out = []
                for row, ready in zip(rows[name], prepared[name]):
                    new = _copy(ready, block)
                    new["id"] = row["id"] + block * step[name]
                    if name == "mail_locations":
                        new["uid"] = row["uid"] + block * step[name]
                    if new.get("mail_id") is not None:
                        new["mail_id"] = row["mail_id"] + block * step["mails"]
                    out.append(new)
                if out:
                    conn.execute(tables[name].insert(), out)
        if block % 50 == 49:
            log(f"growth: {(block + 1) * TEMPLATE_REGIONS:,} of {regions:,} regions copied "
                f"({time.perf_counter() - t:.0f} s)")
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for name in (*CLONED, "day_closes"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"(SELECT max(id) FROM {name}))"))
        else:
            conn.execute(text("ANALYZE"))
        mails = conn.execute(select(func.count()).select_from(tables["mails"])).scalar_one()
    if db.engine.dialect.name == "postgresql":
        # VACUUM as well as ANALYZE: on a million freshly inserted rows autovacuum
        # otherwise starts while the first commands are timed, and every first read of a
        # page writes its hint bits. A database in use has had both done long since.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
    db.engine.dispose()
    log(f"growth: {mails:,} mails and their rows inserted in bulk in "
        f"{time.perf_counter() - t:.0f} s")
    return int(mails)


def db_bytes(url: str) -> int:
    from sqlalchemy import create_engine, text

    if url.startswith("sqlite"):
        import sqlite3
        path = Path(url.split("///", 1)[1])
        sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        return path.stat().st_size
    engine = create_engine(url)
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return int(size)


def measure(people: int, backend: str, url: str, work: Path, template_db: Path, log: Log
            ) -> dict[str, Any]:
    from bench import ENV, measured

    regions = people // PER_REGION
    settings = write_project(work, roster(regions), database=url, smtp_port=1,
                             management=True)
    mails = fill(url, template_db, regions, log)
    size = db_bytes(url)
    result: dict[str, Any] = {"people": people, "backend": backend, "mails": mails,
                              "db_bytes": size, "commands": {}}
    import subprocess
    import sys
    # Where a deployment keeps the parsed roster (the systemd unit sets it): the commands
    # find it parsed, as they do on a machine that ran a command before.
    env = {**ENV, "MAILFLOW_CACHE_DIR": str(work / "cache")}
    subprocess.run([sys.executable, "-m", "mailflow", "--config", str(settings),
                    "check-config"], env=env, capture_output=True, check=True)
    for name, args in COMMANDS:
        took, peak, out = measured([sys.executable, "-m", "mailflow", "--config",
                                    str(settings), *args], env)
        result["commands"][name] = (took, peak)
        log(f"growth: {people:,} people, {backend}: {name} {took:.2f} s, peak "
            f"{peak / 2**20:,.0f} MB ({out.strip()[:100]})")
    return result


SLOW = re.compile(r"LOG:  duration: ([\d.]+) ms  plan:\n(.*?)(?=\n\S|\Z)", re.S)


def slowest_plans(pg_log: Path, since: int, count: int = 5) -> list[tuple[float, str, str]]:
    """The `count` slowest statements auto_explain logged after byte `since`: (ms, query,
    plan), one per distinct query text."""
    text = pg_log.read_bytes()[since:].decode(errors="replace")
    found: dict[str, tuple[float, str, str]] = {}
    for m in SLOW.finditer(text):
        body = m.group(2)
        query = re.search(r"Query Text: (.*?)\n\s*(?=[A-Z][a-z]+.*\(cost)", body, re.S)
        q = " ".join((query.group(1) if query else body[:200]).split())
        plan = "\n".join(line[:240] + (" …" if len(line) > 240 else "") for line in body.splitlines() if "Query Text" not in line
                         and not line.strip().startswith(("SELECT", "FROM", "WHERE", "ORDER",
                                                          "GROUP", "AND", "INSERT", "UPDATE")))
        ms = float(m.group(1))
        key = re.sub(r"'[^']*'|\b\d+\b", "?", q)[:300]
        if key not in found or found[key][0] < ms:
            found[key] = (ms, q, plan)
    return sorted(found.values(), reverse=True)[:count]


def run(work: Path, sizes: tuple[int, ...], backends: tuple[str, ...], log: Log
        ) -> tuple[list[str], list[str]]:
    """The growth table (markdown lines) and the slowest PostgreSQL plans (markdown)."""
    from servers import Postgres

    template_db = template(work / "template", log)
    pg = Postgres().start()
    pg_log = pg.root / "pg.log"
    results = []
    plans: list[str] = []
    try:
        import psycopg
        admin = f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'auto_explain'")
        pg._run(pg._bin("pg_ctl"), "-D", str(pg.root / "data"), "-l", str(pg_log), "-w",
                "restart")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET auto_explain.log_min_duration = '50ms'")
            conn.execute("ALTER SYSTEM SET auto_explain.log_analyze = on")
            conn.execute("ALTER SYSTEM SET auto_explain.log_buffers = on")
            # Row counts and buffers, not a clock reading per plan node: that instrumenting
            # slowed every statement of the commands being timed.
            conn.execute("ALTER SYSTEM SET auto_explain.log_timing = off")
            conn.execute("SELECT pg_reload_conf()")
        for people in sizes:
            for backend in backends:
                folder = work / f"{backend}-{people}"
                url = pg.create_database(f"growth{people}") if backend == "postgresql" \
                    else f"sqlite:///{folder / 'company.db'}"
                mark = pg_log.stat().st_size if pg_log.exists() else 0
                results.append(measure(people, backend, url, folder, template_db, log))
                if backend == "postgresql" and people == max(sizes):
                    for ms, query, plan in slowest_plans(pg_log, mark):
                        plans.append(f"- {ms:,.0f} ms: `{query[:400]}`\n\n```\n{plan.strip()}"
                                     "\n```\n")
                if backend == "postgresql" and people > 5000:
                    with psycopg.connect(admin, autocommit=True) as conn:
                        conn.execute(f"DROP DATABASE growth{people}")
    finally:
        pg.stop()
    return table(results), plans


def table(results: list[dict[str, Any]]) -> list[str]:
    head = ["command (target)"] + [f"{r['people']:,} {'PG' if r['backend'] == 'postgresql' else 'SQLite'}"
                                   for r in results]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, _ in COMMANDS:
        cells = []
        for r in results:
            took, peak = r["commands"][name]
            target = TARGETS.get(name, float("inf"))
            mark = "" if took <= target and peak <= PEAK_MB * 2**20 else " ✗"
            cells.append(f"{took:.2f} s, {peak / 2**20:,.0f} MB{mark}")
        label = f"{name} (≤ {TARGETS[name]} s, ≤ {PEAK_MB} MB)" if name in TARGETS \
            else "start-up alone: check-config (baseline)"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    cells = [f"{r['db_bytes'] / r['mails'] / 1024:.2f} KB ({r['mails']:,} mails)"
             for r in results]
    lines.append(f"| database per mail (≤ {KB_PER_MAIL} KB) | " + " | ".join(cells) + " |")
    return lines


def main(sizes: tuple[int, ...], log: Log,
         backends: tuple[str, ...] = ("postgresql", "sqlite")) -> None:
    import os
    import shutil
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="mailflow-growth-"))
    load = os.getloadavg()
    try:
        lines, plans = run(work, sizes, backends, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    after = os.getloadavg()
    print("\n".join(lines))
    print(f"\nload average (1, 5, 15 min) before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"after: {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")
    print("\nSlowest statements on PostgreSQL at the largest size (auto_explain, ANALYZE):\n")
    print("\n".join(plans))
