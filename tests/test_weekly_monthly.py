"""Weekly drafts, weekly reports, HR compliance mails, month end and the meeting notice,
end to end: mail APPENDed into Dovecot, polled, closed, compiled, sent to aiosmtpd; the
.xlsx attachments opened back with openpyxl and checked against `export`."""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
from datetime import datetime

import pytest
from openpyxl import load_workbook

from conftest import ROOT, ROSTER, Project, new_database, smtp_block
from mailflow.testing.clientmail import Draft, write
from servers import SmtpServer, deliver, imap_login
from week import CST, HR, SUN, week

GM = ("王总", "gm@example.com")
QIAN = ("钱主管", "qian.zg@example.com")


def extra_mail() -> list[tuple[bytes, datetime]]:
    def mail(client, sender, to, cc, subject, when, mid, sections=(("本周总结", "稳步增长"),)):
        d = Draft(sender[0], sender[1], to, cc, subject, sections, when, mid)
        return write(client, d), when
    return [
        mail("outlook", QIAN, (GM,), (HR,), "销售区域周报 华东 2026-W47",
             datetime(2026, 11, 20, 17, 0, tzinfo=CST), "qian-w47@example.com"),
        mail("foxmail", SUN, (GM,), (), "华南区周报",     # Monday after: late, HR not in Cc
             datetime(2026, 11, 23, 11, 0, tzinfo=CST), "sun-w47@example.com"),
        mail("xlsx", QIAN, (HR,), (), "华东 11月 销售员考核表",
             datetime(2026, 12, 1, 16, 0, tzinfo=CST), "qian-assess@example.com"),
        mail("xlsx", ("冯喆", "feng.zhe@example.com"), (HR,), (QIAN,), "11月考核指标确认",
             datetime(2026, 11, 5, 10, 0, tzinfo=CST), "feng-ind@example.com",
             (("指标", "已签字"),)),
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory, dovecot, postgres):
    root = tmp_path_factory.mktemp("wm")
    shutil.copytree(ROOT / "rules", root / "rules")
    shutil.copytree(ROOT / "templates", root / "templates")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    smtp = SmtpServer().start()
    project = Project(root)
    folder = "M" + uuid.uuid4().hex[:8]
    client = imap_login("127.0.0.1", dovecot.port, "hr@example.com", "secret-hr")
    for d in week():
        deliver(client, folder, d.raw, d.at)
    for raw, when in extra_mail():
        deliver(client, folder, raw, when)
    client.logout()
    os.environ["MAILFLOW_TEST_HR_PASSWORD"] = "secret-hr"
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(folder,))
    project.write_settings(smtp_block(smtp.port), database=new_database(postgres))
    now = "2026-12-04T09:00:00+08:00"
    assert project.cli("poll", "--once", now=now).code == 0
    for day in range(16, 21):
        assert project.cli("close-day", "--date", f"2026-11-{day}", now=now).code == 0
    results = {
        "compile": project.cli("compile-weekly", "--week", "2026-W47",
                               now="2026-11-21T09:00:00+08:00"),
        "close-week": project.cli("close-week", "--week", "2026-W47", now=now),
        "close-month": project.cli("close-month", "--month", "2026-11", now=now),
        "month-end": project.cli("month-end", "--month", "2026-11", now=now),
        "hr-monthly": project.cli("hr-monthly", "--month", "2026-11", now=now),
        "meeting": project.cli("meeting", "--date", "2026-11-21", now="2026-11-20T17:00+08:00"),
        "holiday": project.cli("meeting", "--date", "2026-10-03", now="2026-10-02T17:00+08:00"),
    }
    smtp.recorder.messages.clear()  # the digests of close-day are tested elsewhere
    results["send"] = project.cli("send", now=now)
    project.results = results
    project.smtp = smtp
    project.export = json.loads(project.cli("export", "--from", "2026-11-01", "--to",
                                            "2026-11-30", now=now).out)
    yield project
    smtp.stop()
    os.environ.pop("MAILFLOW_TEST_HR_PASSWORD", None)


def mails(world, prefix):
    return [m for m in world.smtp.recorder.parsed() if m["Subject"].startswith(prefix)]


