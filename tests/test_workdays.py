"""Workdays: the statutory calendar, holidays computed from the law for any year, a year's
调休 entered by HR, and what is said (check-config, the service's log, HR's mail, the
digest) while a year's 调休 is not entered. Every clock is pinned."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import chinese_calendar
import pytest
from sqlalchemy import text

from conftest import ROOT, smtp_block
from servers import imap_login
from conftest import wait_for

from mailflow.app import load_app
from mailflow.errors import ConfigError
from mailflow.service.jobs import JOBS, run_due
from mailflow.config.policy import DEFAULT_LAW, WorkdayRules, YearArrangement, load_policy
from mailflow.dates.statutory import holidays, spans
from mailflow.dates.workdays import Workdays


def wd(week="statutory", off=(), extra=(), holidays=True, unknown="", years=()):
    return Workdays(WorkdayRules(week, holidays, frozenset(off), frozenset(extra), unknown,
                                 tuple(years)))


def d(text: str) -> date:
    return date.fromisoformat(text)


def copy_rules(dest: Path) -> None:
    import shutil

    shutil.copytree(ROOT / "rules", dest)


def test_statutory_calendar_with_adjusted_workdays():
    w = wd()
    assert not w.is_workday(date(2026, 10, 1))       # 国庆
    assert w.is_workday(date(2026, 9, 20))           # Sunday made a workday (调休)
    assert w.is_workday(date(2026, 10, 10))          # Saturday made a workday (调休)
    assert not w.is_workday(date(2026, 11, 28))      # ordinary Saturday
    assert w.is_workday(date(2026, 11, 27))


def test_mon_sat_week_keeps_statutory_holidays():
    w = wd("mon-sat")
    assert w.is_workday(date(2026, 11, 28))
    assert not w.is_workday(date(2026, 10, 3))       # Saturday inside 国庆
    assert not w.is_workday(date(2026, 11, 29))


def test_company_days_off_and_extra_workdays():
    w = wd(off={date(2026, 11, 27)}, extra={date(2026, 11, 29)})
    assert not w.is_workday(date(2026, 11, 27))
    assert w.is_workday(date(2026, 11, 29))


def test_workdays_back_skips_holidays():
    assert wd().workdays_back(date(2026, 10, 9), 3) == date(2026, 9, 29)


# -- the law ---------------------------------------------------------------------------

def test_the_laws_holidays_fall_on_the_package_holidays_2021_to_2026():
    """Every day the law names (in the version in force that year) is a holiday in the
    chinesecalendar package's published data, and every holiday the law names is found."""
    for year in range(2021, 2027):
        days = holidays(DEFAULT_LAW, year)
        names = set(days.values())
        assert names == {"元旦", "春节", "清明", "劳动节", "端午", "中秋", "国庆"}, year
        for day, name in days.items():
            assert chinese_calendar.is_holiday(day), (year, name, day)
            assert chinese_calendar.get_holiday_detail(day)[1] is not None, (year, name, day)
        assert len(days) == (13 if year >= 2025 else 11), year


def test_2027_by_the_law_as_amended_in_2024():
    got = {name: (a, b) for name, a, b in spans(DEFAULT_LAW, 2027)}
    assert got == {
        "元旦": (d("2027-01-01"), d("2027-01-01")),
        # 腊月 of 丙午 has 29 days: 除夕 is 腊月廿九, 2027-02-05.
        "春节": (d("2027-02-05"), d("2027-02-08")),
        "清明": (d("2027-04-05"), d("2027-04-05")),
        "劳动节": (d("2027-05-01"), d("2027-05-02")),
        "端午": (d("2027-06-09"), d("2027-06-09")),
        "中秋": (d("2027-09-15"), d("2027-09-15")),
        "国庆": (d("2027-10-01"), d("2027-10-03")),
    }


def test_the_shipped_rules_state_the_same_law():
    assert load_policy(ROOT / "rules").workdays.law == DEFAULT_LAW


# -- a year nobody has entered ---------------------------------------------------------

def test_an_unknown_year_is_judged_by_its_holidays_on_a_mon_fri_week(caplog):
    w = wd()
    assert not w.is_workday(d("2027-01-01"))          # 元旦, a Friday
    assert w.is_workday(d("2027-01-04"))
    for day in ("2027-02-05", "2027-02-08", "2027-04-05", "2027-06-09", "2027-09-15",
                "2027-10-01"):
        assert not w.is_workday(d(day)), day
    assert w.is_workday(d("2027-02-09")) and w.is_workday(d("2027-10-04"))
    assert not w.is_workday(d("2027-01-09"))          # an ordinary Saturday
    assert w.is_holiday(d("2027-02-06")) and w.is_holiday(d("2027-10-02"))
    assert not w.is_holiday(d("2027-01-09"))
    assert w.note(d("2027-01-04")) == {"year": 2027, "week": "mon-fri"}
    assert w.note(d("2026-11-19")) is None
    said = [r.message for r in caplog.records if "调休 of 2027" in r.message]
    assert len(said) == 1 and "[years.2027]" in said[0]     # once per process, not per day
    assert wd().is_workday(d("2031-03-03"))                  # no year stops the service


