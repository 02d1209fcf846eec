"""The mails written per region (close-day's digests, the weekly drafts with their
workbook, the month-end sheets) read many teams' records in one round of queries. Each
mail must come out as when every team is read on its own: the same headers, text, HTML
and workbook: the company is
built from real client mail through ingest and close-day, then each kind is queued three
ways (one team per read, a few teams per read, all teams in one read) and the outbox
rows compared.

Six regions of four; 冯一 moves from 区域0 to 区域1 on 11-18 (two teams in the week and
the month); some days are missing, late, without a section, or sent without HR in Cc
and sent again before the close."""

from __future__ import annotations

import email
import io
import random
import re
import zipfile
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select

from conftest import Project, smtp_block
from mail.make_cases import SECTIONS
from mailflow.app import load_app
from mailflow.inbound.rawmail import RawMail
from mailflow.mails.digests import queue_digests
from mailflow.mails.monthly import queue_month_end
from mailflow.mails.weekly import compile_drafts
from mailflow.records import stats
from mailflow.records.days import close_day
from mailflow.records.stats import person_periods, team_periods, teams_between
from mailflow.service.pipeline import ingest
from mailflow.store.models import OutboxMail
from mailflow.testing.clientmail import CLIENTS, Draft, write

CST = timezone(timedelta(hours=8))
REGIONS, PER_REGION = 6, 4
HR = ("人事部", "hr@example.com")
MOVER = "s0x0@example.com"


def roster() -> str:
    lines = ["email,name,role,region,supervisor,start_date,end_date,probation",
             "hr@example.com,人事部,hr,,,2024-01-01,,no",
             "gm@example.com,王总,management,,,2024-01-01,,no"]
    for r in range(REGIONS):
        lines.append(f"zg{r}@example.com,主管{r},supervisor,区域{r},,2024-01-01,,no")
        for i in range(PER_REGION):
            email = f"s{r}x{i}@example.com"
            if email == MOVER:
                lines += [f"{email},冯一,sales,区域0,zg0@example.com,2025-01-01,2026-11-17,no",
                          f"{email},冯一,sales,区域1,zg1@example.com,2026-11-18,,yes"]
            else:
                lines.append(f"{email},业务{r}-{i},sales,区域{r},zg{r}@example.com,2025-01-01,,"
                             + ("yes" if i == 3 else "no"))
    return "\n".join(lines) + "\n"


def mails(workdays: list[date]):  # type: ignore[no-untyped-def]
    rnd = random.Random(16)
    clients = [c for c in CLIENTS if c != "xlsx"]
    for day in workdays:
        for r in range(REGIONS):
            for i in range(PER_REGION):
                email = f"s{r}x{i}@example.com"
                sup = "zg1@example.com" if email == MOVER and day >= date(2026, 11, 18) \
                    else f"zg{r}@example.com"
                roll = rnd.random()
                if roll < 0.08:
                    continue
                at = datetime.combine(day, datetime.min.time(), CST) + timedelta(
                    hours=17, minutes=rnd.randrange(0, 300 if roll < 0.2 else 230))
                sections = list(SECTIONS[:-1] if roll > 0.95 else SECTIONS)
                sections[2] = ("销售额", f"{rnd.randrange(0, 20)}万")
                cc = () if 0.2 < roll < 0.27 else (HR,)
                name = f"业务{r}-{i}"
                subject = f"工作日报 {day:%Y-%m-%d}"
                draft = Draft(name, email, (("主管", sup),), cc, subject, tuple(sections), at,
                              f"{email}.{day}@example.com")
                yield RawMail(write(clients[(r + i) % len(clients)], draft),
                              at.astimezone(timezone.utc), "hr", "INBOX")
                if not cc:   # sent again, HR in Cc, before the day's close
                    again = at + timedelta(minutes=20)
                    draft = Draft(name, email, (("主管", sup),), (HR,), subject,
                                  tuple(sections), again, f"{email}.{day}.2@example.com")
                    yield RawMail(write(clients[(r + i) % len(clients)], draft),
                                  again.astimezone(timezone.utc), "hr", "INBOX")


@pytest.fixture
def company(project: Project) -> Project:
    (project.root / "roster.csv").write_text(roster(), encoding="utf-8")
    project.write_settings(smtp_block(1))
    app = load_app(project.settings, "2026-11-27T23:00:00+08:00")
    workdays = app.workdays.workdays_between(date(2026, 11, 9), date(2026, 11, 27))
    counts = ingest(app, mails(workdays))
    assert counts.new > 300
    for day in workdays[:-1]:
        app.fixed_now = datetime.combine(day, datetime.min.time(), CST) + timedelta(hours=23)
        close_day(app, day)
    return project


