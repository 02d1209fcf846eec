"""The commands as a user runs them: demo, ingest of mbox/Maildir/.eml, help, errors."""

from __future__ import annotations

import json
import mailbox
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone

from conftest import CLOCK, MAIL, read_mail, signal_other_thread

# When the mbox, the Maildir and the lone .eml of the ingest test say their mail came.
FROM_LINE = datetime(2026, 11, 26, 12, 6, tzinfo=timezone.utc)    # 20:06 in Shanghai
DELIVERED = datetime(2026, 11, 26, 12, 7, tzinfo=timezone.utc)
SAVED = datetime(2026, 11, 26, 12, 8, tzinfo=timezone.utc)
INGESTED = "2026-11-27T10:00:00+08:00"


def test_ingest_eml_mbox_and_maildir(project, tmp_path):
    # None of these mails has a Received header: the arrival is the mbox "From " line's
    # time, the Maildir file name's delivery time, the Date header, and, for a mail with
    # no date at all, the file's modification time. Each is pinned here: left to the
    # writer, the first two and the last would be today, and the mails would be judged
    # as sent weeks before they arrived.
    box = mailbox.mbox(str(tmp_path / "reports.mbox"))
    boxed = mailbox.mboxMessage(read_mail("hr_in_to_not_cc.eml"))
    boxed.set_from("MAILER-DAEMON", FROM_LINE.timetuple())
    box.add(boxed)
    box.flush()
    mailbox.Maildir(str(tmp_path / "Maildir"))
    # Named as a delivery agent names it: the delivery time in seconds first.
    (tmp_path / "Maildir" / "new" / f"{int(DELIVERED.timestamp())}.M1P1.mx.example.com"
     ).write_bytes(read_mail("wrong_supervisor.eml"))
    folder = tmp_path / "emls"
    folder.mkdir()
    shutil.copy(MAIL / "on_time_foxmail.eml", folder)
    shutil.copy(MAIL / "no_from_unparseable.eml", folder)
    os.utime(folder / "no_from_unparseable.eml", (SAVED.timestamp(), SAVED.timestamp()))
    res = project.cli("ingest", str(tmp_path / "reports.mbox"), str(tmp_path / "Maildir"),
                      str(folder), now=INGESTED)
    assert res.code == 0, res.err
    assert "4 fetched, 4 new" in res.out
    # Three mails for feng on 11-26 (one per source) … the first decides, all are kept.
    data = json.loads(project.cli("export", "--from", "2026-11-26", "--to", "2026-11-26").out)
    assert len(data["reports"]) == 3
    assert {v["code"] for v in data["violations"]} == {"hr_not_cc", "not_to_supervisor"}
    dated = datetime(2026, 11, 26, 12, 5, tzinfo=timezone.utc)   # on_time_foxmail's Date
    assert sorted(datetime.fromisoformat(r["received_at"]) for r in data["reports"]) == \
        [dated, FROM_LINE, DELIVERED]
    assert data["unparsed"][0]["error"] == "no From header"
    assert datetime.fromisoformat(data["unparsed"][0]["received_at"]) == SAVED
    again = project.cli("ingest", str(folder), now=INGESTED)
    assert "2 fetched, 0 new" in again.out


def test_help_teaches():
    res = subprocess.run([sys.executable, "-m", "mailflow", "--help"], capture_output=True,
                         text=True)
    assert res.returncode == 0
    for word in ("demo", "check-config", "poll", "ingest", "close-day", "status", "export",
                 "--now", "--config"):
        assert word in res.stdout
    sub = subprocess.run([sys.executable, "-m", "mailflow", "close-day", "--help"],
                         capture_output=True, text=True)
    assert "missing" in sub.stdout and "--date" in sub.stdout


def test_user_mistakes_get_a_message_not_a_traceback(project, tmp_path):
    res = project.cli("close-day", "--date", "2026-11-26", now="2026-11-26T20:00+08:00")
    assert res.code == 1 and "before its deadline" in res.err
    res = project.cli("status", now="yesterday")
    assert res.code == 1 and "--now 'yesterday' is not an ISO-8601 time" in res.err
    res = project.cli("ingest", str(tmp_path / "nope.eml"))
    assert res.code == 1 and "no such file" in res.err
    res = project.cli("poll")
    assert res.code == 1 and "--once" in res.err
    missing = subprocess.run([sys.executable, "-m", "mailflow", "--config",
                              str(tmp_path / "none.toml"), "--now", CLOCK, "status"],
                             capture_output=True,
                             text=True)
    assert missing.returncode == 1 and "none.toml: (file): does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_status_table_and_non_workday(project):
    res = project.cli("status", "--date", "2026-11-28", now="2026-11-28T22:00+08:00")
    assert "not a workday" in res.out
    assert "not_due" in res.out and "missing" not in res.out
    closed = project.cli("close-day", "--date", "2026-11-28", now="2026-11-29T09:00+08:00")
    assert "not a workday: nobody is missing" in closed.out


