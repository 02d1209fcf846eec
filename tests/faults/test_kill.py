"""kill -9 at every step of polling and sending, then a rerun: the same records, no
mail sent twice (an interrupted delivery keeps its Message-ID and is reported)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from test_imap import day_mails, folder, mails_in_db, n_reports, put
from conftest import CLOCK, smtp_block, wait_for
from test_outbound import NOW, outbound, outbox_rows  # noqa: F401  (outbound is a fixture)


def _poll_subprocess(project, fault: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("MAILFLOW_FAULT", None)
    if fault:
        env["MAILFLOW_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "mailflow", "--config", str(project.settings),
                           "--now", CLOCK, "poll", "--once"], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("fault", ["before-commit:2", "after-commit:2", "judge:3"])
def test_poll_killed_midway_then_rerun_gives_the_same_records(project, passwords, dovecot,
                                                              tmp_path, fault):
    name = folder()
    put(dovecot, name, day_mails(12))
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(name,),
                        extra="fetch_batch = 5")
    killed = _poll_subprocess(project, fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    partial = mails_in_db(project)
    assert len(partial) < 12 or any(state == "received" for _, state in partial)
    rerun = _poll_subprocess(project, None)
    assert rerun.returncode == 0, rerun.stderr
    records = mails_in_db(project)
    assert sorted(m for m, _ in records) == sorted(f"m{i}@example.com" for i in range(12))
    assert all(state == "processed" for _, state in records)
    assert n_reports(project) == 12


def _send_subprocess(project, fault=None, now=NOW):
    env = dict(os.environ)
    env.pop("MAILFLOW_FAULT", None)
    if fault:
        env["MAILFLOW_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "mailflow", "--config", str(project.settings),
                           "--now", now, "send"], env=env, capture_output=True, text=True,
                          timeout=60)


def test_kill_before_the_message_is_sent_sends_it_on_the_rerun(outbound, smtp_server):
    outbound.cli("close-day", "--date", "2026-11-19", now=NOW)
    # Killed after claiming the first row, before any SMTP: the server never had it, so
    # the next run sends it, once, and calls nothing unknown.
    killed = _send_subprocess(outbound, "claimed:1")
    assert killed.returncode == -signal.SIGKILL
    assert [r[1] for r in outbox_rows(outbound)] == ["sending", "pending"]
    rerun = _send_subprocess(outbound)
    assert rerun.returncode == 0 and "unknown" not in rerun.stderr, rerun.stderr
    assert rerun.stdout.startswith("2 sent")
    assert len(smtp_server.recorder.messages) == 2
    assert sorted(r[1] for r in outbox_rows(outbound)) == ["sent", "sent"]


def test_kill_at_the_end_of_data_is_an_unknown_outcome(outbound, smtp_server):
    outbound.cli("close-day", "--date", "2026-11-19", now=NOW)
    # Killed with the whole message written but for its final ".": the row was marked
    # first, so the rerun cannot tell and reports it rather than risk sending it twice.
    killed = _send_subprocess(outbound, "data-end:1")
    assert killed.returncode == -signal.SIGKILL
    rerun = _send_subprocess(outbound)
    assert rerun.returncode == 1 and "unknown outcome, not resent" in rerun.stderr
    assert "1 sent" in rerun.stdout
    assert len(smtp_server.recorder.messages) == 1
    assert sorted(r[1] for r in outbox_rows(outbound)) == ["sent", "unknown"]


def test_kill_between_send_and_mark_never_sends_twice(outbound, smtp_server):
    outbound.cli("close-day", "--date", "2026-11-19", now=NOW)
    killed = _send_subprocess(outbound, "accepted:1")
    assert killed.returncode == -signal.SIGKILL
    assert len(smtp_server.recorder.messages) == 1
    rerun = _send_subprocess(outbound)
    assert "unknown outcome, not resent" in rerun.stderr
    assert len(smtp_server.recorder.messages) == 2    # the other digest only
    ids = [m["Message-ID"] for m in smtp_server.recorder.parsed()]
    assert len(set(ids)) == 2


def test_a_stop_that_overruns_names_the_busy_thread_and_leaves(project, passwords, dovecot,
                                                               smtp_server):
    """SIGTERM while the sender is stuck with a claimed row: after the service's 30 s the
    process leaves anyway, saying which thread was busy and where (its stack), with exit
    0; SIGUSR1 before that writes the stacks and stops nothing. The row it held is sent
    by the next `mailflow send`, once."""
    import time

    from test_run import Running

    name = folder()
    put(dovecot, name, [])
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(name,))
    project.write_settings(smtp_block(smtp_server.port))
    assert project.cli("close-day", "--date", "2026-11-19", now=NOW).code == 0
    run = Running(project, NOW, fault="claimed:1:stall=600")
    try:
        wait_for(lambda: [r[1] for r in outbox_rows(project)][:1] == ["sending"], 60,
                 "the sender to claim a row and stall")
        run.proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: "most recent call first" in run.text(), 20, "the stacks on SIGUSR1")
        assert run.proc.poll() is None, "SIGUSR1 stops nothing"
        asked = time.monotonic()
        run.proc.send_signal(signal.SIGTERM)
        assert run.proc.wait(timeout=60) == 0
        took = time.monotonic() - asked
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    log = run.text()
    assert 29 <= took < 60, took
    assert "still busy after 30s, leaving: sender" in log
    stacks = log[log.index("still busy after 30s"):]
    assert "faults.py" in stacks and "smtp.py" in stacks, "where the sender was stuck"
    assert smtp_server.recorder.messages == []
    rerun = _send_subprocess(project)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.startswith("2 sent"), rerun.stdout
    assert sorted(r[1] for r in outbox_rows(project)) == ["sent", "sent"]
    assert len({m["Message-ID"] for m in smtp_server.recorder.parsed()}) == 2


def _sending_by(project) -> dict[str, str]:
    engine = project.engine()
    with engine.connect() as conn:
        rows = conn.execute(text("select message_id, claimed_by from outbox "
                                 "where state = 'sending'")).all()
    engine.dispose()
    return dict(rows)


def test_a_sender_killed_while_another_sends_is_taken_over_in_the_same_pass(outbound,
                                                                             smtp_server):
    """Two instances send at once; the one holding a row is killed after the other began
    its pass. The other settles the row and sends it before its pass ends (a pass with a
    long backlog would otherwise leave it `sending` until the next one), and nothing goes
    out twice."""
    outbound.cli("close-day", "--date", "2026-11-19", now=NOW)
    env = dict(os.environ)
    args = [sys.executable, "-m", "mailflow", "--config", str(outbound.settings), "--now", NOW,
            "send"]
    first = subprocess.Popen(args, env={**env, "MAILFLOW_FAULT": "claimed:1:stall=120"},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        held = wait_for(lambda: _sending_by(outbound), 60, "the first sender's claim")
        # The second finds the first alive at its start, claims the other row and holds
        # it until the first is dead.
        second = subprocess.Popen(args, env={**env, "MAILFLOW_FAULT": "claimed:1:stall=3"},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: len(_sending_by(outbound)) == 2, 60, "the second sender's claim")
    finally:
        first.kill()
        first.wait()
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert out.startswith("2 sent"), out + err
    assert sorted(r[1] for r in outbox_rows(outbound)) == ["sent", "sent"]
    engine = outbound.engine()
    with engine.connect() as conn:
        queued = sorted(conn.execute(text("select message_id from outbox")).scalars())
    engine.dispose()
    ids = [m["Message-ID"].strip("<>") for m in smtp_server.recorder.parsed()]
    assert sorted(ids) == queued        # each once, the killed sender's row included
    assert next(iter(held)) in ids


def test_mail_a_killed_sender_held_keeps_its_place_in_the_queue(outbound, smtp_server):
    """Taken over later (here: a rerun five minutes on), the first digest, which the
    killed sender had claimed, still goes out first, not behind everything queued."""
    outbound.cli("close-day", "--date", "2026-11-19", now=NOW)
    killed = _send_subprocess(outbound, "claimed:1")
    assert killed.returncode == -signal.SIGKILL
    engine = outbound.engine()
    with engine.connect() as conn:
        held = conn.execute(text("select message_id from outbox where state = 'sending'")
                            ).scalar_one()
    engine.dispose()
    rerun = _send_subprocess(outbound, now="2026-11-19T21:50:00+08:00")
    assert rerun.stdout.startswith("2 sent"), rerun.stdout + rerun.stderr
    ids = [m["Message-ID"].strip("<>") for m in smtp_server.recorder.parsed()]
    assert ids[0] == held and len(set(ids)) == 2


def test_a_claim_made_on_another_machine_is_taken_over_once_its_sender_is_gone(outbound,
                                                                               smtp_server):
    """Rows left `sending` by instances on other machines: one whose sender no longer
    holds its lease (dead: not renewed) is sent by this one; one whose sender's lease is
    live is left to it. Neither waits for the claim to grow old."""
    from datetime import timedelta

    from sqlalchemy.orm import sessionmaker

    from mailflow.store import leases

    outbound.cli("close-day", "--date", "2026-11-19", now=NOW)
    engine = outbound.engine()
    dead, working = "node8:4242:0badf00d", "node9:4343:0cafe0ff"
    leases.take(sessionmaker(engine), f"sender:{working}", holder=working,
                ttl=timedelta(minutes=5))
    with engine.begin() as conn:
        for who, pick in ((dead, "min"), (working, "max")):
            conn.execute(text("update outbox set state = 'sending', claimed_by = :who, "
                              "claimed_at = queued_at, data_at = null "
                              f"where id = (select {pick}(id) from outbox)"), {"who": who})
    engine.dispose()
    res = _send_subprocess(outbound)
    assert res.stdout.startswith("1 sent, 0 to retry, 0 failed, 0 with unknown"), \
        res.stdout + res.stderr
    assert [r[1] for r in outbox_rows(outbound)] == ["sent", "sending"]
    assert len(smtp_server.recorder.messages) == 1