def attachment(msg, suffix):
    part = next(p for p in msg.iter_attachments() if p.get_filename().endswith(suffix))
    return part.get_content()


def sheet_rows(data: bytes, title: str) -> list[list]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    return [[c for c in row] for row in wb[title].iter_rows(values_only=True)]


def test_commands_report_what_they_did(world):
    r = world.results
    assert all(res.code == 0 for res in r.values()), {k: v.err for k, v in r.items()}
    assert "weekly drafts 2 queued" in r["compile"].out
    assert "HR weekly compliance mail 1 queued" in r["compile"].out
    assert "sun.zg@example.com: weekly_late" in r["close-week"].out
    assert "statutory holiday" in r["holiday"].out
    assert r["send"].out.startswith(f"{len(world.smtp.recorder.messages)} sent")


def test_weekly_draft_grid_totals_and_xlsx(world):
    [draft] = [m for m in mails(world, "周报草稿 华东 2026-W47")]
    assert draft["To"] == "钱主管 <qian.zg@example.com>"
    text = draft.get_body(("plain",)).get_content()
    # feng: Mon on time, Tue late, Wed–Thu on time, Fri missing; han: Tue and Fri missing.
    assert "冯喆：周一 按时，周二 迟交，周三 按时，周四 按时，周五 未交" in text
    assert "韩梅：周一 按时，周二 未交，周三 按时，周四 按时，周五 未交" in text
    assert "本周总结（请主管填写）" in text and "下周重点（请主管填写）" in text
    assert "2026-11-23 10:00 前发送：收件人 gm@example.com，抄送人事 hr@example.com" in text
    book = attachment(draft, ".xlsx")
    wb = load_workbook(io.BytesIO(book), read_only=True)
    assert wb.sheetnames == ["提交情况", "指标", "问题与需求", "竞品信息", "下周计划", "主管填写"]
    grid = sheet_rows(book, "提交情况")
    assert grid[0] == ["姓名", "11-16 周一", "11-17 周二", "11-18 周三", "11-19 周四", "11-20 周五"]
    feng = next(r for r in grid if r[0] == "冯喆")
    assert feng[1:] == ["按时 20:00", "迟交 21:20", "按时 19:00", "按时 20:00", "未交"]
    # The sales total of each person is the sum of the latest version of each day's
    # report of the week received by the time the draft was compiled (Saturday 09:00), as
    # export lists them.
    sales = {}
    for r in world.export["reports"]:
        if r["kind"] == "daily" and "2026-11-16" <= r["report_date"] <= "2026-11-22" \
                and r["received_at"] <= "2026-11-21T01:00:00+00:00":
            sales[(r["email"], r["report_date"])] = r["metrics"].get("sales", 0)
    feng_total = sum(v for (e, _), v in sales.items() if e == "feng.zhe@example.com")
    metrics = {row[0]: row for row in sheet_rows(book, "指标")}
    assert metrics["冯喆"][2] == f"{feng_total:,.0f}"
    assert metrics["合计"][0] == "合计"
    issues = sheet_rows(book, "问题与需求")
    assert issues[0] == ["姓名", "日期", "内容", "重复出现", "日报 Message-ID"]
    # "需要样品支持" was in every report: flagged, and each item traceable to its report.
    assert all(row[3] == "是" for row in issues[1:] if row[2] == "需要样品支持")
    assert all(row[4].endswith("@example.com") for row in issues[1:])
    assert sheet_rows(book, "主管填写")[1:] == [["本周总结", None], ["下周重点", None]]


def test_weekly_reports_judged(world):
    codes = {(v["email"], v["date"], v["code"]) for v in world.export["violations"]}
    assert ("sun.zg@example.com", "2026-11-16", "weekly_late") in codes
    assert ("sun.zg@example.com", "2026-11-16", "hr_not_cc") in codes
    assert not any(e == "qian.zg@example.com" and c.startswith("weekly") for e, _, c in codes)
    kinds = {r["message_id"]: (r["kind"], r["report_date"]) for r in world.export["reports"]}
    assert kinds["sun-w47@example.com"] == ("weekly", "2026-11-16")
    assert kinds["qian-assess@example.com"] == ("assessment", "2026-11-01")
    assert kinds["feng-ind@example.com"] == ("indicators", "2026-11-01")


