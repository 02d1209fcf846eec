"""A 5,000-salesperson company (200 regions of 25) and a month of its mail.

Every report is written as a client writes it and goes through mailflow's own ingest
(parse → classify → rules → store) into SQLite; each workday is closed. Then the
commands people run are timed as the processes they are, each beside the bare SQL query
that reads the same rows (sqlite3, no mailflow), and their query plans are collected.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from workdir import write_project

CST = timezone(timedelta(hours=8))
REGIONS, PER_REGION = 200, 25
MONTH_START, MONTH_END = date(2026, 11, 1), date(2026, 11, 30)
SECTIONS = (("今日工作", "走访渠道客户，跟进年度框架合同。"), ("客户拜访", "共拜访3家"),
            ("销售额", "1.2万"), ("回款", "8000"), ("竞品信息", "竞品本周降价5%。"),
            ("问题与需求", "需要样品支持。"), ("明日计划", "回访客户，准备报价单。"))


def people() -> tuple[list[str], list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Roster lines, salespeople (email, name, supervisor), supervisors (email, name)."""
    lines = ["hr@example.com,人事部,hr,,,2024-01-01,,no",
             "gm@example.com,总经理,management,,,2024-01-01,,no"]
    sales, sups = [], []
    for r in range(REGIONS):
        sup = f"zg{r}@example.com"
        sups.append((sup, f"主管{r}"))
        lines.append(f"{sup},主管{r},supervisor,区域{r},,2024-01-01,,no")
        for i in range(PER_REGION):
            email = f"s{r}x{i}@example.com"
            sales.append((email, f"业务{r}-{i}", sup))
            lines.append(f"{email},业务{r}-{i},sales,区域{r},{sup},2025-01-01,,no")
    return lines, sales, sups


def setup(work: Path, smtp_port: int) -> None:
    lines, _, _ = people()
    write_project(work, lines, database="company.db", smtp_port=smtp_port, management=True)


def month_of_mail(workdays: list[date]):  # type: ignore[no-untyped-def]
    """Each salesperson's daily reports (5% missing, 10% late, 3% missing a section) and
    each supervisor's weekly report, in arrival order per day."""
    from mailflow.testing.clientmail import CLIENTS, Draft, write
    from mailflow.inbound.rawmail import RawMail

    rnd = random.Random(7)
    _, sales, sups = people()
    clients = [c for c in CLIENTS if c != "xlsx"]
    for day in workdays:
        for n, (email, name, sup) in enumerate(sales):
            roll = rnd.random()
            if roll < 0.05:
                continue
            at = datetime.combine(day, datetime.min.time(), CST) + timedelta(
                hours=17, minutes=rnd.randrange(0, 270 if roll < 0.15 else 240))
            sections = SECTIONS[:-1] if roll > 0.97 else SECTIONS
            draft = Draft(name, email, (("主管", sup),), (("人事部", "hr@example.com"),),
                          f"工作日报 {day:%Y-%m-%d}", sections, at, f"{email}.{day}@example.com")
            yield RawMail(write(clients[n % len(clients)], draft), at.astimezone(timezone.utc),
                          "hr", "INBOX")
        if day.weekday() == 0:
            for sup, name in sups:
                at = datetime.combine(day, datetime.min.time(), CST) + timedelta(hours=9)
                draft = Draft(name, sup, (("总经理", "gm@example.com"),),
                              (("人事部", "hr@example.com"),), f"销售区域周报 {day:%Y-%m-%d}",
                              SECTIONS[:3], at, f"{sup}.w{day}@example.com")
                yield RawMail(write("coremail", draft), at.astimezone(timezone.utc), "hr", "INBOX")


def build_month(work: Path, log) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    from mailflow.app import load_app
    from mailflow.records.days import close_day
    from mailflow.service.pipeline import ingest

    app = load_app(work / "settings.toml", "2026-11-30T22:00:00+08:00")
    workdays = app.workdays.workdays_between(MONTH_START, MONTH_END)
    t = time.perf_counter()
    counts = ingest(app, month_of_mail(workdays[:-1]), lambda m: None)
    took = time.perf_counter() - t
    for day in workdays[:-2]:   # the last two days are closed by the timed commands
        app.fixed_now = datetime.combine(day, datetime.min.time(), CST) + timedelta(hours=23)
        close_day(app, day)
    log(f"company: {counts.new:,} mails ingested in {took:.0f} s ({counts.new / took:,.0f} "
        f"msg/s), {len(workdays) - 2} days closed")
    return counts.new, took


