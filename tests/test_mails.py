"""The mail modules on their own, each queuing into a real outbox (the project's
database) with a pinned clock and the shipped rules, roster and templates: what each
queues, to whom, and that a second run queues nothing."""

from __future__ import annotations

from datetime import date
from functools import partial

import pytest
from conftest import smtp_block
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailflow.app import load_app
from mailflow.mails import letters
from mailflow.mails.compliance import queue_hr_weekly
from mailflow.mails.kinds import sample_contexts
from mailflow.mails.meeting import queue_meeting_notice
from mailflow.mails.letters import Letter, Queued, queue_letters
from mailflow.mails.reminders import queue_reminders
from mailflow.mails.weekly import queue_weekly_reminders
from mailflow.store.models import OutboxMail


@pytest.fixture
def mailing(project):  # type: ignore[no-untyped-def]
    project.write_settings(smtp_block(2525))   # a sender to write from; nothing is sent
    return project


def outbox(project) -> list[OutboxMail]:  # type: ignore[no-untyped-def]
    with Session(project.engine()) as session:
        return list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def test_queue_letters_builds_only_what_is_not_queued(mailing, monkeypatch):
    monkeypatch.setattr(letters, "WRITE_EVERY", 2)      # five mails: three write transactions
    app = load_app(mailing.settings, "2026-11-27T17:00+08:00")
    built: list[int] = []

    def letter(n: int) -> Letter:
        built.append(n)
        return Letter([(f"人{n}", f"p{n}@example.com")], sample_contexts()["meeting"])

    wanted = [(f"meeting|p{n}@example.com|2026-11-28", partial(letter, n)) for n in range(5)]
    assert queue_letters(app, "meeting", "2026-11-28", wanted) == Queued(5, 0)
    assert queue_letters(app, "meeting", "2026-11-28", wanted) == Queued(0, 5)
    assert built == [0, 1, 2, 3, 4]                       # the second run built nothing
    rows = outbox(mailing)
    assert [r.to_addrs for r in rows] == [[f"p{n}@example.com"] for n in range(5)]
    assert {r.kind for r in rows} == {"meeting"} and {r.state for r in rows} == {"pending"}


def test_reminders_only_before_the_deadline(mailing):
    early = load_app(mailing.settings, "2026-11-26T20:00+08:00")
    queued = queue_reminders(early, date(2026, 11, 26))
    assert (queued.added, queued.existing) == (4, 0)      # the four salespeople that day
    assert {r.to_addrs[0] for r in outbox(mailing)} == {
        "feng.zhe@example.com", "han.mei@example.com", "zhao.lei@example.com",
        "li.na@example.com"}
    late = load_app(mailing.settings, "2026-11-26T21:00+08:00")
    assert "has passed" in queue_reminders(late, date(2026, 11, 26)).note
    assert queue_reminders(late, date(2026, 11, 28)).note == "2026-11-28 is not a workday: no reminders"


def test_meeting_notice_to_every_role_once_and_none_on_a_holiday(mailing):
    app = load_app(mailing.settings, "2026-11-27T17:00+08:00")
    assert queue_meeting_notice(app, date(2026, 11, 28)) == Queued(8, 0)
    assert queue_meeting_notice(app, date(2026, 11, 28)) == Queued(0, 8)
    rows = outbox(mailing)
    assert len({r.to_addrs[0] for r in rows}) == 8       # 赵磊 has two roster rows, one mail
    assert all("2026-11-28" in r.subject for r in rows)
    holiday = queue_meeting_notice(app, date(2026, 10, 3))
    assert holiday.added == 0 and "statutory holiday" in holiday.note


def test_weekly_reminds_supervisors_until_the_report_is_due(mailing):
    app = load_app(mailing.settings, "2026-11-30T08:30+08:00")
    assert queue_weekly_reminders(app, date(2026, 11, 23)) == Queued(2, 0)
    assert sorted(r.to_addrs[0] for r in outbox(mailing)) == ["qian.zg@example.com",
                                                             "sun.zg@example.com"]
    late = load_app(mailing.settings, "2026-11-30T10:00+08:00")
    assert "too late to remind" in queue_weekly_reminders(late, date(2026, 11, 23)).note


def test_compliance_mails_hr_once_with_the_sheet_and_csv(mailing):
    app = load_app(mailing.settings, "2026-11-30T09:00+08:00")
    assert queue_hr_weekly(app, date(2026, 11, 23)) == Queued(1, 0)
    assert queue_hr_weekly(app, date(2026, 11, 23)) == Queued(0, 1)
    (row,) = outbox(mailing)
    assert row.to_addrs == ["hr@example.com"] and row.period == "2026-W48"
    raw = row.raw
    assert raw.count(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") == 1
    assert b"text/csv" in raw


def test_alerts_one_per_problem_per_day_each_in_its_own_words(mailing):
    from datetime import datetime, timezone

    from mailflow.mails.alerts import queue_alerts
    from mailflow.records.health import Finding, Health

    def found(now: str, *problems: Finding) -> Health:
        return Health(datetime.fromisoformat(now), [], None, None, None, 0, [],
                      list(problems), [])

    since = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)
    problems = (
        Finding("mailbox:hr", "mailbox", "…", since, True,
                {"mailbox": "hr", "folders": "INBOX", "error": "refused", "since": "09:00"}),
        Finding("silent:hr:2026-11-24", "silent", "…", since, True,
                {"mailbox": "hr", "date": "2026-11-24", "deadline": "2026-11-24 21:00",
                 "had": 8, "of": 10}),
        Finding("job:close-day:2026-11-24", "job", "…", since, True,
                {"job": "close-day", "period": "2026-11-24", "error": "boom", "since": "21:30"}),
        Finding("smtp", "smtp", "…", since, False))
    app = load_app(mailing.settings, "2026-11-24T22:00+08:00")
    assert queue_alerts(app, found("2026-11-24T22:00+08:00", *problems)) == Queued(3, 0)
    assert queue_alerts(app, found("2026-11-24T23:00+08:00", *problems)) == Queued(0, 3)
    assert queue_alerts(app, found("2026-11-25T08:00+08:00", *problems[:1])) == Queued(1, 0)
    rows = outbox(mailing)
    assert [(r.kind, r.period, r.to_addrs) for r in rows] == \
        [("alert", "2026-11-24", ["hr@example.com"])] * 3 + \
        [("alert", "2026-11-25", ["hr@example.com"])]
    assert [r.subject for r in rows[:3]] == [
        "日报助手告警：邮箱 hr 自 09:00 起无法收信",
        "日报助手告警：邮箱 hr 没有收到 2026-11-24 的任何日报",
        "日报助手告警：定时任务 close-day（2026-11-24）运行失败"]
    from email import message_from_bytes, policy

    body = message_from_bytes(rows[1].raw, policy=policy.default).get_body(("plain",))
    assert "最近 10 个工作日里有 8 天收到" in body.get_content()