def test_month_close_lists_missing_forms(world):
    codes = {(v["email"], v["code"]) for v in world.export["violations"]
             if v["date"] == "2026-11-01"}
    assert codes == {("sun.zg@example.com", "assessment_missing"),
                     ("han.mei@example.com", "indicators_missing"),
                     ("zhao.lei@example.com", "indicators_missing"),
                     ("li.na@example.com", "indicators_missing")}


def test_hr_weekly_compliance_mail_matches_export(world):
    [mail] = mails(world, "日报合规周报 2026-W47")
    assert mail["To"] == "人事部 <hr@example.com>"
    text = mail.get_body(("plain",)).get_content()
    daily = [v for v in world.export["violations"]
             if "2026-11-16" <= v["date"] <= "2026-11-20"]
    late = sum(1 for v in daily if v["code"] == "late")
    missing = sum(1 for v in daily if v["code"] == "missing")
    assert f"迟交 {late}，未交 {missing}" in mail["Subject"]
    # Compiled on Saturday: the supervisors' reports are due on Monday 10:00.
    assert "2026-W47 华东 钱主管：按时" in text and "2026-W47 华南 孙主管：未到期" in text
    assert "无法读取：1 封" in text and "no From header" in text
    assert "发件人不在名册：1 封" in text
    rows = sheet_rows(attachment(mail, ".xlsx"), "明细")
    csv_text = attachment(mail, ".csv")
    csv_text = csv_text if isinstance(csv_text, str) else csv_text.decode("utf-8-sig")
    assert csv_text.lstrip("\ufeff").splitlines()[0] == "区域,姓名,邮箱,日期,状态,首次提交,违规"
    assert len(csv_text.strip().splitlines()) == len(rows)
    han_tue = next(r for r in rows if r[2] == "han.mei@example.com" and r[3] == "2026-11-17")
    assert han_tue[4] == "missing" and han_tue[6] == "missing"


def test_month_end_sheet_prefilled(world):
    sheets = {m["To"]: m for m in mails(world, "月底考核")}
    assert sorted(sheets) == ["孙主管 <sun.zg@example.com>", "钱主管 <qian.zg@example.com>"]
    rows = sheet_rows(attachment(sheets["孙主管 <sun.zg@example.com>"], ".xlsx"), "考核表")
    assert rows[0][:4] == ["区域", "姓名", "邮箱", "试用期"] and rows[0][-3:] == ["考核指标", "得分", "评语"]
    li = next(r for r in rows if r[2] == "li.na@example.com")
    assert li[3] == "是"                    # probation marked
    assert li[4:9] == [3, 2, 0, 1, 1]        # due, on time, late, missing, breaks (W47: 18–20)
    assert li[-3:] == [None, None, None]


def test_hr_monthly_and_meeting(world):
    [monthly] = mails(world, "日报合规月报 2026-11")
    text = monthly.get_body(("plain",)).get_content()
    assert "未交考核表的主管：华南 孙主管" in text
    assert "未交签字指标表的业务员：华东 韩梅、华南 李娜、华南 赵磊" in text
    meeting = mails(world, "周六会议通知")
    assert len(meeting) == 8                 # everyone on the roster that day
    body = meeting[0].get_body(("plain",)).get_content()
    for rule in ("一律穿公司工作服", "手机调成振动或静音", "中场休息时吸烟"):
        assert rule in body


def test_nothing_is_sent_twice(world):
    before = len(world.smtp.recorder.messages)
    again = [world.cli("compile-weekly", "--week", "2026-W47", now="2026-11-21T10:00+08:00"),
             world.cli("month-end", "--month", "2026-11", now="2026-12-04T10:00+08:00"),
             world.cli("meeting", "--date", "2026-11-21", now="2026-11-20T18:00+08:00"),
             world.cli("send", now="2026-12-04T10:00+08:00")]
    assert "0 queued" in again[0].out and "0 queued" in again[1].out
    assert again[3].out.startswith("0 sent")
    assert len(world.smtp.recorder.messages) == before
