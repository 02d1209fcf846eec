"""A seeded, randomized fault run: `mailflow run` killed -9 and stopped with SIGTERM at
random points (some right after a delivery was cut), while reports arrive in two Dovecot
mailboxes, Dovecot is restarted once, and the SMTP server answers slowly, with 451,
drops at MAIL, reads a whole message and drops with no reply, or answers 250 and drops.
Then a last undisturbed run, and the checks, from the product's own outputs (export,
outbox list, status) and what the SMTP server received:

- every mail recorded once;
- nothing received twice by the server unless the outbox reports its outcome unknown;
- every notice and digest due is delivered or reported unknown;
- no traceback anywhere.

The seed is printed; MAILFLOW_CHAOS_SEED=N reruns the same schedule (the same choices in
the same order; the timing of a loaded machine still varies). MAILFLOW_CHAOS_SECONDS sets
how long the disturbed part lasts (bench/soak_unknown.py runs it for longer)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from aiosmtpd.controller import Controller

from conftest import report, smtp_block
from servers import Recorder, deliver, imap_login
from mailflow.testing.embedded import free_port

CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 19, 21, 40, tzinfo=CST)   # after close_day: digests are due
SETTLE = START + timedelta(hours=2)                    # the last run: every backoff is over
PEOPLE = 12


def roster() -> str:
    rows = ["email,name,role,region,supervisor,start_date,end_date,probation",
            "hr@example.com,人事部,hr,,,2024-01-01,,no",
            "gm@example.com,王总,management,,,2024-01-01,,no",
            "qian.zg@example.com,钱主管,supervisor,华东,,2024-01-01,,no",
            "sun.zg@example.com,孙主管,supervisor,华南,,2024-01-01,,no"]
    for i in range(PEOPLE):
        sup = "qian.zg" if i % 2 == 0 else "sun.zg"
        region = "华东" if i % 2 == 0 else "华南"
        rows.append(f"s{i:02d}@example.com,销售{i:02d},sales,{region},{sup}@example.com,"
                    "2025-01-01,,no")
    return "\n".join(rows) + "\n"


class Chaotic(Recorder):
    """aiosmtpd handler that misbehaves as its random generator says while `chaos` is on.
    `messages` is what it answered 250 to; `cut` what it read whole and never answered."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng
        self.chaos = True
        self.cut: list[bytes] = []
        self.cut_event = threading.Event()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if self.chaos and self.rng.random() < 0.12:
            server.transport.close()
            return "421 closing"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if not self.chaos:
            return await super().handle_DATA(server, session, envelope)
        what = self.rng.choices(["ok", "slow", "451", "cut", "ok-drop"],
                                [35, 20, 15, 12, 18])[0]
        if what == "slow":
            await asyncio.sleep(self.rng.uniform(0.3, 2.0))
        elif what == "451":
            return "451 4.3.0 try again later"
        elif what == "cut":
            self.cut.append(envelope.content)
            server.transport.close()
            self.cut_event.set()
            return "421 closing"
        elif what == "ok-drop":
            asyncio.get_running_loop().call_later(0.01, server.transport.close)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def _mid(raw: bytes) -> str:
    from email import message_from_bytes
    from email.policy import default
    return message_from_bytes(raw, policy=default)["Message-ID"].strip("<>")


def _mails(tag: str) -> list[tuple[bytes, datetime, bool, str]]:
    """(raw, arrival, breaks a rule, supervisor) for each salesperson's report of 11-19;
    every third has HR in To instead of Cc (hr_not_cc: a notice to the sender)."""
    out = []
    for i in range(PEOPLE):
        sup = ("钱主管", "qian.zg@example.com") if i % 2 == 0 else ("孙主管", "sun.zg@example.com")
        hr = ("人事部", "hr@example.com")
        breaks = i % 3 == 0
        when = datetime(2026, 11, 19, 20, 0, tzinfo=CST) + timedelta(minutes=i)
        raw = report("foxmail", from_name=f"销售{i:02d}", from_addr=f"s{i:02d}@example.com",
                     to=(sup, hr) if breaks else (sup,), cc=() if breaks else (hr,),
                     subject="工作日报 2026-11-19", message_id=f"{tag}-{i}@example.com",
                     date=when)
        out.append((raw, when, breaks, sup[1]))
    return out


