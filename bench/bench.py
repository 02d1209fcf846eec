"""mailflow's benchmarks, each beside its physical baseline from the same run:

- fetch: raw imaplib UID FETCH BODY.PEEK[] of the same messages, vs mailflow's fetch stage
- parse: mail-parser's parse_from_bytes of the same bytes, vs mailflow's parse_mail
- ingest: `mailflow poll --once` (fetch → parse → classify → rules → store) vs bare parsing
- send: aiosmtplib sending pre-built messages on one connection, vs queue + `mailflow send`
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers import Dovecot, SmtpServer, deliver, imap_login  # noqa: E402

from mailflow import imap  # noqa: E402
from mailflow.clientmail import CLIENTS, Draft, write  # noqa: E402
from mailflow.parse import parse_mail  # noqa: E402
from mailflow.settings import Mailbox  # noqa: E402

CST = timezone(timedelta(hours=8))
SECTIONS = (("今日工作", "走访渠道客户，跟进年度框架合同。整理客户档案，准备季度回顾。" * 4),
            ("客户拜访", "共拜访4家：宏远贸易、瑞丰科技、镕鑫电子、兴达物流"), ("销售额", "1.2万"),
            ("回款", "￥8,000.00"), ("竞品信息", "竞品本周降价5%。" * 3), ("问题与需求", "需要样品支持。"),
            ("明日计划", "回访瑞丰科技，准备报价单。"))


def corpus(n: int) -> list[tuple[bytes, datetime]]:
    out = []
    start = datetime(2026, 11, 16, 18, 0, tzinfo=CST)
    for i in range(n):
        when = start + timedelta(minutes=i % 600, days=(i // 600) % 5)
        draft = Draft("冯喆", f"s{i % 2000}@example.com", (("钱主管", "qian.zg@example.com"),),
                      (("人事部", "hr@example.com"),), f"工作日报 {when:%Y-%m-%d}", SECTIONS, when,
                      f"bench{i}@example.com")
        out.append((write(CLIENTS[i % len(CLIENTS)], draft), when))
    return out


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f} msg/s"


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_fetch(server: Dovecot, folder: str, n: int) -> list[tuple[str, str, str]]:
    def raw_imaplib() -> None:
        c = imaplib.IMAP4("127.0.0.1", server.port)
        c.login("hr@example.com", "secret-hr")
        c.select(folder, readonly=True)
        for start in range(1, n + 1, 200):
            c.uid("FETCH", f"{start}:{start + 199}", "(BODY.PEEK[])")
        c.logout()

    box = Mailbox(name="hr", host="127.0.0.1", port=server.port, security="none",
                  username="hr@example.com", password_env="X", folders=(folder,), timeout=60)

    def mailflow_fetch() -> None:
        c = imap.connect(box, "secret-hr")
        got = sum(len(b.mails) for b in imap.fetch_new(c, box, folder, None))
        c.logout()
        assert got == n

    base, ours = best(raw_imaplib), best(mailflow_fetch)
    return [("fetch (mailflow fetch stage)", rate(n, ours),
             f"raw imaplib UID FETCH: {rate(n, base)} ({base / ours:.2f}×)")]


def bench_parse(mails: list[bytes]) -> tuple[list[tuple[str, str, str]], float]:
    import mailparser

    base = best(lambda: [mailparser.parse_from_bytes(m) for m in mails])
    ours = best(lambda: [parse_mail(m) for m in mails])
    n = len(mails)
    return [("parse (mailflow parse_mail)", rate(n, ours),
             f"mail-parser: {rate(n, base)} ({base / ours:.2f}×)")], n / base


def bench_ingest(server: Dovecot, folder: str, n: int, parse_rate: float,
                 work: Path) -> list[tuple[str, str, str]]:
    roster = ["email,name,role,region,supervisor,start_date,end_date,probation",
              "hr@example.com,人事部,hr,,,2024-01-01,,no",
              "qian.zg@example.com,钱主管,supervisor,华东,,2024-01-01,,no"]
    roster += [f"s{i}@example.com,业务{i},sales,华东,qian.zg@example.com,2025-01-01,,no"
               for i in range(2000)]
    (work / "roster.csv").write_text("\n".join(roster) + "\n", encoding="utf-8")
    shutil.copytree(ROOT / "rules", work / "rules", dirs_exist_ok=True)
    shutil.copytree(ROOT / "templates", work / "templates", dirs_exist_ok=True)
    (work / "settings.toml").write_text(f"""
