"""The supervisors' daily clearing (日清): replies recorded as reviews, bulk clearing by
replying to the digest, clearing_missing at the due time, the figures. Every clock is
pinned. Week of Monday 2026-11-23; on the roster: 华东 冯喆 feng, 韩梅 han (钱主管 qian);
华南 赵磊 zhao, 李娜 li (孙主管 sun)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import report, smtp_block
from mail.make_cases import CST, SECTIONS
from mailflow.store.models import Mail, OutboxMail, Review, Violation
from mailflow.testing.clientmail import ReplyDraft, plain_body, write_reply

FENG, HAN = "feng.zhe@example.com", "han.mei@example.com"
ZHAO, LI = "zhao.lei@example.com", "li.na@example.com"
QIAN, SUN = ("钱主管", "qian.zg@example.com"), ("孙主管", "sun.zg@example.com")
NAMES = {FENG: "冯喆", HAN: "韩梅", ZHAO: "赵磊", LI: "李娜"}
SUPERVISOR = {FENG: QIAN, HAN: QIAN, ZHAO: SUN, LI: SUN}


@pytest.fixture
def mailing(project):  # type: ignore[no-untyped-def]
    project.write_settings(smtp_block(2525))   # a sender to write from; nothing is sent
    return project


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def ingest(project, path: Path, data: bytes, now: datetime) -> None:  # type: ignore[no-untyped-def]
    path.write_bytes(data)
    res = project.cli("ingest", str(path), now=now.isoformat())
    assert res.code == 0, res.out + res.err


def send_report(project, tmp_path, email: str, day: str, when: str,  # type: ignore[no-untyped-def]
                client: str = "foxmail") -> str:
    mid = f"r-{email.split('@')[0]}-{day}@example.com"
    ingest(project, tmp_path / f"{mid}.eml",
           report(client, from_name=NAMES[email], from_addr=email, to=(SUPERVISOR[email],),
                  subject=f"工作日报 {day}", date=at(when), message_id=mid), at(when))
    return mid


def reply(project, tmp_path, client: str, sender: tuple[str, str], original: str,  # type: ignore[no-untyped-def]
          text: str, when: str, *, to_email: str = FENG, subject: str = "",
          original_text: str = "") -> str:
    mid = f"re-{client}-{sender[1].split('@')[0]}-{when}-{original}"
    day = original.split("-", 2)[2].split("@")[0] if original.startswith("r-") else ""
    draft = ReplyDraft(
        from_name=sender[0], from_addr=sender[1], to=((NAMES.get(to_email, ""), to_email),),
        text=text, date=at(when), message_id=mid, original_id=original,
        original_subject=subject or f"工作日报 {day}",
        original_from=(NAMES.get(to_email, "日报助手"), to_email),
        original_date=at(when), original_text=original_text or plain_body_of_report())
    ingest(project, tmp_path / f"{mid}.eml", write_reply(client, draft), at(when))
    return mid


def plain_body_of_report() -> str:
    from mail.make_cases import draft
    return plain_body(draft(sections=SECTIONS)).replace("\r\n", "\n")


def status(project, day: str, now: str) -> dict[str, dict]:  # type: ignore[type-arg]
    res = project.cli("status", "--date", day, "--json", now=now)
    assert res.code == 0, res.err
    return {p["email"]: p for p in json.loads(res.out)["people"]}


def export(project, start: str, end: str, now: str = "2026-12-01T09:00") -> dict:  # type: ignore[type-arg]
    res = project.cli("export", "--from", start, "--to", end, now=now)
    assert res.code == 0, res.err
    return json.loads(res.out)


@pytest.mark.parametrize("client,text", [
    ("foxmail", "已阅。明天把报价单发给客户，周五前回款要到账。"),
    ("outlook", "辛苦了，竞品降价的事再核实一下价格。"),
    ("qqmail", "收到，样品我来申请。"),
    ("iphone", "好的，跟进报价单。"),
    ("163", "同意明日计划。\n注意回款。"),
])
def test_a_supervisors_reply_is_a_review_with_its_own_text(project, tmp_path, client, text):
    mid = send_report(project, tmp_path, FENG, "2026-11-26", "2026-11-26T20:05")
    rmid = reply(project, tmp_path, client, QIAN, mid, text, "2026-11-26T22:10")
    got = export(project, "2026-11-26", "2026-11-26")["reviews"]
    assert got == [{"report_message_id": mid, "email": FENG, "report_date": "2026-11-26",
                    "reviewer": QIAN[1], "reviewed_at": "2026-11-26T14:10:00+00:00",
                    "comment": text, "bulk": False}]
    people = status(project, "2026-11-26", "2026-11-27T09:00")
    assert people[FENG]["reviewed_by"] == QIAN[1]
    assert people[FENG]["reviewed_at"] == "2026-11-26T14:10:00+00:00"
    assert people[HAN]["reviewed_at"] is None and people[HAN]["reviewed_by"] is None
    # The day's history: the report, then its review, each with who and through which mail.
    res = project.cli("history", FENG, "--date", "2026-11-26", "--json",
                      now="2026-11-27T09:00+08:00")
    assert [(c["what"], c["by"], c["via"]) for c in json.loads(res.out)["changes"]] == [
        ("daily report", FENG, mid), ("reviewed", QIAN[1], rmid)]


def test_a_reply_from_someone_who_is_not_the_supervisor_reviews_nothing(project, tmp_path):
    mid = send_report(project, tmp_path, FENG, "2026-11-26", "2026-11-26T20:05")
    # 孙主管 supervises 华南, not 冯喆; HR is not the supervisor either.
    reply(project, tmp_path, "qqmail", SUN, mid, "收到", "2026-11-26T22:00")
    reply(project, tmp_path, "foxmail", ("人事部", "hr@example.com"), mid, "已阅",
          "2026-11-26T22:30")
    assert export(project, "2026-11-26", "2026-11-26")["reviews"] == []
    assert status(project, "2026-11-26", "2026-11-27T09:00")[FENG]["reviewed_by"] is None
    with Session(project.engine()) as session:   # the replies are kept
        kinds = [m.kind for m in session.scalars(select(Mail).order_by(Mail.id))]
    assert kinds == ["daily", "reply", "reply"]


def test_the_supervisor_on_the_report_date_counts(project, tmp_path):
    # 赵磊 moved from 华东 (钱主管) to 华南 (孙主管) on 2026-11-18.
    before = send_report(project, tmp_path, ZHAO, "2026-11-17", "2026-11-17T20:00")
    after = send_report(project, tmp_path, ZHAO, "2026-11-18", "2026-11-18T20:00")
    reply(project, tmp_path, "foxmail", QIAN, before, "好", "2026-11-18T09:00", to_email=ZHAO)
    reply(project, tmp_path, "foxmail", QIAN, after, "好", "2026-11-18T21:00", to_email=ZHAO)
    got = export(project, "2026-11-17", "2026-11-18")["reviews"]
    assert [(r["report_date"], r["reviewer"]) for r in got] == [("2026-11-17", QIAN[1])]


def digest_of(project, supervisor: str, day: str) -> OutboxMail:  # type: ignore[no-untyped-def]
    with Session(project.engine()) as session:
        return session.scalars(select(OutboxMail).where(
            OutboxMail.dedupe_key == f"digest|{supervisor}|{day}")).one()


def close_day(project, day: str, now: str) -> None:  # type: ignore[no-untyped-def]
    res = project.cli("close-day", "--date", day, now=now)
    assert res.code == 0, res.out + res.err


def test_a_reply_to_the_digest_reviews_the_whole_team_of_that_day(mailing, tmp_path):
    feng = send_report(mailing, tmp_path, FENG, "2026-11-26", "2026-11-26T20:05")
    han = send_report(mailing, tmp_path, HAN, "2026-11-26", "2026-11-26T20:40", "outlook")
    send_report(mailing, tmp_path, ZHAO, "2026-11-26", "2026-11-26T20:10")
    close_day(mailing, "2026-11-26", "2026-11-26T21:30")
    digest = digest_of(mailing, QIAN[1], "2026-11-26")
    body = digest.raw.decode("ascii")
    from email import message_from_bytes
    from email.policy import default
    text = message_from_bytes(digest.raw, policy=default).get_body(("plain",)).get_content()
    assert "回复本邮件即视为完成今日日清，可逐人写点评" in text, body[:200]
    reply(mailing, tmp_path, "iphone", QIAN, digest.message_id, "都看过了，韩梅明天补拜访记录。",
          "2026-11-26T22:30", to_email="hr@example.com", subject=digest.subject,
          original_text=text)
    got = export(mailing, "2026-11-26", "2026-11-26")["reviews"]
    assert [(r["email"], r["report_message_id"], r["bulk"], r["comment"]) for r in got] == [
        (FENG, feng, True, "都看过了，韩梅明天补拜访记录。"),
        (HAN, han, True, "都看过了，韩梅明天补拜访记录。")]
    # 孙主管's team is not 钱主管's to clear: 赵磊 stays unreviewed.
    people = status(mailing, "2026-11-26", "2026-11-27T09:00")
    assert people[ZHAO]["reviewed_at"] is None
    assert people[HAN]["reviewed_at"] == "2026-11-26T14:30:00+00:00"
    # 孙主管 replying to 钱主管's digest clears nothing.
    reply(mailing, tmp_path, "foxmail", SUN, digest.message_id, "收到", "2026-11-26T22:40",
          to_email="hr@example.com", subject=digest.subject)
    assert len(export(mailing, "2026-11-26", "2026-11-26")["reviews"]) == 2


def violations(project, code: str) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with Session(project.engine()) as session:
        return [(v.email, v.date.isoformat(), v.detail) for v in session.scalars(
            select(Violation).where(Violation.code == code).order_by(Violation.date,
                                                                     Violation.email))]


def test_clearing_missing_at_the_due_time_and_a_late_review_is_kept(mailing, tmp_path):
    feng = send_report(mailing, tmp_path, FENG, "2026-11-26", "2026-11-26T20:05")
    zhao = send_report(mailing, tmp_path, ZHAO, "2026-11-26", "2026-11-26T20:10")
    send_report(mailing, tmp_path, LI, "2026-11-26", "2026-11-26T20:20", "qqmail")
    reply(mailing, tmp_path, "foxmail", QIAN, feng, "好", "2026-11-27T08:30")
    reply(mailing, tmp_path, "qqmail", SUN, zhao, "收到", "2026-11-27T11:59", to_email=ZHAO)
    early = mailing.cli("close-clearing", "--date", "2026-11-26", now="2026-11-27T11:59")
    assert early.code != 0 and "12:00" in early.err and "Traceback" not in early.err
    res = mailing.cli("close-clearing", "--date", "2026-11-26", now="2026-11-27T12:00")
    assert res.code == 0, res.err
    assert "sun.zg@example.com: 1 of 2 unreviewed" in res.out
    # 韩梅 sent nothing: 钱主管 had one report to review and reviewed it.
    assert violations(mailing, "clearing_missing") == [
        ("sun.zg@example.com", "2026-11-26", "1 of 2 unreviewed")]
    reply(mailing, tmp_path, "outlook", SUN, f"r-li.na-2026-11-26@example.com", "补看了",
          "2026-11-27T15:00", to_email=LI)
    again = mailing.cli("close-clearing", "--date", "2026-11-26", now="2026-11-27T16:00")
    assert again.code == 0
    assert violations(mailing, "clearing_missing") == [
        ("sun.zg@example.com", "2026-11-26", "1 of 2 unreviewed")]
    assert status(mailing, "2026-11-26", "2026-11-27T16:00")[LI]["reviewed_by"] == SUN[1]


def test_no_clearing_missing_on_leave_without_reports_or_team(mailing, tmp_path):
    send_report(mailing, tmp_path, ZHAO, "2026-11-26", "2026-11-26T20:10")
    res = mailing.cli("leave", "add", SUN[1], "--from", "2026-11-26", "--to", "2026-11-26",
                      "--kind", "年假", now="2026-11-25T09:00")
    assert res.code == 0, res.out + res.err
    # 27th: nobody of 钱主管's team reported; 孙主管 on leave the 26th.
    for day, now in (("2026-11-26", "2026-11-27T12:00"), ("2026-11-27", "2026-11-30T12:00")):
        res = mailing.cli("close-clearing", "--date", day, now=now)
        assert res.code == 0 and "0 supervisor(s)" in res.out, res.out + res.err
    assert violations(mailing, "clearing_missing") == []
    res = mailing.cli("close-clearing", "--date", "2026-11-28", now="2026-11-30T12:00")
    assert res.code == 0 and "not a workday" in res.out


# -- a week by hand: 钱主管 clears every day, 孙主管 does not ------------------------------
# Mon 11-23 … Fri 11-27. 冯喆 and 韩梅 report at 20:00, 赵磊 and 李娜 at 20:30.
# 钱主管 replies to each report at 09:00 the next day (13.0 h), Friday's on Monday 11:00
# (63.0 h): 5 days with reports, 5 cleared on time, median 13.0 h.
# 孙主管: Mon both at 10:00 next day (13.5 h ×2), Tue 赵磊 only at 11:00 (14.5 h), Wed none,
# Thu both at 13:00 next day (16.5 h ×2, after the 12:00 due), Fri none: 5 days, 1 cleared
# on time (20%), median of 13.5 13.5 14.5 16.5 16.5 = 14.5 h; clearing_missing Tue–Fri.
WEEK = ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"]
NEXT = {"2026-11-23": "2026-11-24", "2026-11-24": "2026-11-25", "2026-11-25": "2026-11-26",
        "2026-11-26": "2026-11-27", "2026-11-27": "2026-11-30"}


def _report_bytes(email: str, day: str, when: str) -> tuple[str, bytes]:
    mid = f"r-{email.split('@')[0]}-{day}@example.com"
    return mid, report("foxmail", from_name=NAMES[email], from_addr=email,
                       to=(SUPERVISOR[email],), subject=f"工作日报 {day}", date=at(when),
                       message_id=mid)


def _reply_bytes(client: str, sender: tuple[str, str], original: str, email: str,
                 when: str, text: str) -> bytes:
    return write_reply(client, ReplyDraft(
        from_name=sender[0], from_addr=sender[1], to=((NAMES[email], email),), text=text,
        date=at(when), message_id=f"re-{original}-{when}", original_id=original,
        original_subject="工作日报", original_from=(NAMES[email], email),
        original_date=at(when), original_text="【今日工作】\n拜访"))


def seed_week(project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    mails: list[bytes] = []
    for day in WEEK:
        for email in (FENG, HAN):
            mid, data = _report_bytes(email, day, f"{day}T20:00")
            mails.append(data)
            when = f"{NEXT[day]}T{'11:00' if day == '2026-11-27' else '09:00'}"
            mails.append(_reply_bytes("outlook", QIAN, mid, email, when, "已阅"))
        for email in (ZHAO, LI):
            mid, data = _report_bytes(email, day, f"{day}T20:30")
            mails.append(data)
            when = {"2026-11-23": "10:00", "2026-11-26": "13:00"}.get(day)
            if day == "2026-11-24" and email == ZHAO:
                when = "11:00"
            if when:
                mails.append(_reply_bytes("qqmail", SUN, mid, email, f"{NEXT[day]}T{when}", "收到"))
    paths = []
    for n, data in enumerate(mails):
        path = tmp_path / f"w{n:03}.eml"
        path.write_bytes(data)
        paths.append(str(path))
    res = project.cli("ingest", *paths, now="2026-11-30T11:30")
    assert res.code == 0, res.out + res.err


def test_a_week_of_clearing_figures_match_a_hand_count(mailing, tmp_path):
    seed_week(mailing, tmp_path)
    for day in WEEK:
        res = mailing.cli("close-clearing", "--date", day, now=f"{NEXT[day]}T12:00")
        assert res.code == 0, res.err
    assert [(e, d) for e, d, _ in violations(mailing, "clearing_missing")] == [
        (SUN[1], "2026-11-24"), (SUN[1], "2026-11-25"), (SUN[1], "2026-11-26"),
        (SUN[1], "2026-11-27")]
    assert [x for _, _, x in violations(mailing, "clearing_missing")] == [
        "1 of 2 unreviewed", "2 of 2 unreviewed", "2 of 2 unreviewed", "2 of 2 unreviewed"]
    reviews = export(mailing, "2026-11-23", "2026-11-27")["reviews"]
    assert len(reviews) == 10 + 5 and not any(r["bulk"] for r in reviews)

    # The weekly draft and HR's weekly mail, built Friday 21:45: Friday's clearing is not
    # yet due (未到期) and counts in no rate.
    res = mailing.cli("compile-weekly", "--week", "2026-W48", now="2026-11-27T21:45")
    assert res.code == 0, res.err
    draft = mail_text(mailing, "weekly_draft", QIAN[1])
    assert "有日报 4 天，按时日清 4 天，日清率 100%，点评中位用时 13.0 小时；另有 1 天未到期" in draft
    weekly = mail_text(mailing, "compliance", "hr@example.com")
    assert "华东 钱主管：有日报 4 天，按时日清 4 天，日清率 100%，点评中位用时 13.0 小时，另有 1 天未到期" \
        in weekly
    # Thursday's reviews came at 13:00 Friday: after the due time, in the median.
    assert "华南 孙主管：有日报 4 天，按时日清 1 天，日清率 25%，点评中位用时 14.5 小时，另有 1 天未到期" \
        in weekly

    # HR's monthly mail after the last clearing was due: the whole week settled.
    res = mailing.cli("hr-monthly", "--month", "2026-11", now="2026-12-01T09:00")
    assert res.code == 0, res.err
    monthly = mail_text(mailing, "compliance", "hr@example.com", period="2026-11")
    assert "华东 钱主管：有日报 5 天，按时日清 5 天，日清率 100%，点评中位用时 13.0 小时\n" in monthly
    assert "华南 孙主管：有日报 5 天，按时日清 1 天，日清率 20%，点评中位用时 14.5 小时\n" in monthly
    csv = attachment(mailing, "compliance", "2026-11", "日清-2026-11.csv")
    assert "华南,孙主管,sun.zg@example.com,5,1,20%,14.5,0" in csv

    # The digest of Wednesday lists Tuesday's reports 孙主管 has not reviewed.
    res = mailing.cli("close-day", "--date", "2026-11-25", now="2026-11-25T21:30")
    assert res.code == 0, res.err
    digest = mail_text(mailing, "digest", SUN[1], period="2026-11-25")
    assert "2026-11-24（周二）的日报还有 1 份未点评：李娜。" in digest
    assert "未点评" not in mail_text(mailing, "digest", QIAN[1], period="2026-11-25")


def _message(project, kind: str, to: str, period: str | None):  # type: ignore[no-untyped-def]
    from email import message_from_bytes
    from email.policy import default
    with Session(project.engine()) as session:
        rows = [r for r in session.scalars(select(OutboxMail).where(OutboxMail.kind == kind))
                if to in r.to_addrs and (period is None or r.period == period)]
    assert len(rows) == 1, [(r.kind, r.period) for r in rows]
    return message_from_bytes(rows[0].raw, policy=default)


def mail_text(project, kind: str, to: str, period: str | None = None) -> str:  # type: ignore[no-untyped-def]
    return _message(project, kind, to, period).get_body(("plain",)).get_content()


def attachment(project, kind: str, period: str, name: str) -> str:  # type: ignore[no-untyped-def]
    msg = _message(project, kind, "hr@example.com", period)
    for part in msg.iter_attachments():
        if part.get_filename() == name:
            return part.get_content().decode("utf-8-sig") if isinstance(
                part.get_content(), bytes) else part.get_content()
    raise AssertionError(f"no attachment {name}")


# -- over real servers: reports and replies APPENDed to Dovecot, the digest sent through
# aiosmtpd and answered from the supervisor's client ---------------------------------------

def test_reviews_over_dovecot_and_smtp_bulk_direct_wrong_and_late(project, passwords, dovecot,
                                                                  smtp_server, tmp_path):
    import uuid

    from servers import deliver, imap_login
    folder = "C" + uuid.uuid4().hex[:8]
    project.write_settings(smtp_block(smtp_server.port))
    project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(folder,))
    project.add_mailbox("sup", dovecot.port, "qian.zg@example.com", folders=(folder,))
    boxes = {"hr": imap_login("127.0.0.1", dovecot.port, "hr@example.com", "secret-hr"),
             "sup": imap_login("127.0.0.1", dovecot.port, "qian.zg@example.com", "secret-qian.zg")}

    def arrive(raw: bytes, when: str, *where: str) -> None:
        for box in where:
            deliver(boxes[box], folder, raw, at(when))

    def poll(now: str) -> None:
        res = project.cli("poll", "--once", now=now)
        assert res.code == 0, res.out + res.err

    feng_mid, feng = _report_bytes(FENG, "2026-11-26", "2026-11-26T20:05")
    han_mid, han = _report_bytes(HAN, "2026-11-26", "2026-11-26T20:30")
    zhao_mid, zhao = _report_bytes(ZHAO, "2026-11-26", "2026-11-26T20:40")
    arrive(feng, "2026-11-26T20:05", "hr", "sup")
    arrive(han, "2026-11-26T20:30", "hr", "sup")
    arrive(zhao, "2026-11-26T20:40", "hr")
    poll("2026-11-26T21:00")
    assert project.cli("close-day", "--date", "2026-11-26", now="2026-11-26T21:30").code == 0
    assert project.cli("send", now="2026-11-26T21:31").code == 0
    from email.utils import getaddresses
    [digest] = [m for m in smtp_server.recorder.parsed()
                if getaddresses([m["To"]])[0][1] == QIAN[1]]
    assert getaddresses([digest["Reply-To"]])[0][1] == "hr@example.com"
    digest_text = digest.get_body(("plain",)).get_content()
    assert "回复本邮件即视为完成今日日清，可逐人写点评" in digest_text

    # 钱主管 answers 韩梅's report from Foxmail (it reaches both mailboxes: one mail), then
    # the digest from Outlook (HTML only, to the Reply-To: HR's mailbox).
    arrive(write_reply("foxmail", ReplyDraft(
        from_name=QIAN[0], from_addr=QIAN[1], to=(("韩梅", HAN),),
        cc=(("人事部", "hr@example.com"),), text="拜访记录写得具体些。",
        date=at("2026-11-26T21:50"), message_id="qian-han@example.com", original_id=han_mid,
        original_subject="工作日报 2026-11-26", original_from=("韩梅", HAN),
        original_date=at("2026-11-26T20:30"), original_text="【今日工作】\n拜访")),
        "2026-11-26T21:50", "hr", "sup")
    digest_mid = digest["Message-ID"].strip("<>")
    arrive(write_reply("outlook", ReplyDraft(
        from_name=QIAN[0], from_addr=QIAN[1], to=(("人事部", "hr@example.com"),),
        text="今天的都看过了。", date=at("2026-11-26T22:10"), message_id="qian-digest@example.com",
        original_id=digest_mid, original_subject=str(digest["Subject"]),
        original_from=("日报助手", "reports@example.com"), original_date=at("2026-11-26T21:31"),
        original_text=digest_text)), "2026-11-26T22:10", "hr")
    # 孙主管 answers 冯喆's report, which is not his to review.
    arrive(write_reply("qqmail", ReplyDraft(
        from_name=SUN[0], from_addr=SUN[1], to=(("冯喆", FENG),), text="收到",
        date=at("2026-11-26T22:20"), message_id="sun-feng@example.com", original_id=feng_mid,
        original_subject="工作日报 2026-11-26", original_from=("冯喆", FENG),
        original_date=at("2026-11-26T20:05"), original_text="【今日工作】\n拜访")),
        "2026-11-26T22:20", "hr")
    poll("2026-11-26T22:30")
    got = [(r["email"], r["reviewer"], r["bulk"], r["comment"], r["reviewed_at"])
           for r in export(project, "2026-11-26", "2026-11-26")["reviews"]]
    assert got == [
        (FENG, QIAN[1], True, "今天的都看过了。", "2026-11-26T14:10:00+00:00"),
        (HAN, QIAN[1], False, "拜访记录写得具体些。", "2026-11-26T13:50:00+00:00"),
        (HAN, QIAN[1], True, "今天的都看过了。", "2026-11-26T14:10:00+00:00")]
    people = status(project, "2026-11-26", "2026-11-26T22:30")
    assert people[HAN]["reviewed_at"] == "2026-11-26T13:50:00+00:00"
    assert people[ZHAO]["reviewed_by"] is None

    # 孙主管 has not reviewed 赵磊 by 12:00 the next day; his review at 15:00 is recorded,
    # the code stays.
    res = project.cli("close-clearing", "--date", "2026-11-26", now="2026-11-27T12:00")
    assert res.code == 0 and "sun.zg@example.com: 1 of 1 unreviewed" in res.out, res.out
    arrive(write_reply("iphone", ReplyDraft(
        from_name=SUN[0], from_addr=SUN[1], to=(("赵磊", ZHAO),), text="补看，明天电话聊。",
        date=at("2026-11-27T15:00"), message_id="sun-zhao@example.com", original_id=zhao_mid,
        original_subject="工作日报 2026-11-26", original_from=("赵磊", ZHAO),
        original_date=at("2026-11-26T20:40"), original_text="【今日工作】\n拜访")),
        "2026-11-27T15:00", "hr")
    poll("2026-11-27T15:05")
    assert status(project, "2026-11-26", "2026-11-27T15:05")[ZHAO]["reviewed_by"] == SUN[1]
    assert project.cli("close-clearing", "--date", "2026-11-26", now="2026-11-27T15:10").code == 0
    assert violations(project, "clearing_missing") == [(SUN[1], "2026-11-26", "1 of 1 unreviewed")]
    for c in boxes.values():
        c.logout()