class Run:
    def __init__(self, project, now: datetime, n: int) -> None:
        self.log = project.root / f"run-{n:03d}.log"
        env = {k: v for k, v in os.environ.items() if k != "MAILFLOW_FAULT"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailflow", "--config", str(project.settings),
             "--now", now.isoformat(), "run"], env=env, stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"))


def _wait_running(run: Run, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and run.proc.poll() is None:
        if "mailflow running" in run.log.read_text(errors="replace"):
            return
        time.sleep(0.1)


def chaos_run(project, dovecot, seconds: float, seed: int) -> dict[str, int]:
    """The whole run and its checks; returns figures for the report."""
    print(f"chaos seed {seed} (rerun with MAILFLOW_CHAOS_SEED={seed})", flush=True)
    plan = random.Random(seed)
    server_rng = random.Random(seed + 1)
    tag = f"chaos{seed}x{uuid.uuid4().hex[:6]}"
    (project.root / "roster.csv").write_text(roster(), encoding="utf-8")
    notify = project.root / "rules" / "notify.toml"
    notify.write_text(notify.read_text().replace("send_every_seconds = 30",
                                                 "send_every_seconds = 1"))
    handler = Chaotic(server_rng)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    folders = {"hr@example.com": "C" + uuid.uuid4().hex[:8],
               "qian.zg@example.com": "C" + uuid.uuid4().hex[:8]}
    for user, folder in folders.items():
        client = imap_login("127.0.0.1", dovecot.port, user, "secret-" + user.split("@")[0])
        client.create_folder(folder)
        client.logout()
    project.add_mailbox("hr", dovecot.port, "hr@example.com",
                        folders=(folders["hr@example.com"],))
    project.add_mailbox("sup", dovecot.port, "qian.zg@example.com",
                        folders=(folders["qian.zg@example.com"],))
    project.write_settings(smtp_block(controller.port).replace("timeout = 10", "timeout = 3"))
    mails = _mails(tag)
    gaps = [plan.uniform(0.2, seconds * 0.6 / len(mails)) for _ in mails]
    kills = {"kill": 0, "term": 0, "kill-after-cut": 0}
    arrived = threading.Event()

    def arrive() -> None:
        # Each report lands in HR's folder, and its supervisor's when that is 钱主管's.
        for (raw, when, _, sup), gap in zip(mails, gaps):
            time.sleep(gap)
            for user in {"hr@example.com", sup} & set(folders):
                while True:
                    try:
                        client = imap_login("127.0.0.1", dovecot.port, user,
                                            "secret-" + user.split("@")[0])
                        deliver(client, folders[user], raw, when)
                        client.logout()
                        break
                    except Exception:  # Dovecot is being restarted: deliver again
                        time.sleep(0.5)
        arrived.set()

    threading.Thread(target=arrive, daemon=True).start()
    runs: list[Run] = []
    t0 = time.monotonic()
    restart_at = t0 + plan.uniform(seconds * 0.3, seconds * 0.6)
    restarted = False
    try:
        while time.monotonic() - t0 < seconds or not arrived.is_set():
            run = Run(project, START + timedelta(seconds=time.monotonic() - t0), len(runs))
            runs.append(run)
            how = plan.choice(["kill", "term", "kill-after-cut"])
            life = plan.uniform(1.5, 6.0)
            if how == "kill-after-cut":
                handler.cut_event.clear()
                handler.cut_event.wait(life)
                run.proc.send_signal(signal.SIGKILL)
            else:
                if how == "term":
                    # A SIGTERM before Python has set its handler is the default action,
                    # not mailflow's stop: wait until it runs.
                    _wait_running(run)
                time.sleep(life)
                run.proc.send_signal(signal.SIGKILL if how == "kill" else signal.SIGTERM)
            kills[how] += 1
            code = run.proc.wait(60)
            if how == "term":
                assert code == 0, (seed, run.log.read_text())
            if not restarted and time.monotonic() > restart_at:
                dovecot.restart()
                restarted = True
        if not restarted:
            dovecot.restart()
        # Undisturbed: the server behaves, the clock is past every backoff.
        handler.chaos = False
        final = Run(project, SETTLE, len(runs))
        runs.append(final)
        _wait_running(final)   # its SIGTERM below must reach mailflow's handler
        expected = {_mid(raw) for raw, *_ in mails}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            rows = _outbox(project)
            if _reports(project) >= expected and rows and \
                    not [r for r in rows if r["state"] in ("pending", "sending")]:
                break
            time.sleep(1)
        final.proc.send_signal(signal.SIGTERM)
        assert final.proc.wait(60) == 0, (seed, final.log.read_text())
    finally:
        for run in runs:
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()
        controller.stop()
    return _check(project, runs, handler, mails, seed, kills)


def _export(project) -> dict:
    res = project.cli("export", "--from", "2026-11-19", "--to", "2026-11-19", "--format", "json",
                      now=SETTLE.isoformat())
    assert res.code == 0 and "Traceback" not in res.err, res.err
    return json.loads(res.out)


def _reports(project) -> set[str]:
    return {r["message_id"] for r in _export(project)["reports"]}


def _outbox(project) -> list[dict]:
    res = project.cli("outbox", "list", "--json", now=SETTLE.isoformat())
    if res.code != 0:
        return []    # no database yet
    return json.loads(res.out)["outbox"]


def _check(project, runs, handler, mails, seed, kills) -> dict[str, int]:
    why = f"seed {seed}: rerun with MAILFLOW_CHAOS_SEED={seed}"
    for run in runs:
        assert "Traceback" not in run.log.read_text(errors="replace"), (why, run.log)
    data = _export(project)
    ids = [r["message_id"] for r in data["reports"]]
    expected = sorted(_mid(raw) for raw, *_ in mails)
    assert sorted(ids) == expected, (why, ids)                # every mail recorded once
    assert data["unparsed"] == [], why
    rows = _outbox(project)
    by_id = {r["message_id"]: r for r in rows}
    received = [_mid(raw) for _, _, raw in handler.messages]
    cut = [_mid(raw) for raw in handler.cut]
    seen = received + cut
    for mid in set(seen):
        row = by_id[mid]
        if seen.count(mid) > 1 or mid in cut:       # the server may have it twice, or not
            assert row["unknown_since"], (why, mid, row)
        if mid in received:
            assert row["state"] == "sent" or row["unknown_since"], (why, mid, row)
    for row in rows:
        if row["state"] == "sent":
            assert row["message_id"] in received, (why, row)
        else:
            assert row["state"] == "unknown" and row["unknown_since"], (why, row)
    notices = {r["to"][0] for r in rows if r["kind"] == "notice"}
    breakers = {f"s{i:02d}@example.com" for i, m in enumerate(mails) if m[2]}
    assert notices == breakers, (why, notices)
    digests = sorted(r["to"][0] for r in rows if r["kind"] == "digest"
                     and r["period"] == "2026-11-19")
    assert digests == ["qian.zg@example.com", "sun.zg@example.com"], (why, digests)
    held = {r["message_id"] for r in rows if r["state"] == "unknown"}
    status = project.cli("status", "--date", "2026-11-19", "--json", now=SETTLE.isoformat())
    assert "Traceback" not in status.err
    listed = {u["message_id"] for u in json.loads(status.out)["unknown_deliveries"]}
    assert listed == held, (why, listed, held)
    send = project.cli("send", now=SETTLE.isoformat())
    assert all(mid in send.err for mid in held) and "Traceback" not in send.out + send.err
    figures = {"runs": len(runs), **kills, "delivered": len(received), "cut": len(cut),
               "unknown": len(held), "outbox": len(rows), "mails": len(ids)}
    print(f"chaos seed {seed}: {figures}", flush=True)
    return figures


def test_seeded_faults_lose_nothing_and_send_nothing_twice_unreported(project, passwords,
                                                                     dovecot):
    seed = int(os.environ.get("MAILFLOW_CHAOS_SEED") or random.SystemRandom().randrange(10**6))
    seconds = float(os.environ.get("MAILFLOW_CHAOS_SECONDS", "30"))
    chaos_run(project, dovecot, seconds, seed)
