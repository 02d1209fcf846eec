"""Weekly drafts, weekly reports, HR compliance mails, month end and the meeting notice,
end to end: mail APPENDed into Dovecot, polled, closed, compiled, sent to aiosmtpd; the
.xlsx attachments opened back with openpyxl and checked against `export`.

The roster has 赵磊 move from 华东 to 华南 on 11-18, 李娜 join on 11-18 (after the
indicator sheets were due on 11-10) and 吴刚 leave on 11-06: every figure follows the
roster of each day."""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from conftest import ROOT, ROSTER, Project, new_database, smtp_block
from mail.make_cases import SECTIONS, SUP
from mailflow.app import load_app
from mailflow.testing.clientmail import Draft, write
from mailflow.mails.compliance import compliance_context
from mailflow.mails.letters import common, renderer_for
from mailflow.mails.weekly import draft_context
from servers import SmtpServer, deliver, imap_login
from week import CST, HR, SUN, week

# Left before the month's indicator sheets were due: owes none.
WU = "wu.gang@example.com,吴刚,sales,华东,qian.zg@example.com,2025-01-01,2026-11-06,no\n"
FENG = ("冯喆", "feng.zhe@example.com")

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
        # 11-18 19:00 went without HR in Cc; sent again at 20:00 before the close.
        mail("foxmail", FENG, (SUP,), (HR,), "工作日报 2026-11-18",
             datetime(2026, 11, 18, 20, 0, tzinfo=CST), "feng-18-resend@example.com", SECTIONS),
    ] + [  # the week before (W46), Monday to Friday: the weekly draft compares with it
        mail("foxmail", FENG, (SUP,), (HR,), f"工作日报 2026-11-{day:02d}",
             datetime(2026, 11, day, 20, 0, tzinfo=CST), f"feng-{day}-w46@example.com",
             (*SECTIONS[:2], ("销售额", f"{day - 8}万"), *SECTIONS[3:]))
        for day in range(9, 14)
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory, dovecot, postgres):
    root = tmp_path_factory.mktemp("wm")
    shutil.copytree(ROOT / "rules", root / "rules")
    shutil.copytree(ROOT / "templates", root / "templates")
    (root / "roster.csv").write_text(ROSTER + WU, encoding="utf-8")
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
    assert metrics["冯喆"][2] == feng_total
    assert metrics["合计"][0] == "合计"
    issues = sheet_rows(book, "问题与需求")
    assert issues[0] == ["姓名", "日期", "内容", "重复出现", "日报 Message-ID"]
    # "需要样品支持" was in every report: flagged, and each item traceable to its report.
    # 赵磊 was in this team on Monday and Tuesday only: his two days, not flagged.
    assert all(row[3] == "是" for row in issues[1:]
               if row[2] == "需要样品支持" and row[0] != "赵磊")
    assert sorted(row[1] for row in issues[1:] if row[0] == "赵磊") == ["2026-11-16",
                                                                       "2026-11-17"]
    assert "赵磊：周一 按时，周二 按时，周三 无需提交，周四 无需提交，周五 无需提交" in text
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
    # 李娜 joined after the indicator sheets were due (11-10) and 吴刚 left before: neither
    # owes one. 赵磊 was in two teams this month and owes one sheet: one verdict.
    assert codes == {("sun.zg@example.com", "assessment_missing"),
                     ("han.mei@example.com", "indicators_missing"),
                     ("zhao.lei@example.com", "indicators_missing")}
    assert world.results["close-month"].out.count("zhao.lei@example.com") == 1


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
    # named by its address once and its subject, not by the address twice
    assert "2026-11-19 stranger@other.example「日报 11-19」" in text
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
    assert li[4:10] == [3, 2, 0, 1, 0, 1]    # due, on time, late, missing, leave, breaks (W47: 18–20)
    assert li[-3:] == [None, None, None]