def timed(work: Path, *args: str) -> float:
    cmd = [sys.executable, "-m", "mailflow", "--config", str(work / "settings.toml"), *args]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def bare(db: Path, sql: str, params: tuple[object, ...]) -> float:
    t = time.perf_counter()
    conn = sqlite3.connect(db)
    conn.execute(sql, params).fetchall()
    conn.close()
    return time.perf_counter() - t


def plans(db: Path) -> list[tuple[str, list[str]]]:
    conn = sqlite3.connect(db)
    out = []
    for label, sql, params in QUERIES:
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        out.append((label, [r[-1] for r in rows]))
    conn.close()
    return out


DAY = "2026-11-27"
QUERIES = [
    ("a day's first reports (status, close-day)",
     "SELECT email, min(received_at) FROM reports WHERE report_date = ? AND kind = 'daily' "
     "GROUP BY email", (DAY,)),
    ("a day's violations (status, digests)",
     "SELECT email, code FROM violations WHERE date = ?", (DAY,)),
    ("a week's reports (weekly drafts)",
     "SELECT email, report_date, received_at, fields, metrics FROM reports "
     "WHERE report_date BETWEEN ? AND ? AND kind = 'daily'", ("2026-11-16", "2026-11-22")),
    ("a month's violations (HR monthly)",
     "SELECT email, date, code FROM violations WHERE date BETWEEN ? AND ?",
     ("2026-11-01", "2026-11-30")),
    ("a person's versions of a day (judging)",
     "SELECT mail_id, received_at FROM reports WHERE kind = 'daily' AND email = ? AND "
     "report_date = ? ORDER BY received_at, id", ("s0x0@example.com", DAY)),
    ("the next due outbox row (sending)",
     "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? "
     "ORDER BY next_attempt_at, id LIMIT 1", ("2026-12-01T00:00:00.000000+00:00",)),
]


def run(work: Path, smtp_port: int, log) -> tuple[list[tuple[str, str, str]], dict[str, object]]:  # type: ignore[no-untyped-def]
    setup(work, smtp_port)
    n, ingest_s = build_month(work, log)
    db = work / "company.db"
    sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    size = db.stat().st_size
    start = timed(work, "check-config")
    rows = []

    def row(label: str, seconds: float, target: float, sql: int) -> None:
        label_sql, query, params = QUERIES[sql]
        rows.append((label, f"{seconds:.2f} s (target ≤ {target:g} s)",
                     f"bare SQL, {label_sql}: {bare(db, query, params) * 1000:.0f} ms; "
                     f"start-up (check-config: settings, 5,200-person roster, rules, "
                     f"templates): {start:.2f} s"))

    row("5,000 people: close-day", timed(work, "--now", "2026-11-27T22:00:00+08:00",
                                         "close-day", "--date", DAY), 2, 0)
    row("5,000 people: status --date", timed(work, "--now", "2026-11-28T09:00:00+08:00",
                                             "status", "--date", DAY, "--json"), 1, 0)
    row("5,000 people: export of a day", timed(work, "--now", "2026-11-28T09:00:00+08:00",
                                               "export", "--from", DAY, "--to", DAY), 1, 1)
    row("5,000 people: compile-weekly, 200 regions + .xlsx",
        timed(work, "--now", "2026-11-23T08:00:00+08:00", "compile-weekly", "--week",
              "2026-W47"), 30, 2)
    row("5,000 people: hr-monthly", timed(work, "--now", "2026-12-01T09:00:00+08:00",
                                          "hr-monthly", "--month", "2026-11"), 30, 3)
    facts = {"mails": n, "ingest_seconds": ingest_s, "db_bytes": size, "plans": plans(db)}
    rows.append(("5,000 people: database for the month", f"{size / 2**20:,.0f} MB",
                 f"{n:,} mails kept whole (compressed): {size / n / 1024:.1f} KB per mail"))
    return rows, facts
