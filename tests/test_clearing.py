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
    reply(project, tmp_path, client, QIAN, mid, text, "2026-11-26T22:10")
    got = export(project, "2026-11-26", "2026-11-26")["reviews"]
    assert got == [{"report_message_id": mid, "email": FENG, "report_date": "2026-11-26",
                    "reviewer": QIAN[1], "reviewed_at": "2026-11-26T14:10:00+00:00",
                    "comment": text, "bulk": False}]
    people = status(project, "2026-11-26", "2026-11-27T09:00")
    assert people[FENG]["reviewed_by"] == QIAN[1]
    assert people[FENG]["reviewed_at"] == "2026-11-26T14:10:00+00:00"
    assert people[HAN]["reviewed_at"] is None and people[HAN]["reviewed_by"] is None


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
