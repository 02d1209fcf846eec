"""mailflow's benchmarks, each beside its physical baseline from the same run.

- fetch: mailflow's fetch stage vs raw imaplib UID FETCH BODY.PEEK[] of the same messages
- parse: mailflow's parse_mail vs mail-parser's parse_from_bytes of the same bytes
- ingest: `mailflow poll --once` on a backlog (fetch → parse → classify → rules → store,
  SQLite) vs bare mail-parser parsing of the same mails; peak memory of the process tree
- memory: the same with 10% of mails carrying attachments and three of 20 MB
- latency: `mailflow run` with IDLE, APPEND → stored record and → notice at the SMTP
  server, beside a bare IDLE client's APPEND → EXISTS on the same folder
- startup / idle: a 100,000-message folder with sync state: ready after a restart, and an
  idle cycle, beside raw imaplib doing the same IMAP commands
- company: a 5,000-salesperson month (bench/company.py)
- outbound: 5,000 reminders rendered, queued and sent, beside bare aiosmtplib on the same
  number of connections
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from servers import Dovecot, SmtpServer, imap_login  # noqa: E402

import company  # noqa: E402
from workdir import write_project  # noqa: E402
from mailflow.inbound import imap  # noqa: E402
from mailflow.testing.clientmail import CLIENTS, Draft, write  # noqa: E402
from mailflow.testing.settings import mailbox_block  # noqa: E402
from mailflow.parsing.parse import parse_mail  # noqa: E402
from mailflow.config.settings import Mailbox  # noqa: E402

CST = timezone(timedelta(hours=8))
PASSWORD = "secret-hr"
SECTIONS = (("今日工作", "走访渠道客户，跟进年度框架合同。整理客户档案，准备季度回顾。" * 4),
            ("客户拜访", "共拜访4家：宏远贸易、瑞丰科技、镕鑫电子、兴达物流"), ("销售额", "1.2万"),
            ("回款", "￥8,000.00"), ("竞品信息", "竞品本周降价5%。" * 3), ("问题与需求", "需要样品支持。"),
            ("明日计划", "回访瑞丰科技，准备报价单。"))
Row = tuple[str, str, str]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f} msg/s"


def best(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def corpus(n: int, start: datetime | None = None, sender: str = "s{i}@example.com",
           hr_in_to: bool = False) -> list[tuple[bytes, datetime]]:
    out = []
    start = start or datetime(2026, 11, 16, 18, 0, tzinfo=CST)
    for i in range(n):
        when = start + timedelta(minutes=i % 600, days=(i // 600) % 5)
        to = (("钱主管", "qian.zg@example.com"),) + ((("人事部", "hr@example.com"),) if hr_in_to
                                                    else ())
        cc = () if hr_in_to else (("人事部", "hr@example.com"),)
        draft = Draft("冯喆", sender.format(i=i % 2000), to, cc, f"工作日报 {when:%Y-%m-%d}",
                      SECTIONS, when, f"bench{i}.{when:%H%M%S}@example.com")
        out.append((write(CLIENTS[i % len(CLIENTS)], draft), when))
    return out


LONG_SECTIONS = (("今日工作", "上午走访渠道客户，跟进年度框架合同的条款修改；下午整理客户档案，准备季度回顾材料，"
                            "并与财务核对上月回款明细。" * 17),
                 ("客户拜访", "共拜访4家：宏远贸易（采购经理王总）、瑞丰科技、镕鑫电子、兴达物流。" * 3),
                 ("销售额", "1.2万"), ("回款", "￥8,000.00"),
                 ("竞品信息", "竞品本周在华东区降价5%，并对老客户赠送一年维保。" * 6),
                 ("问题与需求", "需要样品支持，报价单模板需要更新。" * 3),
                 ("明日计划", "回访瑞丰科技，准备报价单，下午参加区域例会。" * 3))


XLSX_NAME = "=?utf-8?b?" + __import__("base64").b64encode("销售明细.xlsx".encode()).decode() + "?="


def report_corpus(n: int, start: datetime | None = None) -> list[tuple[bytes, datetime]]:
    """Report mail as it arrives at a company: all seven client styles (Outlook's HTML
    only, Foxmail and mutt in GBK, QQ Mail in gb18030, a real .xlsx report), long sections,
    half of them replies quoting the earlier thread, and one in ten carrying a ~30 KB file
    named .xlsx that is not a valid workbook."""
    import random
    rnd = random.Random(16)
    out = []
    start = start or datetime(2026, 11, 16, 18, 0, tzinfo=CST)
    thread = "\r\n".join(f"> {h}：{t}" for h, t in LONG_SECTIONS)
    for i in range(n):
        when = start + timedelta(minutes=i % 600, days=(i // 600) % 5)
        quoted = "\r\n".join([thread] * rnd.randrange(2, 5)) if i % 3 else ""
        draft = Draft("冯喆", f"s{i % 2000}@example.com", (("钱主管", "qian.zg@example.com"),),
                      (("人事部", "hr@example.com"),), f"工作日报 {when:%Y-%m-%d}",
                      LONG_SECTIONS, when, f"rich{i}.{when:%H%M%S}@example.com",
                      in_reply_to=f"rich{i - 1}@example.com" if quoted else None, quoted=quoted)
        raw = write(CLIENTS[i % len(CLIENTS)], draft)
        if i % 10 == 3:
            raw = with_attachment(raw, 22_000 + rnd.randrange(0, 16_000), XLSX_NAME,
                                  "application/vnd.openxmlformats-officedocument."
                                  "spreadsheetml.sheet")
        out.append((raw, when))
    return out


def with_attachment(raw: bytes, size: int, name: str,
                    content_type: str = "application/pdf") -> bytes:
    """The mail with an attachment of `size` random bytes (base64, as clients send it)."""
    import base64
    head, _, body = raw.partition(b"\r\n\r\n")
    head = head.replace(b"\r\n\t", b" ").replace(b"\r\n ", b" ")   # unfolded
    lines = [line for line in head.split(b"\r\n")
             if not line.lower().startswith((b"content-type", b"content-transfer-encoding",
                                            b"mime-version", b"\t", b" "))]
    ctype = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-")]
    boundary = b"----=_bench_attachment"
    blob = base64.encodebytes(os.urandom(size)).replace(b"\n", b"\r\n")
    return (b"\r\n".join(lines) + b"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
            b"boundary=\"" + boundary + b"\"\r\n\r\n--" + boundary + b"\r\n" +
            b"\r\n".join(ctype) + b"\r\n\r\n" + body + b"\r\n--" + boundary +
            b"\r\nContent-Type: " + content_type.encode() + b"; name=\"" + name.encode()
            + b"\"\r\n"
            b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment\r\n\r\n" +
            blob + b"\r\n--" + boundary + b"--\r\n")


def deliver_all(server: Dovecot, folder: str, mails: list[tuple[bytes, datetime]]) -> None:
    """MULTIAPPEND in groups: one command per group instead of one per mail."""
    client = imap_login("127.0.0.1", server.port, "hr@example.com", PASSWORD)
    if not client.folder_exists(folder):
        client.create_folder(folder)
    group: list[dict[str, object]] = []
    size = 0
    for raw, when in mails:
        group.append({"msg": raw, "date": when})
        size += len(raw)
        if len(group) >= 1000 or size > 32 * 2**20:
            client.multiappend(folder, group)
            group, size = [], 0
    if group:
        client.multiappend(folder, group)
    client.logout()


# -- measuring a command ------------------------------------------------------------

def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            pass
    return out


def _pss(pid: int) -> int:
    """The process's proportional set size: its own pages, plus its share of pages it
    shares with others (the interpreter and modules a fork server's children share), so
    that the sum over a process tree is what the tree takes from the machine."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(seconds, peak memory (PSS) of the process and its children together, stdout)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: (out.append(proc.communicate()[0]), done.set()))
    reader.start()
    # Every 100 ms: reading the tree's smaps every 20 ms took half a core of the two, and
    # the command measured ran slower for it.
    while not done.wait(0.1):
        peak = max(peak, sum(_pss(p) for p in _tree(proc.pid)))
    took = time.perf_counter() - t
    reader.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode})")
    return took, peak, out[0].decode(errors="replace")


