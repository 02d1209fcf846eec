"""A week of mail (Mon 2026-11-16 … Sat 11-21) with every status and rule code, and
what mailflow must make of it. Delivered into real IMAP servers by the integration tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from mail.make_cases import HR, SECTIONS, SUP, draft

from mailflow.testing.clientmail import write

CST = timezone(timedelta(hours=8))
SUN = ("孙主管", "sun.zg@example.com")
PEOPLE = {"feng": ("冯喆", "feng.zhe@example.com"), "han": ("韩梅", "han.mei@example.com"),
          "zhao": ("赵磊", "zhao.lei@example.com"), "li": ("李娜", "li.na@example.com")}


@dataclass(frozen=True)
class Delivery:
    raw: bytes
    at: datetime
    to_mailboxes: tuple[str, ...]   # which test mailboxes receive it: hr, qian, sun


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=CST)


def daily(who: str, day: int, hh: int, mm: int = 0, *, client: str = "mutt",
          to: tuple = (SUP,), cc: tuple = (HR,), subject: str | None = None,
          sections: tuple = SECTIONS, tag: str = "") -> Delivery:
    name, addr = PEOPLE[who]
    mid = f"{who}-{day}-{hh}{mm:02d}{tag}@example.com"
    raw = write(client, draft(from_name=name, from_addr=addr, to=to, cc=cc,
                              subject=subject or f"工作日报 2026-11-{day:02d}",
                              sections=sections, date=at(day, hh, mm), message_id=mid))
    boxes = ["hr"] if HR in to + cc else []
    boxes += ["qian"] if SUP in to else []
    boxes += ["sun"] if SUN in to else []
    return Delivery(raw, at(day, hh, mm), tuple(boxes) or ("hr",))


def week() -> list[Delivery]:
    no_plan = SECTIONS[:-1]
    correction = (("今日工作", "更正：补充拜访记录"), ("客户拜访", "共拜访5家"), ("销售额", "2万"),
                  ("回款", "0"), ("明日计划", "整理报价"))
    return [
        daily("feng", 16, 20, client="foxmail"),
        daily("han", 16, 20, 30, client="outlook"),
        daily("zhao", 16, 20, 10, client="qqmail"),
        daily("feng", 17, 21, 20, client="iphone"),                       # late
        daily("zhao", 17, 20, client="mutt"),
        daily("feng", 18, 19, client="coremail", to=(SUP, HR), cc=()),     # hr_not_cc
        daily("han", 18, 20, client="xlsx"),
        daily("zhao", 18, 20, to=(SUP,), cc=(HR,)),                        # moved to sun
        daily("li", 18, 20, to=(SUN,), sections=no_plan),                  # missing_section
        daily("feng", 19, 20, client="foxmail"),
        daily("feng", 19, 22, client="foxmail", sections=correction, tag="fix"),  # correction
        daily("han", 19, 20, sections=no_plan),
        daily("han", 19, 20, 30, tag="fix"),                               # corrects sections
        daily("feng", 19, 20, 40, subject="Re: 工作日报 2026-11-19", tag="re"),   # a reply
        daily("zhao", 19, 19, subject="日报 2026-11-13", to=(SUN,)),        # date_mismatch
        Delivery(AUTO_REPLY, at(19, 20, 50), ("hr",)),
        Delivery(UNKNOWN_SENDER, at(19, 20, 55), ("hr",)),
        Delivery(NO_FROM, at(19, 21, 5), ("hr",)),
        daily("li", 20, 20, subject="工作日报20261120", to=(SUN,)),
        daily("feng", 21, 10, subject="工作日报 2026-11-21"),                # Saturday
    ]


AUTO_REPLY = (
    "From: =?utf-8?B?5Yav5ZaG?= <feng.zhe@example.com>\r\nTo: hr@example.com\r\n"
    "Subject: =?utf-8?B?6Ieq5Yqo5Zue5aSNOiDml6XmiqU=?=\r\nAuto-Submitted: auto-replied\r\n"
    "Date: Thu, 19 Nov 2026 20:50:00 +0800\r\nMessage-ID: <week-auto@example.com>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "我正在休假。\r\n").encode()
UNKNOWN_SENDER = (
    "From: =?utf-8?B?6ZmM55Sf5Lq6?= <stranger@other.example>\r\nTo: qian.zg@example.com\r\n"
    "Cc: hr@example.com\r\nSubject: =?utf-8?B?5pel5oqlIDExLTE5?=\r\n"
    "Date: Thu, 19 Nov 2026 20:55:00 +0800\r\nMessage-ID: <week-stranger@other.example>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "【今日工作】\r\n无\r\n").encode()
NO_FROM = (b"To: hr@example.com\r\nSubject: =?utf-8?B?5pel5oql?=\r\n"
           b"Date: Thu, 19 Nov 2026 21:05:00 +0800\r\nMessage-ID: <week-nofrom@example.com>\r\n"
           b"\r\nbroken\r\n")

# day → email → (status, violation codes) after close-day of every day, on 11-28 09:00.
EXPECTED = {
    "2026-11-16": {"feng.zhe@example.com": ("on_time", []), "han.mei@example.com": ("on_time", []),
                   "zhao.lei@example.com": ("on_time", [])},
    "2026-11-17": {"feng.zhe@example.com": ("late", ["late"]),
                   "han.mei@example.com": ("missing", ["missing"]),
                   "zhao.lei@example.com": ("on_time", [])},
    "2026-11-18": {"feng.zhe@example.com": ("on_time", ["hr_not_cc"]),
                   "han.mei@example.com": ("on_time", []),
                   "zhao.lei@example.com": ("on_time", ["not_to_supervisor"]),
                   "li.na@example.com": ("on_time", ["missing_section"])},
    "2026-11-19": {"feng.zhe@example.com": ("on_time", []), "han.mei@example.com": ("on_time", []),
                   "zhao.lei@example.com": ("missing", ["missing"]),
                   "li.na@example.com": ("missing", ["missing"])},
    "2026-11-20": {"feng.zhe@example.com": ("missing", ["missing"]),
                   "han.mei@example.com": ("missing", ["missing"]),
                   "zhao.lei@example.com": ("missing", ["missing"]),
                   "li.na@example.com": ("on_time", [])},
    "2026-11-21": {"feng.zhe@example.com": ("not_due", []), "han.mei@example.com": ("not_due", []),
                   "zhao.lei@example.com": ("not_due", []), "li.na@example.com": ("not_due", [])},
}
CLOSE_NOW = "2026-11-21T09:00:00+08:00"