def test_an_old_unknown_year_setting_still_loads_and_keeps_the_holidays(tmp_path):
    rules = tmp_path / "rules"
    copy_rules(rules)
    (rules / "workdays.toml").write_text(
        'week = "statutory"\nstatutory_holidays = true\ndays_off = ["2031-01-02"]\n'
        'extra_workdays = []\nunknown_year = "mon-fri"\n', encoding="utf-8")
    w = Workdays(load_policy(rules).workdays)
    assert not w.is_workday(d("2031-01-01"))          # 元旦 is off now (it was a workday)
    assert not w.is_workday(d("2031-01-02"))          # the company's own day off
    assert w.is_workday(d("2031-03-03")) and not w.is_workday(d("2031-03-08"))
    sat = Workdays(WorkdayRules("statutory", True, frozenset(), frozenset(), "mon-sat"))
    assert sat.is_workday(d("2031-03-08")) and not sat.is_workday(d("2031-04-05"))  # 清明


# -- a year HR entered -------------------------------------------------------------------

def test_an_entered_year_changes_the_answers_and_wins_over_the_package():
    y2027 = YearArrangement(2027, frozenset({d("2027-02-09"), d("2027-02-10")}),
                            frozenset({d("2027-02-20")}))
    y2026 = YearArrangement(2026, frozenset({d("2026-11-27")}), frozenset({d("2026-11-28")}))
    w = wd(years=(y2027, y2026))
    assert not w.is_workday(d("2027-02-09")) and not w.is_workday(d("2027-02-10"))
    assert w.is_workday(d("2027-02-20"))              # a Saturday made a workday
    assert w.is_workday(d("2027-02-11"))
    assert not w.is_workday(d("2027-01-01"))          # the law's holidays need no entry
    assert w.is_holiday(d("2027-02-10")) and not w.is_holiday(d("2027-02-20"))
    assert w.note(d("2027-01-04")) is None
    assert w.unentered(d("2026-12-20")) == []
    # HR's entry for a year the package knows replaces the package's data.
    assert not w.is_workday(d("2026-11-27")) and w.is_workday(d("2026-11-28"))
    assert not w.is_workday(d("2026-10-01"))


