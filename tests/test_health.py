"""`mailflow health` and the alert mails to HR against real servers: Dovecot with a wrong
password, an aiosmtpd server that stops, a mailbox that goes silent, a job that fails.
Every time is pinned with --now."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import select

from conftest import report, smtp_block
from servers import SmtpServer, deliver, imap_login
from week import CST

IT = "it@example.com"


def with_it(project) -> None:  # type: ignore[no-untyped-def]
    """[company] it, added to the settings as they are now."""
    text = project.settings.read_text(encoding="utf-8")
    project.settings.write_text(text.replace('hr = ["hr@example.com"]',
                                             f'hr = ["hr@example.com"]\nit = ["{IT}"]', 1),
                                encoding="utf-8")


def outbox(project, kind: str = "alert"):  # type: ignore[no-untyped-def]
    from mailflow.store.models import OutboxMail

    with project.engine().connect() as conn:
        return conn.execute(select(OutboxMail.dedupe_key, OutboxMail.to_addrs,
                                   OutboxMail.subject, OutboxMail.state)
                            .where(OutboxMail.kind == kind).order_by(OutboxMail.id)).all()


def health(project, now: str):  # type: ignore[no-untyped-def]
    result = project.cli("health", "--json", now=now)
    assert "Traceback" not in result.err
    return result.code, json.loads(result.out)


def kinds(found: dict) -> list[str]:
    return [p["kind"] for p in found["problems"]]


@pytest.fixture
def box(project, passwords, dovecot):  # type: ignore[no-untyped-def]
    folder = "H" + uuid.uuid4().hex[:8]
    client = imap_login("127.0.0.1", dovecot.port, "hr@example.com", "secret-hr")
    client.create_folder(folder)
    client.logout()
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(folder,))
    project.folder = folder
    return project


def test_a_wrong_password_is_reported_and_mailed_to_hr_once_a_day(box, smtp_server, monkeypatch):
    box.write_settings(smtp_block(smtp_server.port))
    with_it(box)
    assert box.cli("poll", "--once", now="2026-11-24T10:00:00+08:00").code == 0
    code, found = health(box, "2026-11-24T10:05:00+08:00")
    assert (code, found["ok"], found["problems"]) == (0, True, [])
    assert found["folders"][0]["last_fetch"] == "2026-11-24T02:00:00+00:00"
    human = box.cli("health", now="2026-11-24T10:05:00+08:00")
    assert human.code == 0 and human.out.startswith("health at 2026-11-24 10:05 (Asia/Shanghai): ok")

    monkeypatch.setenv("MAILFLOW_TEST_HR_PASSWORD", "changed-by-someone")
    assert box.cli("poll", "--once", now="2026-11-24T10:30:00+08:00").code == 1
    code, found = health(box, "2026-11-24T10:40:00+08:00")
    assert code == 1 and kinds(found) == ["mailbox"]
    problem = found["problems"][0]
    assert problem["since"] == "2026-11-24T02:30:00+00:00" and not problem["alert"]
    assert "login as hr@example.com" in problem["text"] and found["alerts_queued"] == 0
    assert found["folders"][0]["failing_since"] == "2026-11-24T02:30:00+00:00"
    human = box.cli("health", now="2026-11-24T10:40:00+08:00")
    assert human.code == 1
    assert "problem: mailbox hr (" in human.out and "failing since 2026-11-24 10:30" in human.out

    # Still failing an hour on: one alert to HR and IT, and only one that day.
    assert box.cli("poll", "--once", now="2026-11-24T11:35:00+08:00").code == 1
    code, found = health(box, "2026-11-24T11:40:00+08:00")
    assert code == 1 and found["problems"][0]["alert"] and found["alerts_queued"] == 1
    assert health(box, "2026-11-24T15:00:00+08:00")[1]["alerts_queued"] == 0
    rows = outbox(box)
    assert [(r.dedupe_key, r.to_addrs) for r in rows] == [
        ("alert|mailbox:hr|2026-11-24", ["hr@example.com", IT])]
    assert rows[0].subject == "日报助手告警：邮箱 hr 自 2026-11-24 10:30 起无法收信"
    assert box.cli("send", now="2026-11-24T15:01:00+08:00").code == 0
    sent = [m for m in smtp_server.recorder.parsed() if "告警" in m["Subject"]]
    assert len(sent) == 1 and sent[0]["To"] == f"人事部 <hr@example.com>, {IT}"
    body = sent[0].get_body(("plain",)).get_content()
    assert "2026-11-24 10:30 起无法登录或读取邮箱 hr" in body and "AUTHENTICATIONFAILED" in body
    assert "最后一次成功读取是 2026-11-24 10:00" in body

    # The next day, still failing: one more.
    assert box.cli("poll", "--once", now="2026-11-25T09:00:00+08:00").code == 1
    assert health(box, "2026-11-25T09:01:00+08:00")[1]["alerts_queued"] == 1
    assert [r.dedupe_key for r in outbox(box)][-1] == "alert|mailbox:hr|2026-11-25"

    # The password put right: the next poll clears it.
    monkeypatch.setenv("MAILFLOW_TEST_HR_PASSWORD", "secret-hr")
    assert box.cli("poll", "--once", now="2026-11-25T09:10:00+08:00").code == 0
    code, found = health(box, "2026-11-25T09:11:00+08:00")
    assert (code, found["problems"]) == (0, [])


def test_a_folder_not_fetched_for_long_is_reported(box):
    code, found = health(box, "2026-11-24T10:00:00+08:00")
    assert code == 1 and kinds(found) == ["stale"] and "never fetched" in found["problems"][0]["text"]
    assert box.cli("poll", "--once", now="2026-11-24T10:00:00+08:00").code == 0
    assert health(box, "2026-11-24T11:59:00+08:00")[0] == 0
    code, found = health(box, "2026-11-24T12:01:00+08:00")
    assert code == 1 and "last fetched 2026-11-24 10:00 (2 h ago)" in found["problems"][0]["text"]
    assert not found["problems"][0]["alert"]


def test_smtp_stopped_is_shown_with_the_last_delivery_and_not_mailed(project):
    server = SmtpServer().start()
    project.write_settings(smtp_block(server.port))
    assert project.cli("remind", "--date", "2026-11-23", now="2026-11-23T19:00:00+08:00").code == 0
    assert project.cli("send", now="2026-11-23T19:00:30+08:00").code == 0
    server.stop()
    assert project.cli("remind", "--date", "2026-11-24", now="2026-11-24T19:00:00+08:00").code == 0
    sent = project.cli("send", now="2026-11-24T19:00:30+08:00")
    assert sent.code == 1 and "not sent" in sent.out
    code, found = health(project, "2026-11-24T19:10:00+08:00")
    assert code == 1 and kinds(found) == ["smtp"]
    assert found["smtp"]["failing_since"] == "2026-11-24T11:00:30+00:00"
    assert found["smtp"]["last_delivery"] == "2026-11-23T11:00:30+00:00"
    assert "cannot reach" in found["smtp"]["error"] or "connect" in found["smtp"]["error"]
    code, found = health(project, "2026-11-24T20:30:00+08:00")
    assert code == 1 and "(89 min, mail waits)" in found["problems"][0]["text"]
    human = project.cli("health", now="2026-11-24T20:30:00+08:00")
    assert "smtp: last delivery 2026-11-23 19:00 (failing since 2026-11-24 19:00)" in human.out
    assert outbox(project) == [] and found["alerts_queued"] == 0   # it cannot be mailed


WORKDAYS = [date(2026, 11, d) for d in (16, 17, 18, 19, 20, 23, 24, 25, 26, 27)]


def test_a_silent_mailbox_is_reported_after_the_deadline_and_mailed(box, dovecot, smtp_server):
    box.write_settings(smtp_block(smtp_server.port))
    client = imap_login("127.0.0.1", dovecot.port, "hr@example.com", "secret-hr")
    # Reports on 8 of the last 10 workdays: a mailbox that usually has them.
    for day in WORKDAYS[:4] + WORKDAYS[6:]:
        at = datetime.combine(day, datetime.min.time(), CST).replace(hour=19)
        deliver(client, box.folder, report(subject=f"工作日报 {day}", date=at,
                                           message_id=f"silent-{day}@example.com"), at)
    client.logout()
    assert box.cli("poll", "--once", now="2026-11-30T20:50:00+08:00").code == 0
    # Before the deadline nothing is wrong yet: the last closed day (11-27) had reports.
    code, found = health(box, "2026-11-30T20:55:00+08:00")
    assert (code, found["problems"]) == (0, [])
    assert box.cli("poll", "--once", now="2026-11-30T21:10:00+08:00").code == 0
    code, found = health(box, "2026-11-30T21:15:00+08:00")
    assert code == 1 and kinds(found) == ["silent"]
    assert found["problems"][0]["text"] == (
        "mailbox hr: no daily report for 2026-11-30 by its deadline 2026-11-30 21:00, though "
        "8 of its last 10 workdays had some")
    assert found["alerts_queued"] == 1
    assert health(box, "2026-11-30T21:45:00+08:00")[1]["alerts_queued"] == 0
    rows = outbox(box)
    assert [(r.dedupe_key, r.to_addrs) for r in rows] == [
        ("alert|silent:hr:2026-11-30|2026-11-30", ["hr@example.com"])]
    assert rows[0].subject == "日报助手告警：邮箱 hr 没有收到 2026-11-30 的任何日报"


def test_a_mailbox_without_that_habit_is_not_silent(box, dovecot):
    client = imap_login("127.0.0.1", dovecot.port, "hr@example.com", "secret-hr")
    for day in WORKDAYS[:6]:     # 6 of the last 10: fewer than usual_min_days (7)
        at = datetime.combine(day, datetime.min.time(), CST).replace(hour=19)
        deliver(client, box.folder, report(subject=f"工作日报 {day}", date=at,
                                           message_id=f"few-{day}@example.com"), at)
    client.logout()
    assert box.cli("poll", "--once", now="2026-11-30T21:10:00+08:00").code == 0
    assert health(box, "2026-11-30T21:15:00+08:00")[0] == 0


def test_a_failed_job_is_reported_and_mailed_until_it_runs(project, smtp_server):
    from mailflow.app import load_app
    from mailflow.service.jobs import JOBS, run_due

    project.write_settings(smtp_block(smtp_server.port))
    close = tuple(j for j in JOBS if j.name == "close-day")
    digest = project.root / "templates" / "digest.txt.j2"
    kept = digest.read_text(encoding="utf-8")
    digest.unlink()
    app = load_app(project.settings, "2026-11-24T21:45:00+08:00")
    assert run_due(app, close)[0].startswith("close-day 2026-11-24: failed")
    code, found = health(project, "2026-11-24T21:50:00+08:00")
    assert code == 1 and kinds(found) == ["job"] and found["alerts_queued"] == 1
    assert found["problems"][0]["key"] == "job:close-day:2026-11-24"
    assert "digest.txt.j2" in found["problems"][0]["text"]
    [row] = outbox(project)
    assert row.subject == "日报助手告警：定时任务 close-day（2026-11-24）运行失败"

    digest.write_text(kept, encoding="utf-8")
    app = load_app(project.settings, "2026-11-24T22:00:00+08:00")
    assert "close-day 2026-11-24" in run_due(app, close)[0]
    code, found = health(project, "2026-11-24T22:01:00+08:00")
    assert (code, found["problems"]) == (0, [])


def test_a_skipped_job_is_reported_for_a_day(project, smtp_server):
    from mailflow.app import load_app
    from mailflow.service.jobs import JOBS, run_due

    project.write_settings(smtp_block(smtp_server.port))
    remind = tuple(j for j in JOBS if j.name == "remind")
    run_due(load_app(project.settings, "2026-11-23T10:00:00+08:00"), remind)  # the start
    # Down across 20:00 and the deadline: the reminder is skipped.
    assert run_due(load_app(project.settings, "2026-11-23T21:30:00+08:00"), remind) == [
        "remind 2026-11-23: skipped: too late to be useful"]
    code, found = health(project, "2026-11-23T21:31:00+08:00")
    assert code == 1 and kinds(found) == ["skipped"] and not found["problems"][0]["alert"]
    assert health(project, "2026-11-24T21:31:00+08:00")[0] == 0


def test_health_json_shape(project):
    code, found = health(project, "2026-12-02T10:00:00+08:00")
    assert code == 0
    assert sorted(found) == ["alerts_queued", "calendar", "folders", "now", "ok", "outbox",
                             "problems", "smtp", "warnings"]
    assert found["smtp"] == {"last_delivery": None, "failing_since": None, "error": None}
    assert found["outbox"] == {"unknown": 0}
    assert found["now"] == "2026-12-02T02:00:00+00:00"     # UTC, like every JSON time
    # December: next year's 调休 not entered yet is a warning, not a failure.
    assert found["calendar"] == [{"year": 2026, "source": "package"},
                                 {"year": 2027, "source": "unentered"}]
    assert [w["key"] for w in found["warnings"]] == ["calendar:2027"]


def test_this_years_calendar_not_entered_is_a_problem(project):
    code, found = health(project, "2027-03-02T10:00:00+08:00")
    assert code == 1 and kinds(found) == ["calendar"]
    assert "the 调休 of 2027 is not entered" in found["problems"][0]["text"]


def test_unknown_outbox_rows_are_counted(project):
    from sqlalchemy import update

    from mailflow.store.models import OutboxMail

    server = SmtpServer().start()
    project.write_settings(smtp_block(server.port))
    assert project.cli("remind", "--date", "2026-11-23", now="2026-11-23T19:00:00+08:00").code == 0
    server.stop()
    with project.engine().begin() as conn:   # as a cut delivery leaves it (smtp.py)
        conn.execute(update(OutboxMail).where(OutboxMail.id == 1).values(state="unknown"))
    code, found = health(project, "2026-11-23T19:05:00+08:00")
    assert code == 1 and kinds(found) == ["unknown"] and found["outbox"] == {"unknown": 1}


def test_bad_thresholds_and_it_address_name_file_key_and_fix(project):
    (project.root / "rules" / "health.toml").write_text(
        "[alerts]\nmailbox_failing_minutes = 0\nusual_workdays = 5\nusual_min_days = 6\n"
        "[health]\nfetch_stale = 3\n", encoding="utf-8")
    project.write_settings()
    with_it(project)
    text = project.settings.read_text(encoding="utf-8")
    project.settings.write_text(text.replace(f'it = ["{IT}"]', 'it = ["it at example"]'),
                                encoding="utf-8")
    result = project.cli("check-config")
    assert result.code == 1
    assert "company.it: 'it at example' is not a mail address" in result.out
    assert 'fix: write it = ["it@example.com"], or leave it out' in result.out
    project.write_settings()
    result = project.cli("check-config")
    assert result.code == 1
    rules = str(project.root / "rules" / "health.toml")
    assert f"{rules}: alerts.mailbox_failing_minutes: is 0" in result.out
    assert "write a whole number of minutes, 1 or more (default 60)" in result.out
    assert f"{rules}: alerts.usual_min_days: is 6, more than usual_workdays (5)" in result.out
    assert f"{rules}: health.fetch_stale: is not a known key" in result.out
    assert "Traceback" not in result.out + result.err


def test_templates_without_the_alert_mail_still_show_the_health(project, smtp_server):
    from mailflow.app import load_app
    from mailflow.service.jobs import JOBS, run_due

    project.write_settings(smtp_block(smtp_server.port))
    for path in [*(project.root / "templates").glob("alert.*"),
                 project.root / "templates" / "digest.txt.j2"]:
        path.unlink()      # a templates folder from an older release, and a job that fails
    app = load_app(project.settings, "2026-11-24T21:45:00+08:00")
    run_due(app, tuple(j for j in JOBS if j.name == "close-day"))
    result = project.cli("health", now="2026-11-24T21:50:00+08:00")
    assert result.code == 1 and "Traceback" not in result.out + result.err
    assert "problem: job close-day for 2026-11-24 failed" in result.out
    assert "alert mails: not queued:" in result.out and "alert templates" in result.out
    assert outbox(project) == []