def test_hr_monthly_and_meeting(world):
    [monthly] = mails(world, "日报合规月报 2026-11")
    text = monthly.get_body(("plain",)).get_content()
    # Compiled 12-04, after both deadlines; listed by the row of the day each was due.
    assert "未交考核表的主管（2026-12-03 18:00 截止）：华南 孙主管" in text
    assert "未交签字指标表的业务员（2026-11-10 18:00 截止）：华东 赵磊、华东 韩梅" in text
    assert "李娜" not in text.split("月底表格")[1] and "吴刚" not in text
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


def app_at(world, now: str):
    return load_app(world.settings, now)


def test_monthly_mail_before_the_form_deadline_lists_only_what_is_past_due(world):
    """HR's monthly mail of 12-01: the assessment forms are due 12-03 18:00, so no
    supervisor is listed as not having handed one in; the indicator sheets (due 11-10)
    are past due and listed."""
    app = app_at(world, "2026-12-01T09:00:00+08:00")
    context, _ = compliance_context(app, "monthly", date(2026, 11, 1), date(2026, 11, 30),
                                    date(2026, 10, 1), date(2026, 10, 31), "2026-11")
    text = renderer_for(app).render("compliance", {**common(app), **context}).text
    forms = text.split("月底表格：")[1].split("需要人事")[0]
    assert "孙主管" not in forms and "钱主管" not in forms
    # 钱主管's form came 12-01 16:00, after this mail: none of the two is in yet.
    assert "考核表还没到截止时间（2026-12-03 18:00 截止），目前已交 0/2" in forms
    assert "未交签字指标表的业务员（2026-11-10 18:00 截止）：华东 赵磊、华东 韩梅" in forms


def test_weekly_draft_before_fridays_deadline_compares_the_same_days(world):
    """Compiled Friday 18:00, before Friday's reports are due: Monday to Thursday of this
    week against Monday to Thursday of last week, and the mail says so."""
    app = app_at(world, "2026-11-20T18:00:00+08:00")
    sup = app.roster.person("qian.zg@example.com", date(2026, 11, 20))
    team = [p for p in app.roster.people if p.supervisor == sup.email]
    context, book = draft_context(app, date(2026, 11, 16), sup, team)

    def sales(start: str, end: str) -> float:
        latest = {}
        for r in world.export["reports"]:
            if r["kind"] == "daily" and r["email"] == "feng.zhe@example.com" \
                    and start <= r["report_date"] <= end \
                    and r["received_at"] <= "2026-11-20T10:00:00+00:00":
                latest[r["report_date"]] = r["metrics"].get("sales", 0)
        return sum(latest.values())

    now, before = sales("2026-11-16", "2026-11-19"), sales("2026-11-09", "2026-11-12")
    assert before and sales("2026-11-09", "2026-11-13") != before
    metrics = {row[0]: row for row in sheet_rows(book, "指标")}
    assert metrics["冯喆"][2] == now
    assert metrics["冯喆"][5] == pytest.approx((now - before) / before)
    assert sheet_rows(book, "指标")[0][5] == "销售额比上周同期（周一至周四）"
    text = app_renderer_text(app, context)
    assert "二、本周指标（周一至周四，与上周同期（周一至周四）相比；" in text
    feng = next(t for t in context["totals"] if t["name"] == "冯喆")
    assert feng["sales_change"] == f"{(now - before) / before * 100:+.0f}%"


def app_renderer_text(app, context) -> str:
    return renderer_for(app).render("weekly_draft", {**common(app), **context}).text