def test_entered_dates_are_checked_with_file_key_and_fix(tmp_path):
    rules = tmp_path / "rules"
    copy_rules(rules)
    with (rules / "workdays.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[years.2027]\n"
                 "days_off = [2027-02-09, 2027-02-13, 2028-01-03, \"2027-13-01\", 2027-02-09]\n"
                 "workdays = [2027-02-11, 2027-10-02, 2027-02-20]\n"
                 "work_days = []\n")
    with pytest.raises(ConfigError) as caught:
        load_policy(rules)
    said = [str(p) for p in caught.value.problems]
    file = str(rules / "workdays.toml")
    assert all(s.startswith(f"{file}: years.2027.") and " — fix: " in s for s in said), said
    expect = ["days_off: 2027-02-13 is a Saturday, off anyway",
              "days_off: 2028-01-03 is not in 2027",
              "days_off: '2027-13-01' is not a date",
              "days_off: 2027-02-09 is listed twice",
              "workdays: 2027-02-11 is a Thursday, a workday anyway",
              "work_days: is not a known key"]
    for e in expect:
        assert any(e in s for s in said), (e, said)
    assert len(said) == len(expect)
    assert not any("2027-02-20" in s for s in said)
    # A workday entry on a holiday by law is found where the law is computed: when the
    # calendar is built (every command, and check-config).
    text = (rules / "workdays.toml").read_text(encoding="utf-8")
    (rules / "workdays.toml").write_text(text[:text.rindex("[years.2027]")] +
                                         "[years.2027]\nworkdays = [2027-10-02, 2027-02-20]\n"
                                         "days_off = [2027-10-01, 2027-02-09]\n",
                                         encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Workdays(load_policy(rules).workdays)
    said = [str(p) for p in caught.value.problems]
    assert said[0] == (f"{file}: years.2027.workdays: 2027-10-02 is 国庆, a statutory holiday "
                       "by law — fix: check the date against the State Council's notice")
    assert said[1].startswith(f"{file}: years.2027.days_off: 2027-10-01 is 国庆, off by law "
                              "anyway — fix: ") and len(said) == 2


def test_a_changed_law_is_read_from_the_rules(tmp_path):
    rules = tmp_path / "rules"
    copy_rules(rules)
    with (rules / "workdays.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[law.2030]\n"元旦" = { date = "01-01", days = 2 }\n'
                 '"春节" = { lunar = "除夕", days = 5 }\n"冬至" = { term = "冬至", days = 1 }\n')
    w = Workdays(load_policy(rules).workdays)
    assert not w.is_workday(d("2030-01-02"))          # a Wednesday, 元旦's second day by then
    assert w.is_workday(d("2029-01-02"))
    assert {n for n in w.law_holidays(2030).values()} == {"元旦", "春节", "冬至"}
    with (rules / "workdays.toml").open("a", encoding="utf-8") as fh:
        fh.write('"中秋" = { lunar = "8月15", days = 1 }\n"立春节" = { term = "立春节" }\n')
    with pytest.raises(ConfigError) as caught:
        load_policy(rules)
    said = " | ".join(str(p) for p in caught.value.problems)
    assert "law.2030.中秋.lunar: '8月15' is not a month-day" in said
    assert "law.2030.立春节.term: '立春节' is not a solar term" in said


# -- what is said, through the commands --------------------------------------------------

def test_check_config_warns_from_1_december_and_not_once_entered(project):
    def calendar_warnings(now: str) -> list[str]:
        res = project.cli("check-config", now=now)
        return [line for line in res.out.splitlines() if "调休" in line]

    assert calendar_warnings("2026-11-20T10:00+08:00") == []
    [warning] = calendar_warnings("2026-12-20T10:00+08:00")
    assert warning.startswith(f"warning: {project.root / 'rules' / 'workdays.toml'}: the 调休 "
                              "of 2027")
    assert "春节 02-05..02-08" in warning and "[years.2027]" in warning
    assert "Mon–Fri" in warning
    assert len(calendar_warnings("2027-01-04T10:00+08:00")) == 1
    with (project.root / "rules" / "workdays.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[years.2027]\ndays_off = [2027-02-09]\nworkdays = [2027-02-20]\n")
    assert calendar_warnings("2026-12-20T10:00+08:00") == []
    assert calendar_warnings("2027-12-01T10:00+08:00") != []     # and then 2028's


def said(caplog, year: int) -> bool:
    return any(f"the 调休 of {year}" in r.message for r in caplog.records)


def test_2027_judged_reminded_and_closed_with_new_years_day_off(project, smtp_server, caplog):
    project.write_settings(smtp_block(smtp_server.port))
    holiday = project.cli("close-day", "--date", "2027-01-01", now="2027-01-04T09:00+08:00")
    assert holiday.code == 0 and "2027-01-01 is not a workday" in holiday.out
    assert said(caplog, 2027)                         # the command's log: a warning
    remind = project.cli("remind", "--date", "2027-01-04", now="2027-01-04T20:00+08:00")
    assert remind.code == 0 and "2027-01-04: 4 queued" in remind.out, remind.out
    status = project.cli("status", "--date", "2027-01-04", now="2027-01-04T22:00+08:00")
    assert status.code == 0 and "2027-01-04 (workday)" in status.out
    closed = project.cli("close-day", "--date", "2027-01-04", now="2027-01-04T22:00+08:00")
    assert closed.code == 0 and "4 missing" in closed.out, closed.out
    eve = project.cli("close-day", "--date", "2027-02-05", now="2027-02-05T22:00+08:00")
    assert "2027-02-05 is not a workday" in eve.out
    after = project.cli("status", "--date", "2027-02-09", now="2027-02-09T22:00+08:00")
    assert "2027-02-09 (workday)" in after.out
    sent = project.cli("send", now="2027-01-04T22:01+08:00")
    assert sent.code == 0, sent.err
    digests = [m for m in smtp_server.recorder.parsed() if m["Subject"].startswith("日清")]
    assert len(digests) == 2
    for m in digests:
        body = m.get_body(("plain",)).get_content()
        html = m.get_body(("html",)).get_content()
        assert "2027 年的节假日调休安排尚未录入" in body and "周一至周五" in body
        assert "2027 年的节假日调休安排尚未录入" in html

    # HR enters 2027's 调休: the answers follow it, and the footer is gone.
    with (project.root / "rules" / "workdays.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[years.2027]\ndays_off = [2027-02-09]\nworkdays = [2027-02-20]\n")
    caplog.clear()
    after = project.cli("status", "--date", "2027-02-09", now="2027-02-09T22:00+08:00")
    assert "2027-02-09 (not a workday)" in after.out
    sat = project.cli("close-day", "--date", "2027-02-20", now="2027-02-20T22:00+08:00")
    assert "4 missing" in sat.out and not said(caplog, 2027)
    project.cli("send", now="2027-02-20T22:01+08:00")
    footers = [m for m in smtp_server.recorder.parsed() if "2027-02-20" in m["Subject"]]
    assert len(footers) == 2
    assert all("调休安排尚未录入" not in m.get_body(("plain",)).get_content() for m in footers)


def test_digest_of_a_known_year_has_no_calendar_footer(project, smtp_server):
    project.write_settings(smtp_block(smtp_server.port))
    project.cli("close-day", "--date", "2026-11-19", now="2026-11-19T22:00+08:00")
    project.cli("send", now="2026-11-19T22:01+08:00")
    bodies = [m.get_body(("plain",)).get_content() for m in smtp_server.recorder.parsed()]
    assert len(bodies) == 2 and not any("调休" in b for b in bodies)


CALENDAR = next(j for j in JOBS if j.name == "calendar")


def _outbox(project, kind: str) -> list[tuple]:
    with project.engine().connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "select period, subject from outbox where kind = :k"), {"k": kind})]


