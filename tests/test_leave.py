"""Leave and HR's corrections on the record side: rules/leave.toml, the leave ledger, the
`excused` day, `mailflow leave|excuse|history`, HR's leave.csv."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailflow.config.policy import load_policy
from mailflow.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_leave_rules_hold_the_spec_defaults():
    leave = load_policy(ROOT / "rules").leave
    assert leave.approval == "supervisor"
    assert [(k.name, k.excused) for k in leave.kinds] == [("请假", True), ("出差", False)]
    for alias in "事假 病假 年假 婚假 丧假 产假 陪产假 休假 调休".split():
        assert leave.kind(alias).name == "请假"
    assert leave.kind("出差").excused is False and leave.kind("旅游") is None
    assert leave.refuse_words[0] == "不同意" and "准假" in leave.approve_words
    assert leave.half_day_words == ("上午", "下午", "半天")
    assert leave.registration_words == ("请假登记",)
    assert leave.correction_words == ("豁免", "更正")


def test_bad_leave_rules_name_file_key_and_fix(project):
    path = project.root / "rules" / "leave.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        'approval = "supervisor"', 'approval = "boss"\ncolour = "red"').replace(
        'aliases = []', 'aliases = ["病假"]'), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_policy(project.root / "rules")
    found = {(p.file, p.key) for p in err.value.problems}
    assert found == {(str(path), "approval"), (str(path), "colour"),
                     (str(path), "kinds.出差.aliases")}
    res = project.cli("check-config")
    assert res.code == 1
    assert f"{path}: approval" in res.out and '"supervisor"' in res.out
    assert f"{path}: colour" in res.out and "is not a known key" in res.out
    assert "'病假' is also a name of kind '请假'" in res.out
    assert "Traceback" not in res.out + res.err


def test_a_kind_without_excused_is_a_problem(project):
    path = project.root / "rules" / "leave.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "excused = false\n", ""), encoding="utf-8")
    res = project.cli("check-config")
    assert res.code == 1 and "kinds.出差.excused" in res.out and "excused = true" in res.out


def test_init_writes_leave_rules(tmp_path):
    from mailflow.config.init import init

    init(tmp_path / "co", "2026-11-30")
    assert load_policy(tmp_path / "co" / "rules").leave.kind("病假").excused


# -- the record side: leave before and after the day, corrections, leave.csv ------------
# Week of Monday 2026-11-23. On the roster that week: 华东 冯喆 feng, 韩梅 han (钱主管);
# 华南 赵磊 zhao, 李娜 li (孙主管). Every clock is pinned.

import json  # noqa: E402
from email import message_from_bytes  # noqa: E402
from email.policy import default  # noqa: E402

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from conftest import report, smtp_block  # noqa: E402
from mail.make_cases import CST  # noqa: E402
from mailflow.store.models import OutboxMail  # noqa: E402
from datetime import datetime  # noqa: E402

FENG, HAN = "feng.zhe@example.com", "han.mei@example.com"
ZHAO, LI = "zhao.lei@example.com", "li.na@example.com"
AFTER_CLOSE = "2026-11-24T22:00+08:00"        # day 11-24 is closed at 21:30


@pytest.fixture
def mailing(project):  # type: ignore[no-untyped-def]
    project.write_settings(smtp_block(2525))   # a sender to write from; nothing is sent
    return project


def ingest(project, tmp_path, name: str, when: datetime, **kw) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"{name}.eml"
    path.write_bytes(report("foxmail", date=when, message_id=f"{name}@example.com", **kw))
    res = project.cli("ingest", str(path), now=when.isoformat())
    assert res.code == 0, res.out + res.err


def status(project, day: str, now: str = AFTER_CLOSE) -> dict[str, dict]:  # type: ignore[type-arg]
    res = project.cli("status", "--date", day, "--json", now=now)
    assert res.code == 0, res.err
    return {p["email"]: p for p in json.loads(res.out)["people"]}


def export(project, start: str, end: str) -> dict:  # type: ignore[type-arg]
    res = project.cli("export", "--from", start, "--to", end, now="2026-12-01T09:00+08:00")
    assert res.code == 0, res.err
    return json.loads(res.out)


def outbox(project) -> list[OutboxMail]:  # type: ignore[no-untyped-def]
    with Session(project.engine()) as session:
        return list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def add(project, *args: str, now: str = "2026-11-23T09:00+08:00") -> int:  # type: ignore[no-untyped-def]
    res = project.cli("leave", "add", *args, now=now)
    assert res.code == 0, res.out + res.err
    return int(res.out.strip())


def test_leave_before_the_day_no_reminder_excused_not_missing(mailing, tmp_path):
    entry = add(mailing, HAN, "--from", "2026-11-24", "--to", "2026-11-25", "--kind", "病假",
                "--note", "发烧", "--by", "hr@example.com")
    listed = json.loads(mailing.cli("leave", "list", "--json").out)["leave"]
    assert listed == [{"id": entry, "email": HAN, "from": "2026-11-24", "to": "2026-11-25",
                       "kind": "病假", "half_day": False, "state": "approved", "source": "cli",
                       "decided_by": "hr@example.com", "message_id": None,
                       "note": "发烧"}]
    res = mailing.cli("remind", "--date", "2026-11-24", now="2026-11-24T20:00+08:00")
    assert res.code == 0 and "3 queued" in res.out, res.out
    assert sorted(r.to_addrs[0] for r in outbox(mailing)) == [FENG, LI, ZHAO]
    ingest(mailing, tmp_path, "feng24", datetime(2026, 11, 24, 20, 5, tzinfo=CST),
           subject="工作日报 2026-11-24")
    # 韩梅 sends one anyway, late, on her second day of leave: kept, the day stays excused.
    ingest(mailing, tmp_path, "han25", datetime(2026, 11, 25, 22, 40, tzinfo=CST),
           from_name="韩梅", from_addr=HAN, subject="工作日报 2026-11-25")
    for day, now in (("2026-11-24", AFTER_CLOSE), ("2026-11-25", "2026-11-25T22:50+08:00")):
        res = mailing.cli("close-day", "--date", day, now=now)
        assert res.code == 0 and HAN not in res.out, res.out
    s24 = status(mailing, "2026-11-24")
    assert (s24[HAN]["status"], s24[HAN]["leave"], s24[HAN]["violations"]) == \
        ("excused", "病假", [])
    assert (s24[FENG]["status"], s24[FENG]["leave"]) == ("on_time", None)
    assert s24[ZHAO]["status"] == "missing"
    s25 = status(mailing, "2026-11-25", now="2026-11-25T23:00+08:00")
    assert s25[HAN]["status"] == "excused" and s25[HAN]["message_id"] == "han25@example.com"
    data = export(mailing, "2026-11-24", "2026-11-25")
    assert [(v["email"], v["date"], v["code"]) for v in data["violations"]
            if v["email"] == HAN] == []
    assert [r["email"] for r in data["reports"]] == [FENG, HAN]      # her report is kept
    assert data["leave"][0]["id"] == entry
    # The digest of 11-24 says 请假 with the kind and who approved.
    digest = next(r for r in outbox(mailing) if r.kind == "digest" and
                  r.to_addrs == ["qian.zg@example.com"] and r.period == "2026-11-24")
    body = message_from_bytes(digest.raw, policy=default).get_body(("plain",)).get_content()
    assert "- 韩梅：请假（病假，人事部批准）" in body    # --by: HR's name, not a login
    assert "- 冯喆：按时" in body and digest.subject.startswith("日清 华东 2026-11-24：已交 1/1")
    # HR's November figures, counted by hand: closed days 11-24 and 11-25, four salespeople:
    # 8 person-days; 韩梅's 2 are excused; 冯喆 on time on 11-24: due 6, on time 1,
    # missing 5 (冯喆 11-25, 赵磊 and 李娜 both days), excused 2.
    from mailflow.app import load_app
    from mailflow.mails.compliance import compliance_context
    app = load_app(mailing.settings, "2026-12-01T09:00+08:00")
    context, raw = compliance_context(app, "monthly", datetime(2026, 11, 1).date(),
                                      datetime(2026, 11, 30).date(),
                                      datetime(2026, 10, 1).date(),
                                      datetime(2026, 10, 31).date(), "2026-11")
    total = context["total"]
    assert (total["due"], total["on_time"], total["missing"], total["excused"], total["rate"]) \
        == (6, 1, 5, 2, "17%")
    east = next(r for r in context["regions"] if r["region"] == "华东")
    assert (east["due"], east["on_time"], east["missing"], east["excused"]) == (2, 1, 1, 2)
    assert sorted(r[4] for r in raw if r[2] == HAN and r[3] in ("2026-11-24", "2026-11-25")) \
        == ["excused", "excused"]
    res = mailing.cli("hr-monthly", "--month", "2026-11", now="2026-12-01T09:00+08:00")
    assert res.code == 0, res.err
    hr = next(r for r in outbox(mailing) if r.kind == "compliance")
    assert "按时率 17%" in hr.subject and "未交 5" in hr.subject


def test_leave_after_the_close_withdraws_missing_and_sends_nothing_again(mailing):
    res = mailing.cli("close-day", "--date", "2026-11-24", now=AFTER_CLOSE)
    assert HAN in res.out and "supervisor digests: 2 queued" in res.out, res.out
    before = [(r.dedupe_key, r.raw) for r in outbox(mailing)]
    assert status(mailing, "2026-11-24")[HAN]["status"] == "missing"
    entry = add(mailing, HAN, "--from", "2026-11-24", "--kind", "年假",
                now="2026-11-25T09:30+08:00")
    st = status(mailing, "2026-11-24", now="2026-11-25T09:31+08:00")[HAN]
    assert (st["status"], st["leave"], st["violations"]) == ("excused", "年假", [])
    [missing] = [v for v in export(mailing, "2026-11-24", "2026-11-24")["violations"]
                 if v["email"] == HAN]
    assert missing["code"] == "missing" and missing["withdrawn"] is True
    assert missing["withdrawn_reason"] == f"leave #{entry} (年假)"
    changes = json.loads(mailing.cli("history", HAN, "--date", "2026-11-24", "--json").out)
    whats = [(c["what"], c["via"], c["before"], c["after"]) for c in changes["changes"]]
    assert whats[0][:2] == ("leave approved", "cli") and "年假" in whats[0][3]
    assert whats[1] == ("missing withdrawn", "cli", "missing",
                        f"withdrawn: leave #{entry} (年假)")
    assert all(set(c) == {"at", "by", "via", "what", "before", "after"}
               for c in changes["changes"])
    # Closing again queues nothing new, and what was queued is as it was.
    again = mailing.cli("close-day", "--date", "2026-11-24", now="2026-11-25T10:00+08:00")
    assert "0 queued, 2 already queued" in again.out and HAN not in again.out.split(":")[1]
    assert [(r.dedupe_key, r.raw) for r in outbox(mailing)] == before
    # Cancelling puts the missing back.
    res = mailing.cli("leave", "cancel", str(entry), now="2026-11-25T11:00+08:00")
    assert res.code == 0 and "cancelled" in res.out
    st = status(mailing, "2026-11-24", now="2026-11-25T11:01+08:00")[HAN]
    assert (st["status"], st["leave"], st["violations"]) == ("missing", None, ["missing"])
    [missing] = [v for v in export(mailing, "2026-11-24", "2026-11-24")["violations"]
                 if v["email"] == HAN]
    assert "withdrawn" not in missing
    assert json.loads(mailing.cli("leave", "list", "--json").out)["leave"][0]["state"] == \
        "cancelled"
    whats = [c["what"] for c in json.loads(mailing.cli(
        "history", HAN, "--date", "2026-11-24", "--json").out)["changes"]]
    assert whats[-2:] == ["leave cancelled", "missing restored"]
    assert "already cancelled" in mailing.cli("leave", "cancel", str(entry)).err


def test_cancel_of_leave_taken_before_the_close_makes_the_day_missing(project):
    entry = add(project, HAN, "--from", "2026-11-24")
    project.cli("close-day", "--date", "2026-11-24", now=AFTER_CLOSE)
    assert status(project, "2026-11-24")[HAN]["status"] == "excused"
    project.cli("leave", "cancel", str(entry), now="2026-11-25T09:00+08:00")
    st = status(project, "2026-11-24", now="2026-11-25T09:01+08:00")[HAN]
    assert (st["status"], st["violations"]) == ("missing", ["missing"])
    assert [v["code"] for v in export(project, "2026-11-24", "2026-11-24")["violations"]
            if v["email"] == HAN] == ["missing"]


def test_hr_excuses_a_closed_missing(project):
    project.cli("close-day", "--date", "2026-11-24", now=AFTER_CLOSE)
    res = project.cli("excuse", FENG, "--date", "2026-11-24", "--reason", "出差在外没网",
                      now="2026-11-25T09:00+08:00")
    assert res.code == 0 and "withdrawn missing" in res.out, res.out + res.err
    st = status(project, "2026-11-24", now="2026-11-25T09:01+08:00")[FENG]
    assert (st["status"], st["violations"], st["leave"]) == ("excused", [], None)
    [v] = [v for v in export(project, "2026-11-24", "2026-11-24")["violations"]
           if v["email"] == FENG]
    assert (v["withdrawn"], v["withdrawn_reason"]) == (True, "出差在外没网")
    [change] = json.loads(project.cli("history", FENG, "--date", "2026-11-24", "--json")
                          .out)["changes"]
    assert (change["what"], change["via"], change["before"], change["after"]) == \
        ("missing withdrawn", "cli", "missing", "withdrawn: 出差在外没网")
    assert change["at"].startswith("2026-11-25T01:00")
    plain = project.cli("history", FENG, "--date", "2026-11-24").out
    assert plain.startswith("2026-11-25 09:00 "), plain        # the company's time, not UTC
    # A person may be named as the roster names them, as in HR's correction mails.
    assert project.cli("history", "冯喆", "--date", "2026-11-24").out == plain
    nobody = project.cli("excuse", "冯哲", "--date", "2026-11-24", "--reason", "x")
    assert nobody.code == 1 and "no one on the roster" in nobody.err and "冯哲" in nobody.err
    again = project.cli("excuse", FENG, "--date", "2026-11-24", "--reason", "x")
    assert again.code == 1 and "no violation" in again.err and "Traceback" not in again.err
    other = project.cli("excuse", ZHAO, "--date", "2026-11-24", "--code", "late",
                        "--reason", "x")
    assert other.code == 1 and "standing: missing" in other.err
    bogus = project.cli("excuse", ZHAO, "--date", "2026-11-24", "--code", "lat",
                        "--reason", "x")
    assert bogus.code == 1 and "lat is not a rule code" in bogus.err and "missing" in bogus.err


def test_half_day_and_business_trip_excuse_nothing(project, tmp_path):
    from mailflow.app import load_app
    from mailflow.records.leave import Actor, add_leave

    app = load_app(project.settings, "2026-11-23T09:00+08:00")
    add_leave(app, HAN, datetime(2026, 11, 24).date(), None, "事假", "", Actor("hr", "cli"),
              half_day=True)
    add(project, FENG, "--from", "2026-11-24", "--kind", "出差")
    res = project.cli("close-day", "--date", "2026-11-24", now=AFTER_CLOSE)
    assert HAN in res.out and FENG in res.out
    st = status(project, "2026-11-24")
    assert (st[HAN]["status"], st[HAN]["leave"]) == ("missing", "事假")
    assert (st[FENG]["status"], st[FENG]["leave"]) == ("missing", "出差")


def test_unknown_kind_person_and_dates_are_refused_plainly(project):
    for args, words in ((("nobody@example.com", "--from", "2026-11-24"), "not on the roster"),
                        ((HAN, "--from", "2026-11-24", "--kind", "旅游"), "not a kind of leave"),
                        ((HAN, "--from", "2026-11-24", "--to", "2026-11-23"), "before")):
        res = project.cli("leave", "add", *args)
        assert res.code == 1 and words in res.err and "Traceback" not in res.err, res.err
    assert json.loads(project.cli("leave", "list", "--json").out) == {"leave": []}


def _with_sheet(project, text: str) -> None:
    (project.root / "leave.csv").write_text(text, encoding="utf-8")
    text = project.settings.read_text(encoding="utf-8")
    if 'leave = "leave.csv"' not in text:
        project.settings.write_text(text.replace(
            'roster = "roster.csv"', 'roster = "roster.csv"\nleave = "leave.csv"'),
            encoding="utf-8")


def test_leave_csv_rows_are_approved_and_followed(project):
    project.cli("close-day", "--date", "2026-11-24", now=AFTER_CLOSE)
    _with_sheet(project, "email,from,to,kind,note\n"
                         f"{LI},2026-11-24,2026-11-25,年假,\n"
                         f"{ZHAO},2026-11-26,,,\"婚假, 三天\"\n")
    st = status(project, "2026-11-24", now="2026-11-25T09:00+08:00")
    assert (st[LI]["status"], st[LI]["leave"]) == ("excused", "年假")
    assert st[ZHAO]["status"] == "missing"
    entries = json.loads(project.cli("leave", "list", "--json").out)["leave"]
    assert [(e["email"], e["from"], e["to"], e["kind"], e["source"], e["state"], e["note"],
             e["decided_by"]) for e in entries] == [
        (LI, "2026-11-24", "2026-11-25", "年假", "csv", "approved", "", "hr@example.com"),
        (ZHAO, "2026-11-26", "2026-11-26", "请假", "csv", "approved", "婚假, 三天",
         "hr@example.com")]
    [change] = [c for c in json.loads(project.cli("history", LI, "--date", "2026-11-24",
                                                  "--json").out)["changes"]
                if c["what"] == "missing withdrawn"]
    assert change["via"] == "csv"
    # Read again: nothing added twice. A row HR removes is cancelled.
    assert len(json.loads(project.cli("leave", "list", "--json").out)["leave"]) == 2
    _with_sheet(project, f"email,from,to,kind,note\n{ZHAO},2026-11-26,,,\"婚假, 三天\"\n")
    entries = json.loads(project.cli("leave", "list", "--json").out)["leave"]
    assert [e["state"] for e in entries] == ["cancelled", "approved"]
    assert status(project, "2026-11-24", now="2026-11-25T09:00+08:00")[LI]["status"] == "missing"


def test_a_bad_leave_csv_row_names_file_line_and_fix(project):
    _with_sheet(project, "email,from,to,kind,note\n"
                         f"{LI},2026-11-24,,年假,\n"
                         f"{LI},11/24,,旅游,\n")
    for res in (project.cli("status", "--date", "2026-11-24"), project.cli("check-config")):
        text = res.out + res.err
        assert res.code == 1 and "Traceback" not in text
        sheet = project.root / "leave.csv"
        assert f"{sheet}: line 3, from: '11/24' is not a date" in text
        assert f"{sheet}: line 3, kind: '旅游' is not a kind of leave" in text
        assert "fix: write dates as YYYY-MM-DD" in text
    # Nothing of the sheet was taken while it is wrong.
    (project.root / "leave.csv").write_text("email,from,to,kind,note\n", encoding="utf-8")
    assert json.loads(project.cli("leave", "list", "--json").out) == {"leave": []}