def test_region_move_counted_per_region_in_the_monthly_mail(world):
    """赵磊 is 华东 on 11-16/17 and 华南 from 11-18: each region counts its own days, in
    the mail's table, the .xlsx and the .csv."""
    [monthly] = mails(world, "日报合规月报 2026-11")
    text = monthly.get_body(("plain",)).get_content()
    # 华南: 赵磊 18–20 and 李娜 18–20 (both closed days) = 6 due.
    assert "- 华南：2 人，应交 6，" in text
    regions = {r[0]: r for r in sheet_rows(attachment(monthly, ".xlsx"), "区域")}
    assert regions["华南"][1:3] == [2, 6]
    rows = sheet_rows(attachment(monthly, ".xlsx"), "明细")
    zhao = {r[3]: r[0] for r in rows if r[2] == "zhao.lei@example.com"}
    assert {d: zhao[d] for d in ("2026-11-16", "2026-11-17", "2026-11-18", "2026-11-20")} == {
        "2026-11-16": "华东", "2026-11-17": "华东", "2026-11-18": "华南", "2026-11-20": "华南"}
    assert len(zhao) == len([r for r in rows if r[2] == "zhao.lei@example.com"])  # one a day
    csv_text = attachment(monthly, ".csv")
    csv_text = csv_text if isinstance(csv_text, str) else csv_text.decode("utf-8-sig")
    csv_zhao = [line.split(",") for line in csv_text.splitlines() if "zhao.lei@" in line]
    assert [(c[0], c[3]) for c in csv_zhao if c[3] in ("2026-11-17", "2026-11-18")] == [
        ("华东", "2026-11-17"), ("华南", "2026-11-18")]
    # The region sums agree with the detail rows.
    due = sum(1 for r in rows if r[0] == "华南" and r[4] in ("on_time", "late", "missing"))
    assert regions["华南"][2] == due


def test_region_move_in_each_month_end_sheet(world):
    sheets = {m["To"]: m for m in mails(world, "月底考核")}
    qian = sheet_rows(attachment(sheets["钱主管 <qian.zg@example.com>"], ".xlsx"), "考核表")
    sun = sheet_rows(attachment(sheets["孙主管 <sun.zg@example.com>"], ".xlsx"), "考核表")
    zhao_e = next(r for r in qian if r[2] == "zhao.lei@example.com")
    zhao_s = next(r for r in sun if r[2] == "zhao.lei@example.com")
    # 11-16, 11-17 on time, and 11-13 (when he was in 华东) late: sent 11-19 as 日报 2026-11-13.
    assert (zhao_e[0], zhao_e[4:8]) == ("华东", [3, 2, 1, 0])
    assert (zhao_s[0], zhao_s[4:8]) == ("华南", [3, 1, 0, 2])     # 11-18 on time; 19, 20 missing
    # Sales follow the days: the 华南 sheet has the reports of 11-18 on only.
    assert zhao_e[11] + zhao_s[11] == sum(
        r["metrics"].get("sales", 0) for r in world.export["reports"]
        if r["email"] == "zhao.lei@example.com" and r["kind"] == "daily")


def test_xlsx_numbers_are_numeric_cells(world):
    def numeric(book: bytes, title: str, row: int, cols: range) -> list:
        ws = load_workbook(io.BytesIO(book))[title]
        cells = [ws.cell(row=row, column=c) for c in cols]
        assert all(c.data_type == "n" for c in cells), [(c.value, c.data_type) for c in cells]
        return cells

    [draft] = mails(world, "周报草稿 华东 2026-W47")
    cells = numeric(attachment(draft, ".xlsx"), "指标", 2, range(2, 5))
    assert all(c.number_format == "#,##0" for c in cells)
    sheets = {m["To"]: m for m in mails(world, "月底考核")}
    numeric(attachment(sheets["钱主管 <qian.zg@example.com>"], ".xlsx"), "考核表", 2,
            range(5, 14))
    [monthly] = mails(world, "日报合规月报 2026-11")
    cells = numeric(attachment(monthly, ".xlsx"), "区域", 2, range(2, 11))
    assert cells[-1].number_format == "0%"