[company]
name = "bench"
timezone = "Asia/Shanghai"
roster = "roster.csv"
hr = ["hr@example.com"]
[database]
url = "sqlite:///bench.db"
[[mailbox]]
name = "hr"
host = "127.0.0.1"
port = {server.port}
security = "none"
username = "hr@example.com"
password_env = "BENCH_PASSWORD"
folders = ["{folder}"]
""", encoding="utf-8")
    env = {"BENCH_PASSWORD": "secret-hr", "PATH": "/usr/bin:/bin"}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mailflow", "--config", str(work / "settings.toml"),
                    "--now", "2026-11-23T09:00:00+08:00", "poll", "--once"], env=env,
                   check=True, capture_output=True)
    took = time.perf_counter() - t
    return [("ingest: poll --once, fresh SQLite", rate(n, took),
             f"bare mail-parser parse: {parse_rate:,.0f} msg/s "
             f"({(n / took) / parse_rate:.2f}× of it; target ≥ 0.7×)")]


def bench_send(n: int, work: Path) -> list[tuple[str, str, str]]:
    import aiosmtplib
    from email.message import EmailMessage

    server = SmtpServer().start()
    try:
        msgs = []
        for i in range(n):
            m = EmailMessage()
            m["From"], m["To"], m["Subject"] = "r@example.com", f"s{i}@example.com", "提醒"
            m.set_content("今天的日报还没有收到。" * 20)
            msgs.append(m)

        async def bare() -> None:
            smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.port)
            await smtp.connect()
            for m in msgs:
                await smtp.send_message(m)
            await smtp.quit()

        t = time.perf_counter()
        asyncio.run(bare())
        base = time.perf_counter() - t
        server.recorder.messages.clear()
        settings = (work / "settings.toml").read_text(encoding="utf-8")
        (work / "settings.toml").write_text(settings + f"""
[smtp]
host = "127.0.0.1"
port = {server.port}
security = "none"
username = ""
sender = "日报助手 <reports@example.com>"
""", encoding="utf-8")
        (work / "bench.db").unlink()
        env = {"BENCH_PASSWORD": "secret-hr", "PATH": "/usr/bin:/bin"}
        cfg = ["--config", str(work / "settings.toml")]
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mailflow", *cfg, "--now",
                        "2026-11-19T20:00:00+08:00", "remind", "--date", "2026-11-19"],
                       env=env, check=True, capture_output=True)
        queued = time.perf_counter() - t
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mailflow", *cfg, "--now",
                        "2026-11-19T20:01:00+08:00", "send"], env=env, check=True,
                       capture_output=True)
        sent = time.perf_counter() - t
        got = len(server.recorder.messages)
    finally:
        server.stop()
    return [("send: render + queue (remind)", rate(n, queued), "—"),
            ("send: mailflow send, 1 connection", rate(got, sent),
             f"bare aiosmtplib, 1 connection: {rate(n, base)} ({base / sent * got / n:.2f}×)")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=2000, help="messages per benchmark (default 2000)")
    args = ap.parse_args()
    n = args.n
    work = Path(tempfile.mkdtemp(prefix="mailflow-bench-"))
    server = Dovecot()
    server.add_user("hr@example.com", "secret-hr")
    server.start()
    rows: list[tuple[str, str, str]] = []
    try:
        folder = "Bench"
        mails = corpus(n)
        client = imap_login("127.0.0.1", server.port, "hr@example.com", "secret-hr")
        for raw, when in mails:
            deliver(client, folder, raw, when)
        client.logout()
        sizes = [len(m) for m, _ in mails]
        print(f"corpus: {n} report mails from {len(CLIENTS)} client styles, "
              f"median {statistics.median(sizes):,.0f} bytes", file=sys.stderr)
        rows += bench_fetch(server, folder, n)
        parse_rows, parse_rate = bench_parse([m for m, _ in mails])
        rows += parse_rows
        rows += bench_ingest(server, folder, n, parse_rate, work)
        rows += bench_send(min(n, 2000), work)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    table = [f"| {'benchmark'.ljust(width)} | mailflow | baseline (same run) |",
             f"| {'-' * width} | --- | --- |"]
    table += [f"| {a.ljust(width)} | {b} | {c} |" for a, b, c in rows]
    print("\n".join(table))
    doc = ROOT / "docs" / "performance.md"
    doc.write_text(
        "# Performance\n\nMeasured by `bench/run` (this page is its output) on the project's "
        "machine kind (2 cores), against a private Dovecot and aiosmtpd on loopback, "
        f"{n} report mails. Each figure beside its baseline from the same run. Benchmarks, "
        "not tests: nothing fails on a number.\n\n"
        f"Run: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.\n\n" + "\n".join(table) + "\n",
        encoding="utf-8")


if __name__ == "__main__":
    main()
