"""Leave and HR's corrections by mail, end to end: mail written the way Foxmail, Outlook,
QQ, iPhone and 163 write it is delivered to Dovecot, polled, acted on, and the answers
are sent to aiosmtpd. Each test asserts the day's status, export, the mails sent (and not
sent) and the history. Week of Monday 2026-11-23; on the roster: 华东 冯喆 feng, 韩梅 han
(钱主管); 华南 赵磊 zhao, 李娜 li (孙主管). Every clock is pinned."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime
from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import smtp_block
from mail.make_cases import CST, HR, OTHER_SUP, SUP
from mailflow.store.models import OutboxMail
from mailflow.testing.clientmail import Draft, write
from servers import SmtpServer, deliver, imap_login

FENG, HAN = ("冯喆", "feng.zhe@example.com"), ("韩梅", "han.mei@example.com")
ZHAO, LI = ("赵磊", "zhao.lei@example.com"), ("李娜", "li.na@example.com")


class World:
    """A project reading HR's and 钱主管's mailboxes on Dovecot, sending to aiosmtpd."""

    def __init__(self, project, dovecot, smtp: SmtpServer) -> None:  # type: ignore[no-untyped-def]
        self.project, self.dovecot, self.smtp = project, dovecot, smtp
        self.folder = "L" + uuid.uuid4().hex[:8]
        for box in ("hr@example.com", "qian.zg@example.com"):
            imap = imap_login("127.0.0.1", dovecot.port, box, "secret-" + box.split("@")[0])
            imap.create_folder(self.folder)
            imap.logout()
        project.add_mailbox("hr", dovecot.port, "hr@example.com", folders=(self.folder,))
        project.add_mailbox("sup", dovecot.port, "qian.zg@example.com", folders=(self.folder,))
        project.write_settings(smtp_block(smtp.port))

    def arrive(self, client: str, d: Draft, *, box: str = "hr@example.com") -> str:
        """The mail reaches a mailbox when it was written, and is polled then; returns what
        poll said."""
        imap = imap_login("127.0.0.1", self.dovecot.port, box, "secret-" + box.split("@")[0])
        deliver(imap, self.folder, write(client, d), d.date)
        imap.logout()
        res = self.project.cli("poll", "--once", now=d.date.isoformat())
        assert res.code == 0, res.out + res.err
        return res.out

    def cli(self, *args: str, now: str) -> dict | str:  # type: ignore[type-arg]
        res = self.project.cli(*args, now=now)
        assert res.code == 0, res.out + res.err
        return json.loads(res.out) if "--json" in args or args[0] == "export" else res.out

    def status(self, day: str, now: str) -> dict[str, dict]:  # type: ignore[type-arg]
        return {p["email"]: p for p in self.cli("status", "--date", day, "--json",
                                                now=now)["people"]}  # type: ignore[index]

    def export(self) -> dict:  # type: ignore[type-arg]
        return self.cli("export", "--from", "2026-11-01", "--to", "2026-11-30",  # type: ignore[return-value]
                        now="2026-12-01T09:00+08:00")

    def history(self, email: str, day: str) -> list[tuple[str, str, str]]:
        out = self.cli("history", email, "--date", day, "--json", now="2026-12-01T09:00+08:00")
        return [(c["what"], c["by"], c["via"]) for c in out["changes"]]  # type: ignore[index]

    def outbox(self, kind: str | None = None) -> list[OutboxMail]:
        with Session(self.project.engine()) as session:
            rows = list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))
        return [r for r in rows if kind is None or r.kind == kind]

    def sent(self, now: str) -> list:  # type: ignore[type-arg]
        """Send what is queued; the mails aiosmtpd received by this send."""
        before = len(self.smtp.recorder.messages)
        self.cli("send", now=now)
        return self.smtp.recorder.parsed()[before:]


def text_of(msg) -> str:  # type: ignore[no-untyped-def]
    return msg.get_body(("plain",)).get_content()


@pytest.fixture
def world(project, dovecot, passwords):  # type: ignore[no-untyped-def]
    smtp = SmtpServer().start()
    yield World(project, dovecot, smtp)
    smtp.stop()


def mail(who: tuple[str, str], subject: str, text: str, at: datetime, mid: str, *,
         to=(SUP,), cc=(HR,), reply_to: str | None = None, headers=()) -> Draft:  # type: ignore[no-untyped-def]
    return Draft(from_name=who[0], from_addr=who[1], to=tuple(to), cc=tuple(cc),
                 subject=subject, sections=(), date=at, message_id=mid,
                 in_reply_to=reply_to, text=text, extra_headers=tuple(headers))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=CST)


REQUEST = "钱主管：\n\n我11月24日请病假一天，发烧。如果不行我再想办法。\n\n韩梅"


def test_request_approved_after_the_day_closed(world):
    world.arrive("foxmail", mail(HAN, "病假 11月24日", REQUEST, at(23, 18), "req-han@example.com"))
    s = world.status("2026-11-24", "2026-11-24T19:00+08:00")[HAN[1]]
    assert (s["status"], s["leave"]) == ("not_due", None)    # before its deadline
    # A pending request for a whole excused day: no reminder; the others get theirs.
    world.cli("remind", "--date", "2026-11-24", now="2026-11-24T20:00+08:00")
    assert sorted(r.to_addrs[0] for r in world.outbox("reminder")) == \
        sorted([FENG[1], ZHAO[1], LI[1]])
    world.cli("close-day", "--date", "2026-11-24", now="2026-11-24T22:00+08:00")
    assert world.status("2026-11-24", "2026-11-24T22:01+08:00")[HAN[1]]["status"] == "missing"
    world.sent("2026-11-24T22:05+08:00")
    queued = [(r.dedupe_key, r.raw) for r in world.outbox()]
    # 钱主管 approves the next morning from Outlook; the quoted request says 不行, which
    # must not refuse. The same reply lands in HR's and in his own mailbox: it acts once.
    reply = mail(SUP, "答复: 病假 11月24日",
                 "同意，好好休息。\n\n发件人: 韩梅 <han.mei@example.com>\n"
                 "发送时间: 2026年11月23日 18:00\n收件人: 钱主管 <qian.zg@example.com>\n"
                 "抄送: 人事部\n主题: 病假 11月24日\n\n" + REQUEST, at(25, 9, 10),
                 "ok-han@example.com", to=(HAN,), reply_to="req-han@example.com")
    world.arrive("outlook", reply)
    world.arrive("outlook", reply, box="qian.zg@example.com")
    s = world.status("2026-11-24", "2026-11-25T09:30+08:00")[HAN[1]]
    assert (s["status"], s["leave"], s["violations"]) == ("excused", "病假", [])
    data = world.export()
    [missing] = [v for v in data["violations"] if v["email"] == HAN[1]]
    assert (missing["code"], missing["withdrawn"]) == ("missing", True)
    [entry] = data["leave"]
    assert (entry["state"], entry["source"], entry["decided_by"], entry["message_id"],
            entry["from"], entry["to"]) == ("approved", "mail", SUP[1], "req-han@example.com",
                                            "2026-11-24", "2026-11-24")
    assert data["commands"] == [
        {"message_id": "req-han@example.com", "sender": HAN[1], "action": "request",
         "state": "applied", "reason": ""},
        {"message_id": "ok-han@example.com", "sender": SUP[1], "action": "approve",
         "state": "applied", "reason": ""}]
    # Nothing sent before is queued again; 韩梅 gets one mail saying who approved.
    assert [(r.dedupe_key, r.raw) for r in world.outbox()][:len(queued)] == queued
    [decision] = world.outbox()[len(queued):]
    assert (decision.kind, decision.to_addrs) == ("leave_decision", [HAN[1]])
    [sent] = world.sent("2026-11-25T09:35+08:00")
    assert "请假已批准" in sent["Subject"] and "钱主管" in text_of(sent)
    assert "2026-11-24" in text_of(sent)
    assert world.history(HAN[1], "2026-11-24") == [
        ("leave requested", HAN[1], "req-han@example.com"),
        ("leave approved", SUP[1], "ok-han@example.com"),
        ("missing withdrawn", SUP[1], "ok-han@example.com")]


def test_refused_by_the_supervisor_and_no_one_else(world):
    request = mail(FENG, "年假 11月25日-11月26日", "钱主管好，想休两天年假回老家。",
                   at(23, 9), "req-feng@example.com")
    world.arrive("qqmail", request)
    # 冯喆 approves his own request from his iPhone: refused, and told why.
    world.arrive("iphone", mail(FENG, "回复：年假 11月25日-11月26日", "同意", at(23, 9, 5),
                                "self-feng@example.com", to=(SUP,),
                                reply_to="req-feng@example.com"))
    # 孙主管 (华南) is not his supervisor: refused.
    world.arrive("coremail", mail(OTHER_SUP, "Re: 年假 11月25日-11月26日", "可以",
                                  at(23, 9, 30), "sun-feng@example.com", to=(FENG,),
                                  reply_to="req-feng@example.com"))
    # 钱主管 refuses in QQ Mail; the quoted request is under 原始邮件 and holds no word.
    world.arrive("qqmail", Draft(
        from_name=SUP[0], from_addr=SUP[1], to=(FENG,), cc=(HR,),
        subject="回复：年假 11月25日-11月26日", sections=(), date=at(23, 10),
        message_id="no-feng@example.com", in_reply_to="req-feng@example.com",
        text="不同意，月底冲业绩，下个月再休。",
        quoted="发件人: \"冯喆\"<feng.zhe@example.com>\r\n主题: 年假\r\n\r\n同意的话回复我"))
    commands = [(c["message_id"], c["state"]) for c in world.export()["commands"]]
    assert commands == [("req-feng@example.com", "applied"), ("self-feng@example.com", "refused"),
                        ("sun-feng@example.com", "refused"), ("no-feng@example.com", "applied")]
    reasons = {c["message_id"]: c["reason"] for c in world.export()["commands"]}
    assert "自己的请假" in reasons["self-feng@example.com"]
    assert "钱主管" in reasons["sun-feng@example.com"] or SUP[1] in reasons["sun-feng@example.com"]
    [entry] = world.export()["leave"]
    assert (entry["state"], entry["decided_by"]) == ("refused", SUP[1])
    sent = world.sent("2026-11-23T10:05+08:00")
    assert sorted((m["To"].addresses[0].addr_spec, m["Subject"].split("：")[0]) for m in sent) \
        == sorted([(FENG[1], "未生效"), (OTHER_SUP[1], "未生效"), (FENG[1], "请假未批准")])
    refusal = next(m for m in sent if m["To"].addresses[0].addr_spec == OTHER_SUP[1])
    assert "没有生效" in text_of(refusal) and "主管是" in text_of(refusal)
    # A refused request changes nothing: the day is missing once closed.
    world.cli("close-day", "--date", "2026-11-25", now="2026-11-25T22:00+08:00")
    s = world.status("2026-11-25", "2026-11-25T22:01+08:00")[FENG[1]]
    assert (s["status"], s["leave"]) == ("missing", None)
    assert [h[0] for h in world.history(FENG[1], "2026-11-25")] == \
        ["leave requested", "leave refused"]
    assert world.history(FENG[1], "2026-11-25")[1][1:] == (SUP[1], "no-feng@example.com")


def test_registered_by_a_supervisor_for_two_people(world):
    world.arrive("coremail", mail(SUP, "请假登记", "各位好，本周请假如下：\n\n"
                                  "冯喆 11月24日-11月25日 年假 回老家\n"
                                  "han.mei@example.com 11月24日 病假\n\n谢谢！\n钱主管",
                                  at(23, 17), "reg-qian@example.com", to=(HR,), cc=()))
    # 孙主管 registers 冯喆, who is not in his team: refused whole, nothing recorded.
    world.arrive("foxmail", mail(OTHER_SUP, "请假登记", "冯喆 11月26日 事假",
                                 at(23, 17, 30), "reg-sun@example.com", to=(HR,), cc=()))
    # A kind followed by a name in the subject is a registration too (孙主管, his 李娜).
    world.arrive("iphone", mail(OTHER_SUP, "病假 李娜 11月24日", "李娜 11月24日\n如题。",
                                at(23, 18), "reg-sun2@example.com", to=(HR,), cc=()))
    # HR's "好的" under the registration is no decision: nothing is kept, nothing sent.
    world.arrive("foxmail", mail(HR, "回复：请假登记", "好的，收到。", at(23, 18, 30),
                                 "hr-ack@example.com", to=(SUP,), cc=(),
                                 reply_to="reg-qian@example.com"))
    world.cli("remind", "--date", "2026-11-24", now="2026-11-24T20:00+08:00")
    assert [r.to_addrs[0] for r in world.outbox("reminder")] == [ZHAO[1]]
    world.cli("close-day", "--date", "2026-11-24", now="2026-11-24T22:00+08:00")
    s = world.status("2026-11-24", "2026-11-24T22:01+08:00")
    assert (s[FENG[1]]["status"], s[FENG[1]]["leave"]) == ("excused", "年假")
    assert (s[HAN[1]]["status"], s[HAN[1]]["leave"]) == ("excused", "病假")
    data = world.export()
    assert sorted((e["email"], e["from"], e["to"], e["kind"], e["state"], e["decided_by"],
                   e["note"]) for e in data["leave"]) == [
        (FENG[1], "2026-11-24", "2026-11-25", "年假", "approved", SUP[1], "回老家"),
        (HAN[1], "2026-11-24", "2026-11-24", "病假", "approved", SUP[1], ""),
        (LI[1], "2026-11-24", "2026-11-24", "病假", "approved", OTHER_SUP[1], "")]
    assert [(c["action"], c["state"]) for c in data["commands"]] == \
        [("register", "applied"), ("register", "refused"), ("register", "applied")]
    assert not [v for v in data["violations"] if v["email"] in (FENG[1], HAN[1])]
    sent = world.sent("2026-11-24T22:05+08:00")
    confirm, other = [m for m in sent if m["Subject"].startswith("请假登记已生效")]
    assert confirm["To"].addresses[0].addr_spec == SUP[1] and "2 条" in confirm["Subject"]
    assert other["To"].addresses[0].addr_spec == OTHER_SUP[1] and "1 条" in other["Subject"]
    assert "冯喆" in text_of(confirm) and "韩梅" in text_of(confirm)
    [refusal] = [m for m in sent if m["Subject"].startswith("未生效")]
    assert refusal["To"].addresses[0].addr_spec == OTHER_SUP[1]
    assert world.history(FENG[1], "2026-11-25") == [
        ("leave approved", SUP[1], "reg-qian@example.com")]


def test_a_name_two_people_share_is_refused_asking_for_the_email(world):
    roster = world.project.root / "roster.csv"
    roster.write_text(roster.read_text(encoding="utf-8")
                      + "han.mei2@example.com,韩梅,sales,华南,sun.zg@example.com,2026-01-01,,no\n",
                      encoding="utf-8")
    world.arrive("foxmail", mail(HR, "请假登记", "韩梅 11月24日 病假", at(23, 9),
                                 "reg-hr@example.com", to=(SUP,), cc=()))
    [command] = world.export()["commands"]
    assert command["state"] == "refused" and "请改用邮箱" in command["reason"]
    assert world.export()["leave"] == []
    [refusal] = world.sent("2026-11-23T09:05+08:00")
    assert refusal["To"].addresses[0].addr_spec == HR[1] and "邮箱地址" in text_of(refusal)


def test_forged_and_automatic_approvals_are_refused_and_kept(world):
    world.arrive("outlook", mail(HAN, "请假 11月24日", "家里有事，请假一天。", at(23, 9),
                                 "req-han2@example.com"))
    # The display name of 钱主管 on an outside address.
    world.arrive("foxmail", mail(("钱主管", "qian.zg@mail-example.net"), "回复：请假 11月24日",
                                 "同意", at(23, 9, 10), "spoof-1@example.com", to=(HAN,), cc=(),
                                 reply_to="req-han2@example.com"))
    # His own address, but the company's server says DMARC failed.
    world.arrive("foxmail", mail(SUP, "回复：请假 11月24日", "同意", at(23, 9, 20),
                                 "spoof-2@example.com", to=(HAN,), cc=(),
                                 reply_to="req-han2@example.com", headers=(
                                     ("Authentication-Results",
                                      "mx.example.com; spf=fail smtp.mailfrom=mail-example.net;"
                                      " dmarc=fail header.from=example.com"),)))
    # His out-of-office reply: auto-submitted, never a decision, never answered.
    world.arrive("mutt", mail(SUP, "自动回复: 请假 11月24日", "我正在休假，12月1日回来。好的。",
                              at(23, 9, 30), "auto-1@example.com", to=(HAN,), cc=(),
                              reply_to="req-han2@example.com",
                              headers=(("Auto-Submitted", "auto-replied"),)))
    # Someone not on the roster at all.
    world.arrive("coremail", mail(("王五", "wang.wu@163.example"), "Re: 请假 11月24日", "可以",
                                  at(23, 9, 40), "stranger-1@example.com", to=(HAN,), cc=(),
                                  reply_to="req-han2@example.com"))
    data = world.export()
    assert [(c["message_id"], c["state"]) for c in data["commands"]] == [
        ("req-han2@example.com", "applied"), ("spoof-1@example.com", "refused"),
        ("spoof-2@example.com", "refused"), ("auto-1@example.com", "refused"),
        ("stranger-1@example.com", "refused")]
    reasons = [c["reason"] for c in data["commands"][1:]]
    assert "spoof_suspected" in reasons[0] and "dmarc=fail" in reasons[1]
    assert "自动回复" in reasons[2] and "不在花名册上" in reasons[3]
    assert data["leave"][0]["state"] == "pending"
    # One refusal, to the real supervisor whose address was used; none to an outside
    # address, none to the auto-reply.
    sent = world.sent("2026-11-23T09:45+08:00")
    assert [m["To"].addresses[0].addr_spec for m in sent] == [SUP[1]]
    assert "dmarc=fail" in text_of(sent[0])
    world.cli("close-day", "--date", "2026-11-24", now="2026-11-24T22:00+08:00")
    assert world.status("2026-11-24", "2026-11-24T22:01+08:00")[HAN[1]]["status"] == "missing"
    assert world.history(HAN[1], "2026-11-24") == [
        ("leave requested", HAN[1], "req-han2@example.com")]


def test_hr_corrects_a_closed_missing(world):
    world.cli("close-day", "--date", "2026-11-24", now="2026-11-24T22:00+08:00")
    world.sent("2026-11-24T22:05+08:00")
    assert world.status("2026-11-24", "2026-11-24T22:01+08:00")[ZHAO[1]]["status"] == "missing"
    # A salesperson cannot withdraw their own missing.
    world.arrive("qqmail", mail(ZHAO, "豁免 11月24日", "赵磊 11月24日 missing 出差在外没网",
                                at(25, 8), "zhao-self@example.com", to=(HR,), cc=()))
    said = world.arrive("outlook", mail(HR, "更正：11月24日漏交", "各位：\n\n"
                                        "赵磊 11月24日 missing 出差在外没网\n"
                                        "li.na@example.com 2026-11-24 服务器故障\n\n人事部",
                                        at(25, 9), "fix-hr@example.com", to=(SUP, OTHER_SUP),
                                        cc=()))
    # HR's confirmation is an answer, not a notice about a report.
    assert "notices queued: 0" in said and "answers queued: 1" in said, said
    s = world.status("2026-11-24", "2026-11-25T09:30+08:00")
    assert s[ZHAO[1]]["status"] == "excused" and s[LI[1]]["status"] == "excused"
    data = world.export()
    assert [(c["message_id"], c["action"], c["state"]) for c in data["commands"]] == [
        ("zhao-self@example.com", "correct", "refused"),
        ("fix-hr@example.com", "correct", "applied")]
    withdrawn = {v["email"]: v["withdrawn_reason"] for v in data["violations"]
                 if v.get("withdrawn")}
    assert withdrawn == {ZHAO[1]: "出差在外没网", LI[1]: "服务器故障"}
    # The CSV HR opens in Excel says the same: withdrawn, and the commands that did it.
    rows = list(csv.DictReader(io.StringIO(world.project.cli(
        "export", "--from", "2026-11-24", "--to", "2026-11-24", "--format", "csv",
        now="2026-11-25T09:31+08:00").out)))
    assert {(r["email"], r["status"]) for r in rows
            if r["record"] == "violation" and r["code"] == "missing"
            and r["email"] in (ZHAO[1], LI[1])} == {(ZHAO[1], "withdrawn"), (LI[1], "withdrawn")}
    sent = world.sent("2026-11-25T09:35+08:00")
    assert sorted((m["To"].addresses[0].addr_spec, m["Subject"]) for m in sent) == [
        (HR[1], "豁免/更正已生效：2 条"), (ZHAO[1], "未生效：豁免 11月24日")]
    confirm = next(m for m in sent if m["To"].addresses[0].addr_spec == HR[1])
    body = text_of(confirm)
    assert "赵磊" in body and "李娜" in body and "已豁免 未交" in body and "missing" not in body
    assert world.history(ZHAO[1], "2026-11-24") == [
        ("missing withdrawn", HR[1], "fix-hr@example.com")]
    # The HR mail sent before is not sent again.
    assert not [m for m in sent if m["Subject"].startswith("日清")]


def test_a_request_not_to_the_supervisor_waits_and_approval_none_approves_on_arrival(world):
    # 李娜 writes to HR only: not_to_supervisor on that mail, and the request waits.
    world.arrive("iphone", mail(LI, "事假 明天", "家里有事", at(23, 19), "req-li@example.com",
                                to=(HR,), cc=()))
    data = world.export()
    assert [(v["email"], v["date"], v["code"], v["detail"]) for v in data["violations"]] == \
        [(LI[1], "2026-11-24", "not_to_supervisor", OTHER_SUP[1])]
    assert [(e["from"], e["state"]) for e in data["leave"]] == [("2026-11-24", "pending")]
    assert "not_to_supervisor" in data["commands"][0]["reason"]
    assert world.sent("2026-11-23T19:05+08:00") == []
    # With approval = "none" a request is approved when it arrives, and its sender told so;
    # a half day is recorded and excuses nothing.
    rules = world.project.root / "rules" / "leave.toml"
    rules.write_text(rules.read_text(encoding="utf-8").replace(
        'approval = "supervisor"', 'approval = "none"'), encoding="utf-8")
    world.arrive("coremail", mail(ZHAO, "请假 11月25日下午", "去医院复查", at(24, 9),
                                  "req-zhao@example.com", to=(OTHER_SUP,)))
    world.arrive("qqmail", mail(FENG, "年假 11月26日", "回老家", at(24, 9, 5),
                                "req-feng2@example.com"))
    leave = {e["email"]: e for e in world.export()["leave"]}
    assert (leave[ZHAO[1]]["state"], leave[ZHAO[1]]["half_day"]) == ("approved", True)
    assert (leave[FENG[1]]["state"], leave[FENG[1]]["decided_by"]) == ("approved", FENG[1])
    sent = world.sent("2026-11-24T09:10+08:00")
    assert sorted(m["To"].addresses[0].addr_spec for m in sent) == sorted([ZHAO[1], FENG[1]])
    assert all("无需审批" in text_of(m) for m in sent)
    for day in ("2026-11-25", "2026-11-26"):
        world.cli("close-day", "--date", day, now=f"{day}T22:00+08:00")
    assert world.status("2026-11-25", "2026-11-25T22:01+08:00")[ZHAO[1]]["status"] == "missing"
    s = world.status("2026-11-26", "2026-11-26T22:01+08:00")[FENG[1]]
    assert (s["status"], s["leave"]) == ("excused", "年假")