def test_hr_is_mailed_once_a_year_and_the_log_says_it_once_a_day(project, smtp_server, caplog):
    project.write_settings(smtp_block(smtp_server.port))

    def run(now: str) -> list[str]:
        return run_due(load_app(project.settings, now), (CALENDAR,))

    assert run("2026-11-30T10:00+08:00") == ["calendar 2026-11-30: the 调休 of every year in "
                                              "use is known"]
    assert _outbox(project, "calendar") == []
    assert run("2026-12-01T08:59+08:00") == []         # at HR's mail time, 09:00
    caplog.clear()
    first = run("2026-12-01T09:00+08:00")
    assert first == ["calendar 2026-12-01: 2027 not entered; mail to HR queued"]
    assert run("2026-12-01T15:00+08:00") == []         # once a day
    assert len([r for r in caplog.records if "调休 of 2027" in r.message]) == 1
    assert run("2026-12-02T09:30+08:00") == ["calendar 2026-12-02: 2027 not entered; mail to "
                                              "HR queued before"]
    # Days the service was down are not replayed into the log.
    later = run("2026-12-09T09:30+08:00")
    assert later[-1] == "calendar 2026-12-09: 2027 not entered; mail to HR queued before"
    assert all("skipped" in line for line in later[:-1]) and later[:-1]
    assert run("2027-01-04T09:30+08:00")[-1].endswith("queued before")
    assert _outbox(project, "calendar") == [("2027", "请录入 2027 年的节假日调休安排")]
    assert project.cli("send", now="2026-12-09T09:31+08:00").code == 0
    [mail] = smtp_server.recorder.parsed()
    assert mail["To"] == "人事部 <hr@example.com>"
    body = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for part in (body, html):
        assert "[years.2027]" in part and "rules/workdays.toml" in part
        assert "春节" in part and "02-05 至 02-08" in part and "周一至周五" in part


# -- the service ---------------------------------------------------------------------------

def test_the_service_on_4_january_2027(project, passwords, dovecot, smtp_server):
    folder = "C" + uuid.uuid4().hex[:8]
    client = imap_login("127.0.0.1", dovecot.port, "hr@example.com", "secret-hr")
    client.create_folder(folder)
    client.logout()
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(folder,))
    project.write_settings(smtp_block(smtp_server.port))
    log = project.root / "run.log"
    env = {k: v for k, v in os.environ.items() if k != "MAILFLOW_FAULT"}
    proc = subprocess.Popen([sys.executable, "-m", "mailflow", "--config", str(project.settings),
                             "--now", "2027-01-04T21:31:00+08:00", "run"], env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        def subjects() -> list[str]:
            return [m["Subject"] for m in smtp_server.recorder.parsed()]

        wait_for(lambda: len([s for s in subjects() if s.startswith("日清")]) == 2
                  and any("调休" in s for s in subjects()), 60,
                  "the day's two digests and the mail to HR")
        time.sleep(16)                                  # a further scheduler tick
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    out = log.read_text(errors="replace")
    assert "Traceback" not in out
    assert "job close-day for 2027-01-04: 4 missing" in out
    assert len(re.findall(r"close-day.{0,5}2027-01-04: 4 missing", out)) == 1, "logged once"
    assert "2027-01-01" not in out                     # 元旦 closed nothing
    assert "job calendar for 2027-01-04: 2027 not entered; mail to HR queued" in out
    warnings = [line for line in out.splitlines() if "WARNING" in line and "调休 of 2027" in line]
    assert 1 <= len(warnings) <= 2, warnings           # once a day (and once when first judged)
    digests = [s for s in subjects() if s.startswith("日清")]
    assert all("2027-01-04" in s for s in digests)
    assert len([s for s in subjects() if "调休" in s]) == 1


def test_the_solar_terms_a_law_may_name_are_those_the_lunar_calendar_computes():
    from lunar_python import Lunar

    from mailflow.config.policy import SOLAR_TERMS

    assert set(SOLAR_TERMS) == {n for n in Lunar.JIE_QI_IN_USE if not n.isascii()}
    assert len(SOLAR_TERMS) == 24