def content(raw: bytes) -> list[object]:
    """The mail as it reads: its headers (the random MIME boundaries written the same)
    and each part decoded, a workbook as its files (a zip stamps the time it was made)."""
    msg = email.message_from_bytes(raw)
    out: list[object] = [re.sub(rb"={15}\d+==", b"BOUNDARY", raw.split(b"\r\n\r\n", 1)[0])]
    for part in msg.walk():
        if part.is_multipart():
            continue
        body = part.get_payload(decode=True)
        if part.get_filename() and part.get_filename().endswith(".xlsx"):
            with zipfile.ZipFile(io.BytesIO(body)) as zf:
                body = {name: zf.read(name) for name in zf.namelist()}
        out.append((part.get_content_type(), part.get_filename(), body))
    return out


def queued_three_ways(project: Project, monkeypatch: pytest.MonkeyPatch, now: str,
                      queue) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """The outbox rows `queue(app)` writes with one team per read, two or three teams per
    read and every team in one read; asserts the three are the same and returns them."""
    runs = []
    for people in (1, 9, 100_000):
        monkeypatch.setattr(stats, "CHUNK", people)
        app = load_app(project.settings, now)
        with app.db.begin() as session:   # the notices ingest queued are not compared
            session.execute(delete(OutboxMail))
        queue(app)
        with app.db.begin() as session:
            rows = session.scalars(select(OutboxMail).order_by(OutboxMail.dedupe_key)).all()
            runs.append([{"key": r.dedupe_key, "to": r.to_addrs, "cc": r.cc_addrs,
                          "subject": r.subject, "mail": content(bytes(r.raw))} for r in rows])
    assert runs[0], "nothing was queued"
    assert runs[1] == runs[0]
    assert runs[2] == runs[0]
    return runs[0]


def test_digests_of_many_teams_read_together_are_the_region_by_region_digests(
        company: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = queued_three_ways(company, monkeypatch, "2026-11-26T23:30:00+08:00",
                             lambda app: queue_digests(app, date(2026, 11, 26)))
    assert [r["key"] for r in rows] == [f"digest|zg{r}@example.com|2026-11-26"
                                        for r in range(REGIONS)]


def test_weekly_drafts_of_many_teams_read_together_are_the_region_by_region_drafts(
        company: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    for now in ("2026-11-23T08:00:00+08:00", "2026-11-19T08:00:00+08:00"):
        rows = queued_three_ways(company, monkeypatch, now,
                                 lambda app: compile_drafts(app, date(2026, 11, 16)))
        assert len(rows) == REGIONS
        assert all(len(r["mail"]) == 4 for r in rows)   # type: ignore[arg-type]


def test_month_end_sheets_of_many_teams_read_together_are_the_region_by_region_sheets(
        company: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = queued_three_ways(company, monkeypatch, "2026-11-30T09:00:00+08:00",
                             lambda app: queue_month_end(app, date(2026, 11, 1)))
    assert len(rows) == REGIONS


def test_team_periods_read_together_are_each_teams_own_person_periods(company: Project) -> None:
    app = load_app(company.settings, "2026-11-30T09:00:00+08:00")
    for start, end in ((date(2026, 11, 1), date(2026, 11, 30)),
                       (date(2026, 11, 16), date(2026, 11, 22)),
                       (date(2026, 11, 16), date(2026, 11, 18))):
        teams = teams_between(app, start, end)
        together = team_periods(app, start, end, teams)
        assert sorted(together) == sorted(teams) and len(teams) == REGIONS
        for sup, team in teams.items():
            alone = person_periods(app, start, end, team, supervisor=sup)
            assert alone, sup
            assert together[sup] == alone
            assert team_periods(app, start, end, teams, items=False)[sup] == \
                person_periods(app, start, end, team, supervisor=sup, items=False)


def test_close_day_names_twenty_missing_and_counts_the_rest(company: Project) -> None:
    # Nobody reported on Monday 11-30: all 24 salespeople are missing.
    res = company.cli("close-day", "--date", "2026-11-30", now="2026-12-01T09:00+08:00")
    assert res.code == 0, res.err
    line = res.out.splitlines()[0]
    assert line.startswith("2026-11-30 closed: 24 missing: s0x0@example.com, ")
    assert line.count("@example.com") == 20
    assert line.endswith(" and 4 more (`mailflow status --date 2026-11-30` lists everyone)")