def test_init_then_check_config_says_what_to_fill_in(tmp_path, monkeypatch):
    from conftest import main
    import io
    from contextlib import redirect_stdout

    folder = tmp_path / "acme"
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["--now", CLOCK, "init", str(folder)]) == 0
    assert (folder / "rules" / "daily.toml").is_file() and (folder / "templates").is_dir()
    assert f'since = "{CLOCK[:10]}"' in (folder / "settings.toml").read_text(encoding="utf-8")
    assert (folder / "roster.csv").read_text(encoding="utf-8").startswith(
        "email,name,role,region,supervisor,start_date,end_date,probation\n")
    monkeypatch.delenv("MAILFLOW_HR_PASSWORD", raising=False)
    monkeypatch.delenv("MAILFLOW_SMTP_PASSWORD", raising=False)
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--config", str(folder / "settings.toml"), "--now", CLOCK, "check-config"])
    text = out.getvalue()
    assert code == 1
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    assert any("company.name: still says FILL IN" in e for e in errors)
    assert any("MAILFLOW_HR_PASSWORD is not set" in e for e in errors)
    assert any("MAILFLOW_SMTP_PASSWORD is not set" in e for e in errors)
    assert "placeholder address" in text
    # Filled in, it passes.
    settings = folder / "settings.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("FILL IN: 公司名称", "华信销售"),
                        encoding="utf-8")
    monkeypatch.setenv("MAILFLOW_HR_PASSWORD", "x")
    monkeypatch.setenv("MAILFLOW_SMTP_PASSWORD", "y")
    with redirect_stdout(io.StringIO()):
        assert main(["--config", str(settings), "--now", CLOCK, "check-config"]) == 0
    with redirect_stdout(io.StringIO()):
        assert main(["--now", CLOCK, "init", str(folder)]) == 1  # never overwrites


def test_readme_command_reference_matches_help():
    import importlib.util

    from conftest import ROOT
    spec = importlib.util.spec_from_file_location("cli_reference",
                                                  ROOT / "scripts" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert module.replaced(readme) == readme, \
        "README's command reference is stale: run python scripts/cli_reference.py --write"
    lines = readme.splitlines()
    first_block = lines.index("```sh")
    assert first_block < 15, "the README must open with the two commands"
    assert lines[first_block + 1:first_block + 3] == [
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[demo]' && .venv/bin/mailflow demo",
        "bash scripts/test.sh"]
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_a_seeded_month_sends_every_periodic_mail_once(tmp_path):
    """November 2026 through the service's schedule: each supervisor gets four weekly
    drafts and one month-end sheet, HR four weekly and one monthly compliance mail,
    everyone the four meeting notices; HR's figures match export."""
    out = tmp_path / "month"
    res = subprocess.run([sys.executable, "-m", "mailflow", "demo", "--out", str(out),
                          "--from", "2026-11-02", "--to", "2026-12-03"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr

    def count(who, prefix):
        return sum(1 for p in (out / who).glob("*.eml") if p.name.split("-", 1)[1]
                   .startswith(prefix))

    for sup in ("qian.zg@example.com", "sun.zg@example.com"):
        assert count(sup, "周报草稿") == 4 and count(sup, "月底考核") == 1
    assert count("hr@example.com", "日报合规周报") == 4
    assert count("hr@example.com", "日报合规月报") == 1
    people = [p.name for p in out.iterdir() if p.is_dir()]
    assert len(people) == 12
    assert all(count(p, "周六会议通知") == 4 for p in people)
    export = json.loads((out / "export.json").read_text(encoding="utf-8"))
    november = [v for v in export["violations"] if v["date"].startswith("2026-11")]
    late = sum(1 for v in november if v["code"] == "late" and not v.get("withdrawn"))
    missing = sum(1 for v in november if v["code"] == "missing" and not v.get("withdrawn"))
    [monthly] = (out / "hr@example.com").glob("*日报合规月报*.eml")
    from email import message_from_bytes
    from email.policy import default
    subject = message_from_bytes(monthly.read_bytes(), policy=default)["Subject"]
    assert f"迟交 {late}，未交 {missing}" in subject


def test_demo_keep_running_serves_the_mailboxes_to_a_mail_client(tmp_path):
    import re
    import signal
    import time

    from imapclient import IMAPClient

    # One week is enough mail to serve, and half the time of the default month.
    proc = subprocess.Popen([sys.executable, "-m", "mailflow", "demo", "--out",
                             str(tmp_path / "d"), "--from", "2026-11-16", "--to", "2026-11-20",
                             "--keep-running"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=tmp_path)
    try:
        line = ""
        deadline = time.monotonic() + 120
        while "IMAP server" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        m = re.search(r"port (\d+), no TLS; users ([^,]+),.*password (\S+)\.", line)
        assert m, line
        client = IMAPClient("127.0.0.1", port=int(m.group(1)), ssl=False, timeout=10)
        client.login(m.group(2), m.group(3))
        info = client.select_folder("INBOX", readonly=True)
        client.logout()
        assert info[b"EXISTS"] > 40          # HR's mailbox holds the week's seeded reports
    finally:
        # SIGTERM, as systemd or a container stops it; SIGINT is ignored in a process
        # started by a test runner's worker, and the demo handles both itself. Handed to
        # one of the servers' threads, as the kernel may: the demo must stop all the same.
        signal_other_thread(proc.pid, signal.SIGTERM)
        assert proc.wait(60) == 0


def test_a_reader_that_goes_away_gets_no_traceback(tmp_path):
    """`mailflow init | head -3`: the pipe closes while mailflow still prints."""
    proc = subprocess.Popen([sys.executable, "-m", "mailflow", "--now", CLOCK, "init",
                             str(tmp_path / "company")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()                          # the reader is gone before the first line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert (tmp_path / "company" / "settings.toml").is_file()   # the work itself was done
