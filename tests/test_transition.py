"""Leaving the HR transition (hr_assist_until = "auto"): a region that met the on-time and
日清 rates for four complete weeks in a row leaves HR off its digests from the next
workday, with one mail to HR; a region that broke its streak in week 3 stays copied.

Weeks 2026-W45 … W48 (Mon 11-02 … Fri 11-27, no holidays). 华东: 冯喆 reports on time
each workday, 钱主管 reviews each the next workday at 09:00. 华南: 赵磊 the same with
孙主管, except that in week 3 (W47) he is late on Tuesday and Wednesday: on-time rate 60%."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import report, smtp_block
from mail.make_cases import CST
from mailflow.app import load_app
from mailflow.mails.transition import check_transition
from mailflow.store.models import OutboxMail
from mailflow.testing.clientmail import ReplyDraft, write_reply
from datetime import datetime

ROSTER = """\
email,name,role,region,supervisor,start_date,end_date,probation
hr@example.com,人事部,hr,,,2024-01-01,,no
qian.zg@example.com,钱主管,supervisor,华东,,2024-01-01,,no
sun.zg@example.com,孙主管,supervisor,华南,,2024-01-01,,no
feng.zhe@example.com,冯喆,sales,华东,qian.zg@example.com,2025-01-01,,no
zhao.lei@example.com,赵磊,sales,华南,sun.zg@example.com,2025-01-01,,no
"""
PEOPLE = {"feng.zhe@example.com": ("冯喆", ("钱主管", "qian.zg@example.com")),
          "zhao.lei@example.com": ("赵磊", ("孙主管", "sun.zg@example.com"))}
LATE = {("zhao.lei@example.com", date(2026, 11, 17)), ("zhao.lei@example.com", date(2026, 11, 18))}


def at(day: date, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=CST)


@pytest.fixture
def region_month(project, tmp_path):  # type: ignore[no-untyped-def]
    (project.root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    notify = project.root / "rules" / "notify.toml"
    notify.write_text(notify.read_text(encoding="utf-8").replace(
        'hr_assist_until = "2026-12-31"', 'hr_assist_until = "auto"'), encoding="utf-8")
    project.write_settings(smtp_block(2525))
    res = project.cli("close-day", "--date", "2026-11-02", now="2026-11-02T21:30")
    assert res.code == 0, res.out + res.err
    paths = []
    day = date(2026, 11, 2)
    while day <= date(2026, 11, 27):
        if day.weekday() < 5:
            nxt = day + timedelta(days=3 if day.weekday() == 4 else 1)
            for email, (name, sup) in PEOPLE.items():
                mid = f"r-{email.split('@')[0]}-{day}@example.com"
                sent = at(day, "21:30" if (email, day) in LATE else "20:00")
                paths.append(report("foxmail", from_name=name, from_addr=email, to=(sup,),
                                    subject=f"工作日报 {day}", date=sent, message_id=mid))
                paths.append(write_reply("foxmail", ReplyDraft(
                    from_name=sup[0], from_addr=sup[1], to=((name, email),), text="已阅",
                    date=at(nxt, "09:00"), message_id=f"re-{mid}", original_id=mid,
                    original_subject=f"工作日报 {day}", original_from=(name, email),
                    original_date=sent, original_text="【今日工作】\n拜访")))
        day += timedelta(days=1)
    files = []
    for n, data in enumerate(paths):
        path = tmp_path / f"m{n:03}.eml"
        path.write_bytes(data)
        files.append(str(path))
    res = project.cli("ingest", *files, now="2026-11-30T10:00")
    assert res.code == 0, res.out + res.err
    return project


def hr_assist_mails(project) -> list[OutboxMail]:  # type: ignore[no-untyped-def]
    with Session(project.engine()) as session:
        return list(session.scalars(select(OutboxMail).where(OutboxMail.kind == "hr_assist")))


def digest_cc(project, supervisor: str, day: str) -> list[str]:  # type: ignore[no-untyped-def]
    res = project.cli("close-day", "--date", day, now=f"{day}T21:30")
    assert res.code == 0, res.out + res.err
    with Session(project.engine()) as session:
        return session.scalars(select(OutboxMail.cc_addrs).where(
            OutboxMail.dedupe_key == f"digest|{supervisor}|{day}")).one()


def test_a_region_that_met_the_bar_four_weeks_leaves_hr_off_from_the_next_workday(
        region_month):
    project = region_month
    settings = project.settings
    # After week 3 only three weeks are complete: no region yet.
    assert check_transition(load_app(settings, "2026-11-23T12:00+08:00"),
                            date(2026, 11, 23)).added == 0
    # Monday 11-30 at 11:59 week 4 is not complete (Friday's clearing is due at 12:00).
    assert check_transition(load_app(settings, "2026-11-30T11:59+08:00"),
                            date(2026, 11, 30)).added == 0
    queued = check_transition(load_app(settings, "2026-11-30T12:00+08:00"), date(2026, 11, 30))
    assert queued.added == 1
    mails = hr_assist_mails(project)
    assert [(m.to_addrs, m.subject) for m in mails] == [
        (["hr@example.com"], "华东日清已连续 4 周达标：2026-12-01 起汇总邮件不再抄送人事")]
    from email import message_from_bytes
    from email.policy import default
    body = message_from_bytes(mails[0].raw, policy=default).get_body(("plain",)).get_content()
    assert [line for line in body.splitlines() if line.startswith("- 2026-W")] == [
        f"- 2026-W{n}：按时率 100%，日清率 100%" for n in (45, 46, 47, 48)]
    assert "从 2026-12-01 起，华东主管的每日汇总邮件不再抄送人事" in body
    # Once only.
    assert check_transition(load_app(settings, "2026-12-01T12:00+08:00"),
                            date(2026, 11, 30)).added == 0
    assert len(hr_assist_mails(project)) == 1
    # The digest of Monday 11-30 still copies HR; from Tuesday 华东's does not, 华南's does.
    assert digest_cc(project, "qian.zg@example.com", "2026-11-30") == ["hr@example.com"]
    assert digest_cc(project, "qian.zg@example.com", "2026-12-01") == []
    assert digest_cc(project, "sun.zg@example.com", "2026-12-01") == ["hr@example.com"]


def test_the_region_that_broke_its_streak_in_week_3_and_a_kept_region_stay(region_month):
    from mailflow.records.transition import region_weeks

    app = load_app(region_month.settings, "2026-11-30T12:00+08:00")
    w47 = region_weeks(app, date(2026, 11, 16))
    assert (w47["华南"].on_time_rate, w47["华南"].clearing_rate) == (0.6, 1.0)
    assert (w47["华东"].on_time_rate, w47["华东"].clearing_rate) == (1.0, 1.0)
    notify = region_month.root / "rules" / "notify.toml"
    notify.write_text(notify.read_text(encoding="utf-8").replace(
        "keep = []", 'keep = ["华东"]'), encoding="utf-8")
    app = load_app(region_month.settings, "2026-11-30T12:00+08:00")
    assert check_transition(app, date(2026, 11, 30)).added == 0
    assert hr_assist_mails(region_month) == []


def test_auto_and_the_hr_assist_keys_are_checked(project):
    notify = project.root / "rules" / "notify.toml"
    text = notify.read_text(encoding="utf-8")
    notify.write_text(text.replace('hr_assist_until = "2026-12-31"', 'hr_assist_until = "auto"'),
                      encoding="utf-8")
    assert project.cli("check-config").code == 0
    notify.write_text(text.replace("weeks = 4", "weeks = 0").replace(
        "clearing_rate = 0.90", "clearing_rate = 90").replace(
        'hr_assist_until = "2026-12-31"', 'hr_assist_until = "soon"'), encoding="utf-8")
    res = project.cli("check-config")
    assert res.code == 1 and "Traceback" not in res.out + res.err
    for key in ("hr_assist.weeks", "hr_assist.clearing_rate", "transition.hr_assist_until"):
        assert f"{notify}: {key}" in res.out, res.out
    assert '"auto"' in res.out


def test_a_kept_region_no_one_is_in_is_warned_about(project):
    notify = project.root / "rules" / "notify.toml"
    notify.write_text(notify.read_text(encoding="utf-8").replace(
        "keep = []", 'keep = ["西北", "华东"]'), encoding="utf-8")
    res = project.cli("check-config")
    out = res.out + res.err
    assert res.code == 0, out
    assert "hr_assist.keep names '西北', a region no one on the roster is in" in out
    assert "keep names '华东'" not in out