def test_digest_shows_a_break_corrected_before_the_close(world):
    """冯喆's 11-18 report went without HR in Cc at 19:00 and again with it at 20:00: the
    digest shows it as corrected and asks no follow-up; the record keeps the break."""
    [digest] = mails(world, "日清 华东 2026-11-18")
    text = digest.get_body(("plain",)).get_content()
    assert "冯喆：按时（19:00）；人事未抄送（已更正）" in text
    assert "违规" not in digest["Subject"]
    assert "今天没有需要跟进的未交或更正" in text and "请按日清要求跟进" not in text
    assert "人事未抄送（已更正）" in digest.get_body(("html",)).get_content()
    assert {"email": "feng.zhe@example.com", "date": "2026-11-18", "code": "hr_not_cc"} in [
        {k: v[k] for k in ("email", "date", "code")} for v in world.export["violations"]]


def test_a_large_detail_goes_zipped_and_the_sheets_agree(world):
    """Past rules/notify.toml [hr_mails] zip_detail_over_mb the detail CSV is attached as
    a zip (the mail stays under what mail servers accept) and the workbook keeps 区域 and
    日清; the rows are the same rows, read from the same spool, as the plain mail's."""
    import zipfile

    from mailflow.mails import compliance

    app = app_at(world, "2026-12-04T09:00:00+08:00")
    args = (app, "monthly", date(2026, 11, 1), date(2026, 11, 30), date(2026, 10, 1),
            date(2026, 10, 31), "2026-11")
    plain = compliance.compliance_letter(*args)
    from dataclasses import replace

    app.policy = replace(app.policy, notify=replace(app.policy.notify,
                                                    zip_detail_over_mb=0.001))
    large = compliance.compliance_letter(*args)
    names = {name: content for name, _, content in plain.attachments}
    big = {name: (mime, content) for name, mime, content in large.attachments}
    assert list(names) == ["日报合规-2026-11.xlsx", "日报合规-2026-11.csv", "日清-2026-11.csv"]
    assert list(big) == ["日报合规-2026-11.xlsx", "日报合规-2026-11.zip", "日清-2026-11.csv"]
    assert big["日报合规-2026-11.zip"][0] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(big["日报合规-2026-11.zip"][1])) as zf:
        assert zf.namelist() == ["日报合规-2026-11.csv"]
        csv_in_zip = zf.read("日报合规-2026-11.csv")
    assert csv_in_zip == names["日报合规-2026-11.csv"]
    detail = sheet_rows(names["日报合规-2026-11.xlsx"], "明细")
    assert len(detail) > 20
    assert csv_in_zip.decode("utf-8-sig").count("\n") == len(detail)   # header + rows
    small = load_workbook(io.BytesIO(big["日报合规-2026-11.xlsx"][1]), read_only=True)
    assert small.sheetnames == ["区域", "日清"]
    for title in ("区域", "日清"):
        assert sheet_rows(big["日报合规-2026-11.xlsx"][1], title) == \
            sheet_rows(names["日报合规-2026-11.xlsx"], title)
    assert large.context["detail_zipped"] and not plain.context["detail_zipped"]
    text = renderer_for(app).render("compliance", {**common(app), **large.context}).text
    assert "明细见附件（csv，人数多，已压缩为 zip；xlsx 里是各区域和日清）" in text
    assert "明细见附件（xlsx 和 csv）" in renderer_for(app).render(
        "compliance", {**common(app), **plain.context}).text


def test_the_zip_size_is_hrs_to_set_and_checked(project):
    notify = project.root / "rules" / "notify.toml"
    text = notify.read_text(encoding="utf-8")
    assert "zip_detail_over_mb = 10" in text
    notify.write_text(text.replace("zip_detail_over_mb = 10", "zip_detail_over_mb = 2.5"),
                      encoding="utf-8")
    assert project.cli("check-config").code == 0
    notify.write_text(text.replace("zip_detail_over_mb = 10", "zip_detail_over_mb = 0"),
                      encoding="utf-8")
    res = project.cli("check-config")
    assert res.code == 1 and "Traceback" not in res.out + res.err
    assert f"{notify}: hr_mails.zip_detail_over_mb" in res.out and "25 MB" in res.out, res.out