def project(work: Path, server_port: int, folders: list[str], smtp_port: int | None = None,
            people: int = 2000, connections: int = 1) -> Path:
    roster = ["hr@example.com,人事部,hr,,,2024-01-01,,no",
              "qian.zg@example.com,钱主管,supervisor,华东,,2024-01-01,,no"]
    roster += [f"s{i}@example.com,业务{i},sales,华东,qian.zg@example.com,2025-01-01,,no"
               for i in range(people)]
    return write_project(work, roster, database="bench.db", smtp_port=smtp_port,
                         connections=connections,
                         mailbox=mailbox_block("hr", server_port, "hr@example.com",
                                               password_env="BENCH_PASSWORD", folders=folders))


ENV = {"BENCH_PASSWORD": PASSWORD, "PATH": "/usr/bin:/bin"}


def mailflow(settings: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mailflow", "--config", str(settings), *args]


# -- the benchmarks -----------------------------------------------------------------

def bench_fetch(server: Dovecot, folder: str, n: int, what: str = "") -> list[Row]:
    def raw_imaplib() -> None:
        c = imaplib.IMAP4("127.0.0.1", server.port)
        c.login("hr@example.com", PASSWORD)
        c.select(folder, readonly=True)
        for start in range(1, n + 1, 200):
            c.uid("FETCH", f"{start}:{start + 199}", "(BODY.PEEK[])")
        c.logout()

    box = Mailbox(name="hr", host="127.0.0.1", port=server.port, security="none",
                  username="hr@example.com", password_env="X", folders=(folder,), timeout=60)

    def mailflow_fetch() -> None:
        c = imap.connect(box, PASSWORD)
        got = sum(len(b.mails) for b in imap.fetch_new(c, box, folder, None))
        c.logout()
        assert got == n

    def raw_same_items() -> None:
        c = imaplib.IMAP4("127.0.0.1", server.port)
        c.login("hr@example.com", PASSWORD)
        c.select(folder, readonly=True)
        for start in range(1, n + 1, 200):
            c.uid("FETCH", f"{start}:{start + 199}",
                  "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.40960>)")
        c.logout()

    base, same, ours = best(raw_imaplib), best(raw_same_items), best(mailflow_fetch)
    return [(f"fetch (mailflow fetch stage){what}", rate(n, ours),
             f"raw imaplib UID FETCH BODY.PEEK[]: {rate(n, base)} ({base / ours:.2f}×; target "
             f"≥ 0.8×); raw imaplib asking what mailflow asks (size, date, body): "
             f"{rate(n, same)} ({same / ours:.2f}×)")]


def bench_parse(mails: list[bytes], what: str = "") -> tuple[list[Row], float]:
    import mailparser

    base = best(lambda: [mailparser.parse_from_bytes(m) for m in mails])
    ours = best(lambda: [parse_mail(m) for m in mails])
    n = len(mails)
    return [(f"parse (mailflow parse_mail){what}", rate(n, ours),
             f"mail-parser: {rate(n, base)} ({base / ours:.2f}×)")], n / base


def bench_ingest(server: Dovecot, folder: str, n: int, parse_rate: float, work: Path,
                 what: str = "") -> list[Row]:
    settings = project(work, server.port, [folder])
    took, peak, out = measured(mailflow(settings, "--now", "2026-11-23T09:00:00+08:00",
                                        "poll", "--once"), ENV)
    log(f"ingest: {out.strip()}")
    return [(f"ingest: poll --once, {n:,}-mail backlog{what}, SQLite", rate(n, took),
             f"bare single-process mail-parser parse: {parse_rate:,.0f} msg/s "
             f"({(n / took) / parse_rate:.2f}× of it; target ≥ 1.0×)"),
            (f"ingest: peak memory (process + workers){what}", f"{peak / 2**20:,.0f} MB", "—")]


def bench_memory(server: Dovecot, n: int, work: Path) -> list[Row]:
    folder = "Attachments"
    mails = corpus(n, start=datetime(2026, 11, 16, 17, 0, tzinfo=CST))
    big = {n // 4, n // 2, 3 * n // 4}
    for i in range(n):
        if i in big:
            mails[i] = (with_attachment(mails[i][0], 20 * 2**20, "合同扫描件.pdf"), mails[i][1])
        elif i % 10 == 0:
            mails[i] = (with_attachment(mails[i][0], 200 * 1024 + i * 97 % 800_000, "报价单.pdf"),
                        mails[i][1])
    total = sum(len(m) for m, _ in mails)
    largest = max(len(m) for m, _ in mails)
    deliver_all(server, folder, mails)
    del mails
    settings = project(work, server.port, [folder])
    _, rest, _ = measured(mailflow(settings, "check-config"), ENV)
    took, peak, out = measured(mailflow(settings, "--now", "2026-11-23T09:00:00+08:00",
                                        "poll", "--once"), ENV)
    log(f"memory: {out.strip()}")
    return [(f"memory: poll --once, {n:,} mails, 10% with attachments, 3 of 20 MB "
             f"({total / 2**20:,.0f} MB in all)", f"peak {peak / 2**20:,.0f} MB (target ≤ 300 MB)",
             f"the same command's process at rest (check-config): {rest / 2**20:,.0f} MB; "
             f"largest mail {largest / 2**20:,.0f} MB; {rate(n, took)}")]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def bench_latency(server: Dovecot, work: Path, count: int = 60) -> list[Row]:
    """`mailflow run` on a folder; mails APPENDed one at a time, each breaking a copy rule
    (HR in To), so each gets a rule-break notice."""
    folder = "Live"
    client = imap_login("127.0.0.1", server.port, "hr@example.com", PASSWORD)
    client.create_folder(folder)
    client.logout()
    smtp = SmtpServer().start()
    settings = project(work, server.port, [folder], smtp.port)
    log_path = work / "run.log"
    proc = subprocess.Popen(mailflow(settings, "run"), env=ENV, stdout=subprocess.DEVNULL,
                            stderr=log_path.open("wb"))
    stored: dict[str, float] = {}
    noticed: dict[str, float] = {}
    pushed: dict[int, float] = {}
    stop = threading.Event()

    def watch_db() -> None:
        db = work / "bench.db"
        while not stop.is_set():
            try:
                conn = sqlite3.connect(db, timeout=5)
                for (mid,) in conn.execute("SELECT message_id FROM reports"):
                    stored.setdefault(mid, time.perf_counter())
                conn.close()
            except sqlite3.Error:
                pass
            for _, rcpts, _ in list(smtp.recorder.messages):
                for r in rcpts:
                    noticed.setdefault(r, time.perf_counter())
            time.sleep(0.005)

    def bare_idle() -> None:
        c = imap_login("127.0.0.1", server.port, "hr@example.com", PASSWORD)
        c.select_folder(folder, readonly=True)
        c.idle()
        while not stop.is_set():
            for r in c.idle_check(timeout=0.5):
                if len(r) > 1 and r[1] == b"EXISTS":
                    pushed.setdefault(int(r[0]), time.perf_counter())
        c.idle_done()
        c.logout()

    threads = [threading.Thread(target=watch_db, daemon=True),
               threading.Thread(target=bare_idle, daemon=True)]
    try:
        deadline = time.monotonic() + 30
        while b"with IDLE" not in log_path.read_bytes():
            if time.monotonic() > deadline:
                raise RuntimeError("mailflow run did not start watching: "
                                   + log_path.read_text(errors="replace")[-2000:])
            time.sleep(0.1)
        for t in threads:
            t.start()
        time.sleep(1)
        appender = imap_login("127.0.0.1", server.port, "hr@example.com", PASSWORD)
        sent: dict[int, tuple[float, str, str]] = {}
        for i in range(count):
            now = datetime.now(CST)
            raw, _ = corpus(1, start=now, sender=f"s{i}@example.com", hr_in_to=True)[0]
            mid = f"bench0.{now:%H%M%S}@example.com"
            raw = raw.replace(b"bench0.", f"live{i}.".encode())
            mid = f"live{i}.{now:%H%M%S}@example.com"
            t = time.perf_counter()
            appender.append(folder, raw, (), now)
            sent[i + 1] = (t, mid, f"s{i}@example.com")
            time.sleep(0.25)
        appender.logout()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (len(noticed) < count or len(stored) < count):
            time.sleep(0.1)
    finally:
        stop.set()
        proc.terminate()
        proc.wait(30)
        smtp.stop()
    to_store = [stored[mid] - t for t, mid, _ in sent.values() if mid in stored]
    to_notice = [noticed[who] - t for t, _, who in sent.values() if who in noticed]
    to_push = [pushed[seq] - sent[seq][0] for seq in sent if seq in pushed]
    missing = count - len(to_notice)
    unstored = count - len(to_store)
    ms = lambda v: f"{v * 1000:,.0f} ms"  # noqa: E731
    return [(f"latency under run (IDLE): APPEND → stored record, {count} mails",
             f"p95 {ms(_percentile(to_store, 95))}, median {ms(statistics.median(to_store))} "
             f"(target ≤ 1 s)" + (f"; {unstored} not stored within 30 s" if unstored else ""),
             f"bare IDLE client, APPEND → EXISTS: p95 {ms(_percentile(to_push, 95))}"),
            ("latency under run (IDLE): APPEND → notice at the SMTP server",
             f"p95 {ms(_percentile(to_notice, 95))}, median "
             f"{ms(statistics.median(to_notice))} (target ≤ 3 s)"
             + (f"; {missing} not received within 30 s" if missing else ""),
             f"bare IDLE client, APPEND → EXISTS: median {ms(statistics.median(to_push))}")]


def bench_startup(server: Dovecot, work: Path, n: int = 100_000) -> list[Row]:
    from mailflow.app import load_app
    from mailflow.service.pipeline import Counts, Judging, poll_folder
    from mailflow.store import queries

    folder = "Big"
    tiny = (b"From: s1@example.com\r\nTo: qian.zg@example.com\r\nSubject: x\r\n"
            b"Message-ID: <%d@bench>\r\n\r\nhello\r\n")
    t = time.perf_counter()
    deliver_all(server, folder, [(tiny % i, datetime(2026, 11, 2, 9, tzinfo=CST))
                                 for i in range(n)])
    log(f"startup: {n:,} messages appended in {time.perf_counter() - t:.0f} s")
    settings = project(work, server.port, [folder])
    app = load_app(settings)
    box = app.settings.mailboxes[0]
    c = imap.connect(box, PASSWORD)
    info = c.select_folder(folder, readonly=True)
    last = max(c.search("ALL"))
    c.logout()
    with app.db.begin() as session:   # the sync state an earlier run left
        queries.save_folder_state(session, "hr", folder, int(info[b"UIDVALIDITY"]), last,
                                  app.now())

    def restart() -> None:
        client = imap.connect(box, PASSWORD)
        with Judging(app, Counts()) as judging:
            poll_folder(app, client, box, folder, judging, lambda m: None)
            judging.finish()
        client.logout()

    def raw_restart() -> None:
        c = imaplib.IMAP4("127.0.0.1", server.port)
        c.login("hr@example.com", PASSWORD)
        c.select(folder, readonly=True)
        c.uid("SEARCH", f"UID {last + 1}:*")
        c.logout()

    # Dovecot finishes indexing a folder of 100,000 fresh APPENDs over its next few
    # EXAMINEs (175 ms each, then 12 ms); a restart meets an indexed folder, so warm it,
    # then take the two in turns so neither is favoured by the order.
    for _ in range(20):
        raw_restart()
    ready_runs, raw_runs = [], []
    for _ in range(9):
        ready_runs.append(best(restart, 1))
        raw_runs.append(best(raw_restart, 1))
    ready, raw_ready = statistics.median(ready_runs), statistics.median(raw_runs)
    client = imap.connect(box, PASSWORD)
    raw = imaplib.IMAP4("127.0.0.1", server.port)
    raw.login("hr@example.com", PASSWORD)
    raw.select(folder, readonly=True)

    def idle_cycle() -> None:
        with Judging(app, Counts()) as judging:
            poll_folder(app, client, box, folder, judging, lambda m: None)
            judging.finish()

    cycle = statistics.median(best(idle_cycle, 1) for _ in range(50))
    def raw_idle_cycle() -> None:
        raw.noop()
        raw.uid("SEARCH", f"UID {last + 1}:*")

    raw_cycle = statistics.median(best(raw_idle_cycle, 1) for _ in range(50))
    client.logout()
    raw.logout()
    ms = lambda v: f"{v * 1000:.1f} ms"  # noqa: E731
    return [(f"startup: ready after a restart, {n:,}-message folder with sync state",
             f"{ms(ready)} (target ≤ 50 ms)",
             f"raw imaplib connect + LOGIN + EXAMINE + UID SEARCH: {ms(raw_ready)}"),
            ("idle cycle per folder (open connection, nothing new)",
             f"{ms(cycle)} (target ≤ 2 ms)",
             f"raw imaplib NOOP + UID SEARCH on the open folder: {ms(raw_cycle)}")]


def bench_outbound(work: Path, n: int = 5000, connections: int = 4) -> list[Row]:
    import aiosmtplib
    from email.message import EmailMessage

    server = SmtpServer().start()
    try:
        msgs = []
        for i in range(n):
            m = EmailMessage()
            m["From"], m["To"], m["Subject"] = "r@example.com", f"s{i}@example.com", "日报提醒"
            m.set_content("今天的日报还没有收到。" * 20)
            msgs.append(m.as_bytes())

        async def bare() -> None:
            async def lane(part: list[bytes]) -> None:
                smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.port)
                await smtp.connect()
                for i, m in enumerate(part):
                    await smtp.sendmail("r@example.com", [f"s{i}@example.com"], m)
                await smtp.quit()
            await asyncio.gather(*(lane(msgs[k::connections]) for k in range(connections)))

        t = time.perf_counter()
        asyncio.run(bare())
        base = time.perf_counter() - t
        server.recorder.messages.clear()
        settings = project(work, 1, ["INBOX"], server.port, people=n, connections=connections)
        queued, _, out = measured(mailflow(settings, "--now", "2026-11-19T20:00:00+08:00", "remind",
                                           "--date", "2026-11-19"), ENV)
        log(f"outbound: {out.strip()}")
        sent, _, out = measured(mailflow(settings, "--now", "2026-11-19T20:01:00+08:00", "send"),
                                ENV)
        got = len(server.recorder.messages)
    finally:
        server.stop()
    return [(f"outbound: {n:,} reminders rendered + queued (remind)", rate(n, queued), "—"),
            (f"outbound: mailflow send, {connections} connections", rate(got, sent),
             f"bare aiosmtplib, {connections} connections: {rate(n, base)} "
             f"({base / sent * got / n:.2f}×)"),
            ("outbound: rendered, queued and sent, end to end", rate(got, queued + sent),
             "target ≥ 500 msg/s")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=20_000,
                    help="mails in the fetch / parse / ingest backlog (default 20000)")
    ap.add_argument("--quick", action="store_true",
                    help="2,000 mails, a 10,000-message folder and no 5,000-person month: "
                         "a minute instead of ten, for trying a change")
    ap.add_argument("--growth", nargs="?", const="500,5000,50000", metavar="SIZES",
                    help="only the growth table: the commands people run at each company "
                         "size (salespeople, comma-separated; default 500,5000,50000) on "
                         "PostgreSQL and SQLite (bench/growth.py)")
    ap.add_argument("--backends", default="postgresql,sqlite",
                    help="with --growth: the databases to measure on (default both)")
    ap.add_argument("--instances", action="store_true",
                    help="only the three-instance run: 5,000 reminders and 2,000 digests of "
                         "a 50,000-person day sent by one, then three `mailflow send` on one "
                         "PostgreSQL, one killed mid-send (bench/instances.py)")
    args = ap.parse_args()
    if args.instances:
        import instances
        instances.main([])
        return
    if args.growth:
        import growth
        growth.main(tuple(int(s) for s in args.growth.split(",")), log,
                    tuple(args.backends.split(",")))
        return
    n = 2000 if args.quick else args.n
    work = Path(tempfile.mkdtemp(prefix="mailflow-bench-"))
    server = Dovecot()
    server.add_user("hr@example.com", PASSWORD)
    server.start()
    rows: list[Row] = []
    facts: dict[str, object] = {}
    try:
        mails = corpus(n)
        deliver_all(server, "Bench", mails)
        sizes = [len(m) for m, _ in mails]
        log(f"corpus: {n:,} report mails from {len(CLIENTS)} client styles, median "
            f"{statistics.median(sizes):,.0f} bytes")
        def add(new: list[Row]) -> None:
            rows.extend(new)
            for row in new:
                log("  " + " | ".join(row))

        add(bench_fetch(server, "Bench", n))
        parse_rows, parse_rate = bench_parse([m for m, _ in mails[:5000]])
        add(parse_rows)
        del mails
        add(bench_ingest(server, "Bench", n, parse_rate, work / "ingest"))
        mails = report_corpus(n)
        deliver_all(server, "Reports", mails)
        log(f"report corpus: {n:,} mails, median "
            f"{statistics.median(len(m) for m, _ in mails):,.0f} bytes, one in ten with a "
            "broken .xlsx")
        what = ", report mail (median 12 KB)"
        add(bench_fetch(server, "Reports", n, what))
        parse_rows, parse_rate = bench_parse([m for m, _ in mails[:5000]], what)
        add(parse_rows)
        del mails
        add(bench_ingest(server, "Reports", n, parse_rate, work / "ingest-reports", what))
        add(bench_memory(server, 2000, work / "memory"))
        add(bench_latency(server, work / "latency"))
        add(bench_startup(server, work / "startup", 10_000 if args.quick else 100_000))
        add(bench_outbound(work / "outbound"))
        if not args.quick:
            smtp_port = 1   # the company's commands queue mail; nothing is sent
            company_rows, facts = company.run(work / "company", smtp_port, log)
            add(company_rows)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    table = [f"| {'benchmark'.ljust(width)} | mailflow | baseline (same run) |",
             f"| {'-' * width} | --- | --- |"]
    table += [f"| {a.ljust(width)} | {b} | {c} |" for a, b, c in rows]
    print("\n".join(table))
    if not args.quick:
        write_doc(table, n, facts)


def write_doc(table: list[str], n: int, facts: dict[str, object]) -> None:
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text(encoding="utf-8")
    marker = "<!-- bench/run writes below this line -->"
    head = text.split(marker)[0] if marker in text else text
    plans = "\n".join(f"- {label}:\n" + "\n".join(f"  - `{step}`" for step in steps)
                      for label, steps in facts.get("plans", []))  # type: ignore[union-attr]
    doc.write_text(
        head.rstrip() + "\n\n" + marker + "\n\n"
        f"## Last run\n\n`bench/run` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"a {n:,}-mail backlog, this machine kind (2 cores), Dovecot and aiosmtpd on "
        "loopback. Each figure beside its baseline from the same run.\n\n"
        + "\n".join(table) + "\n\n### Query plans (SQLite, the 5,000-person month)\n\n"
        + plans + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
