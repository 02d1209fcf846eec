"""`mailflow demo`: the whole pipeline on an embedded IMAP server and a seeded week.

Nothing is mocked: the week's mail is written the way real clients write it, APPENDed over
IMAP into the embedded server with the arrival times it would have had, and fetched,
judged and recorded by the same code `mailflow poll` runs.

Its output folder (--out) is written only when it is new, empty, or its own earlier output
(OutFolder): the demo never deletes a file it did not write.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from datetime import time as time_of_day
from typing import Any
from pathlib import Path

from imapclient import IMAPClient

from ..config import shipped
from ..mails.compose import message_id as outbox_message_id
from ..testing.clientmail import Draft, ReplyDraft, write, write_reply
from ..testing.embedded import EmbeddedImap, EmbeddedSmtp
from ..errors import UserError

CST = timezone(timedelta(hours=8))
WEEK_START = date(2026, 11, 16)        # Monday of ISO week 2026-W47
LAST_DAY = date(2026, 12, 3)           # after the month end and its forms' deadline
HR = ("人事部", "hr@example.com")
GM = ("王总", "gm@example.com")
QIAN = ("钱主管", "qian.zg@example.com")
SUN = ("孙主管", "sun.zg@example.com")
MAILBOX_PASSWORD = "demo-password"

# name, address, region, supervisor, the client they write with, probation
PEOPLE = [
    ("冯喆", "feng.zhe@example.com", "华东", QIAN, "foxmail", False),
    ("韩梅", "han.mei@example.com", "华东", QIAN, "qqmail", False),
    ("蒋镕", "jiang.rong@example.com", "华东", QIAN, "outlook", False),
    ("杨帆", "yang.fan@example.com", "华东", QIAN, "iphone", False),
    ("赵磊", "zhao.lei@example.com", "华南", SUN, "mutt", False),
    ("李娜", "li.na@example.com", "华南", SUN, "coremail", True),
    ("沈洁", "shen.jie@example.com", "华南", SUN, "xlsx", False),
    ("朱琳", "zhu.lin@example.com", "华南", SUN, "foxmail", False),
]

SECTIONS = {
    "今日工作": ["走访渠道客户，跟进年度框架合同。", "整理客户档案，准备季度回顾。", "陪同经理拜访重点客户。",
             "参加产品培训，学习新品卖点。", "处理客户投诉，协调补货。"],
    "客户拜访": ["共拜访{n}家：宏远贸易、瑞丰科技", "拜访客户数 {n}", "拜访{n}家，均为老客户"],
    "销售额": ["{s}", "今日销售额：{s}元", "￥{s}.00"],
    "回款": ["{c}元", "今日回款：{c}"],
    "竞品信息": ["竞品本周降价5%。", "竞品推出新包装。", "无"],
    "问题与需求": ["需要样品支持。", "客户要求延长账期。", "希望增加促销物料。"],
    "明日计划": ["回访瑞丰科技，准备报价单。", "拜访新客户两家。", "跟进回款。"],
}


@dataclass(frozen=True)
class Seed:
    raw: bytes
    at: datetime
    boxes: tuple[str, ...]
    note: str


def _sections(i: int, day: int, drop: str | None = None) -> tuple[tuple[str, str], ...]:
    n, s, c = 2 + (i + day) % 4, 8000 + 1500 * ((i * 3 + day) % 7), 3000 * ((i + day) % 3)
    out = []
    for heading, options in SECTIONS.items():
        if heading == drop:
            continue
        text = options[(i + day) % len(options)].format(n=n, s=f"{s:,}", c=f"{c:,}")
        if heading == "问题与需求" and i == 1 and 7 <= day <= 10:
            text = "客户要求延长账期，需要公司政策支持。"  # raised day after day: the draft flags it
        out.append((heading, text))
    return tuple(out)


def _report(i: int, day: int, hh: int, mm: int, *, to=None, cc=None, subject=None,
            drop=None, tag="", sections=None, note="", start: date = WEEK_START) -> Seed:
    name, addr, _, sup, client, _ = PEOPLE[i]
    d = start + timedelta(days=day)
    when = datetime(d.year, d.month, d.day, hh, mm, tzinfo=CST)
    to = to if to is not None else (sup,)
    cc = cc if cc is not None else (HR,)
    draft = Draft(name, addr, to, cc, subject or f"工作日报 {d:%Y-%m-%d} {name}",
                  sections or _sections(i, day, drop), when,
                  f"{addr.split('@')[0]}.{d:%Y%m%d}.{hh:02d}{mm:02d}{tag}@example.com")
    return Seed(write(client, draft), when, _boxes(to, cc), note)


def _boxes(to: tuple, cc: tuple) -> tuple[str, ...]:
    names = {HR: "hr", QIAN: "qian", SUN: "sun", GM: "gm"}
    return tuple(dict.fromkeys(names[p] for p in (*to, *cc) if p in names)) or ("hr",)


def _workdays(start: date = WEEK_START, end: date = LAST_DAY) -> list[date]:
    """The demo's span: by default three weeks of workdays, through the month end."""
    out, day = [], start
    while day <= end:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def week_mail(start: date = WEEK_START, end: date = LAST_DAY) -> list[Seed]:
    """Three weeks for two regions, with the rule breaks people really make in the first,
    the supervisors' weekly reports and month-end forms (one of each missing)."""
    seeds: list[Seed] = []
    exceptions = {(1, 1): "late", (3, 2): "missing", (4, 3): "hr_in_to", (7, 0): "wrong_sup",
                  (5, 0): "no_plan", (0, 3): "correction", (6, 4): "missing", (2, 7): "missing",
                  (5, 8): "late", (7, 9): "leave"}
    for day, d in enumerate(_workdays(start, end)):
        offset = (d - start).days
        for i in range(len(PEOPLE)):
            case = exceptions.get((i, day))
            if case in ("missing", "leave"):
                continue
            # Most report in the early evening; one in four after the 20:00 reminder.
            hh, mm = (20 if (i + day) % 4 == 3 else 18 + (i % 2)), (7 * i + 3 * day) % 60
            if case == "late":
                seeds.append(_report(i, offset, 21, 40, note="late", start=start))
            elif case == "hr_in_to":
                seeds.append(_report(i, offset, hh, mm, to=(PEOPLE[i][3], HR), cc=(),
                                     note="HR in To instead of Cc", start=start))
            elif case == "wrong_sup":
                seeds.append(_report(i, offset, hh, mm, to=(QIAN,),
                                     note="sent to the wrong supervisor", start=start))
            elif case == "no_plan":
                seeds.append(_report(i, offset, hh, mm, drop="明日计划", note="no 明日计划 section",
                                     start=start))
            else:
                seeds.append(_report(i, offset, hh, mm, start=start))
            if case == "correction":
                fixed = tuple((h, "更正：" + t if h == "销售额" else t)
                              for h, t in _sections(i, offset))
                seeds.append(_report(i, offset, 22, 15, tag="fix", sections=fixed,
                                     note="a correction after the deadline", start=start))
    seeds += clearing_replies(seeds, start, end)
    seeds.append(_report(1, 2, 21, 5, subject=f"回复：工作日报 {start + timedelta(2):%Y-%m-%d}",
                         tag="re", note="a reply, not a report", start=start))
    seeds += leave_mail(start, end)
    stranger = Draft("陌生人", "someone@163.example", (QIAN,), (HR,), "日报 11月17日",
                     _sections(0, 1), datetime(2026, 11, 17, 20, 0, tzinfo=CST),
                     "stranger.20261117@163.example")
    seeds.append(Seed(write("coremail", stranger), stranger.date, ("qian", "hr"),
                      "an unknown sender"))
    weekly = Draft("钱主管", "qian.zg@example.com", (GM,), (HR,), "销售区域周报 华东 2026-W47",
                   (("本周总结", "本周华东区销售额稳步增长。"), ("下周重点", "重点跟进两家新客户。")),
                   datetime(2026, 11, 20, 19, 30, tzinfo=CST), "qian.weekly.2026W47@example.com")
    seeds.append(Seed(write("outlook", weekly), weekly.date, ("gm", "hr"),
                      "a supervisor's weekly report (the other one is missing)"))
    form = Draft("钱主管", "qian.zg@example.com", (HR,), (), "华东 11月 销售员(含试用期)考核表",
                 (("说明", "见附件"),), datetime(2026, 12, 1, 16, 0, tzinfo=CST),
                 "qian.assessment.202611@example.com")
    seeds.append(Seed(write("xlsx", form), form.date, ("hr",),
                      "a month-end 考核表 (the other region's is missing)"))
    for i in (0, 1, 4):
        name, addr, _, sup, _, _ = PEOPLE[i]
        sheet = Draft(name, addr, (HR,), (sup,), f"11月考核指标确认 {name}", (("指标", "已签字"),),
                      datetime(2026, 11, 6, 10, i, tzinfo=CST), f"{addr}.indicators.202611")
        seeds.append(Seed(write("xlsx", sheet), sheet.date, _boxes((HR,), (sup,)),
                          "signed indicator sheets (some missing)"))
    return seeds


def leave_mail(start: date, end: date) -> list[Seed]:
    """Leave and corrections by mail, on days of the seeded weeks: 蒋镕 asks for the day she
    is missing in the second week and 钱主管 approves by reply; 孙主管 registers 朱琳's
    day off; HR withdraws 沈洁's missing of the first Friday (she was at a customer's site
    without a network)."""
    days = _workdays(start, end)
    if len(days) < 10:
        return []

    def at(day: date, hh: int, mm: int) -> datetime:
        return datetime(day.year, day.month, day.day, hh, mm, tzinfo=CST)

    jiang, sent = PEOPLE[2], days[6]
    off = f"{days[7].month}月{days[7].day}日"
    request = Draft(jiang[0], jiang[1], (QIAN,), (HR,), f"年假 {off}", (), at(sent, 10, 0),
                    f"jiang.leave.{days[7]:%Y%m%d}@example.com",
                    text=f"钱主管：\n\n{off}想请一天年假，家里有事。\n\n{jiang[0]}")
    approval = Draft(QIAN[0], QIAN[1], ((jiang[0], jiang[1]),), (HR,), f"回复：年假 {off}", (),
                     at(sent, 11, 30), f"qian.ok.{days[7]:%Y%m%d}@example.com",
                     in_reply_to=request.message_id, text="同意。", quoted=request.text)
    zhu = PEOPLE[7]
    registration = Draft(SUN[0], SUN[1], (HR,), (), "请假登记", (), at(days[8], 17, 0),
                         f"sun.leave.{days[9]:%Y%m%d}@example.com",
                         text=f"人事部好：\n\n{zhu[0]} {days[9].month}月{days[9].day}日 事假 "
                              f"陪家人看病\n\n{SUN[0]}")
    shen = PEOPLE[6]
    correction = Draft(HR[0], HR[1], (SUN,), (), f"更正：{days[4]:%m-%d} 漏交", (),
                       at(days[5], 9, 30), f"hr.fix.{days[4]:%Y%m%d}@example.com",
                       text=f"孙主管好：\n\n{shen[0]} {days[4].isoformat()} missing "
                            f"在客户工厂驻场，没有网络\n\n人事部")
    return [Seed(write("outlook", request), request.date, ("qian", "hr"),
                 "a leave request approved by reply"),
            Seed(write("qqmail", approval), approval.date, ("hr",), ""),
            Seed(write("coremail", registration), registration.date, ("hr",),
                 "leave registered by a supervisor"),
            Seed(write("foxmail", correction), correction.date, ("sun",),
                 "HR's correction of a missing day")]


SENDER = "日报助手 <reports@example.com>"


def clearing_replies(reports: list[Seed], start: date, end: date) -> list[Seed]:
    """日清 as two supervisors do it: 钱主管 answers each day's digest the next workday at
    08:40 from Outlook (the digest's Message-ID is the one mailflow will give it), which
    clears the whole team's day; 孙主管 answers his team's reports one by one from his
    iPhone, and only on Tuesdays: his other days stay unreviewed (clearing_missing)."""
    out = []
    days = _workdays(start, end)
    for d, nxt in zip(days, days[1:]):
        key = f"digest|{QIAN[1]}|{d.isoformat()}"
        when = datetime(nxt.year, nxt.month, nxt.day, 8, 40, tzinfo=CST)
        out.append(Seed(write_reply("outlook", ReplyDraft(
            QIAN[0], QIAN[1], (HR,), "今天的日报都看过了。韩梅的账期问题我来和财务沟通。", when,
            f"qian.clearing.{d:%Y%m%d}@example.com", outbox_message_id(key, SENDER),
            f"日清汇总 {d.isoformat()}", ("日报助手", "reports@example.com"),
            datetime(d.year, d.month, d.day, 21, 30, tzinfo=CST), "（汇总邮件）")),
            when, ("hr",), "钱主管 clears each day by replying to the digest"))
    sun_team = {addr for _, addr, _, sup, _, _ in PEOPLE if sup == SUN}
    for seed in reports:
        head = seed.raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
        mid = next((line.split("<", 1)[1].rstrip(">") for line in head.splitlines()
                    if line.lower().startswith("message-id:")), "")
        addr = next((a for a in sun_team if mid.startswith(a.split("@")[0] + ".")), "")
        if not addr or seed.at.weekday() != 1 or "fix" in mid:
            continue
        name = next(p[0] for p in PEOPLE if p[1] == addr)
        when = seed.at.replace(hour=22, minute=15)
        out.append(Seed(write_reply("iphone", ReplyDraft(
            SUN[0], SUN[1], ((name, addr),), "收到，明天电话沟通。", when, f"sun.re.{mid}", mid,
            f"工作日报 {seed.at:%Y-%m-%d} {name}", (name, addr), seed.at, "（日报）"),),
            when, ("hr",), "孙主管 reviews his team's reports on Tuesdays only"))
    return out


def _roster() -> str:
    lines = ["email,name,role,region,supervisor,start_date,end_date,probation",
             "hr@example.com,人事部,hr,,,2024-01-01,,no",
             "gm@example.com,王总,management,,,2024-01-01,,no",
             "qian.zg@example.com,钱主管,supervisor,华东,,2024-01-01,,no",
             "sun.zg@example.com,孙主管,supervisor,华南,,2024-01-01,,no"]
    for name, addr, region, sup, _, probation in PEOPLE:
        start = "2026-10-08" if probation else "2025-03-01"
        lines.append(f"{addr},{name},sales,{region},{sup[1]},{start},,{'yes' if probation else 'no'}")
    return "\n".join(lines) + "\n"


def _settings(folder: Path, imap_port: int, smtp_port: int) -> str:
    boxes = "".join(f"""
[[mailbox]]
name = "{name}"
host = "127.0.0.1"
port = {imap_port}
security = "none"
username = "{user}"
password_env = "MAILFLOW_DEMO_PASSWORD"
folders = ["INBOX"]
""" for name, user in (("hr", HR[1]), ("qian", QIAN[1]), ("sun", SUN[1])))
    return f"""\
# Written by `mailflow demo`: the embedded IMAP and SMTP servers on loopback ports.
[company]
name = "示例销售有限公司"
timezone = "Asia/Shanghai"
roster = "roster.csv"
hr = ["hr@example.com"]
management = ["gm@example.com"]
authserv_ids = ["mx.example.com"]
rules = "{shipped.folder('rules')}"
templates = "{shipped.folder('templates')}"

[database]
url = "sqlite:///{folder / 'mailflow.db'}"
{boxes}
[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
username = ""
sender = "{SENDER}"
"""


class _Mailboxes:
    """IMAP sessions per demo user, to deliver the seeded mail as the MTA would."""

    def __init__(self, server: EmbeddedImap) -> None:
        self.clients: dict[str, IMAPClient] = {}
        for box, user in (("hr", HR[1]), ("qian", QIAN[1]), ("sun", SUN[1]), ("gm", GM[1])):
            server.add_user(user, MAILBOX_PASSWORD)
            client = IMAPClient(server.host, port=server.port, ssl=False, timeout=30)
            client._imap.debug = 0
            client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.login(user, MAILBOX_PASSWORD)
            self.clients[box] = client

    def deliver(self, seeds: list[Seed]) -> None:
        for seed in seeds:
            for box in seed.boxes:
                self.clients[box].append("INBOX", seed.raw, (), seed.at)

    def close(self) -> None:
        for client in self.clients.values():
            client.logout()


def _stages(app: Any, start: date, end: date) -> list[datetime]:
    """The moments the service acts on each workday: every time a scheduled job of
    rules/ is due that day (so each mail carries the time the service would send it), and
    10:30, 18:30, 20:00 and 21:30, between which the day's mail arrives."""
    from ..service.jobs import JOBS

    out = []
    day = start
    while day <= end:
        if day.weekday() < 5:
            times = {time_of_day(10, 30), time_of_day(18, 30), time_of_day(20, 0),
                     time_of_day(21, 30)}
            times |= {t for job in JOBS if (t := job.when(app, day)) is not None}
            out += [datetime.combine(day, t, tzinfo=CST) for t in sorted(times)]
        day += timedelta(days=1)
    return out


MARKER = ".mailflow-demo"
MARKER_HEAD = ("# Written by `mailflow demo`. Its next run with --out here deletes the files "
               "listed below, and nothing else.\n")


class OutFolder:
    """The demo's output folder. It writes only into a folder that is new, empty, or its
    own from an earlier run (it carries the MARKER file); any other folder is refused
    before anything is touched, so `--out .` in a deployment folder deletes nothing.
    Every file is listed in the marker before it is written, and a rerun deletes exactly
    the listed files: what anyone else put there stays."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.marker = path / MARKER
        if path.exists() and not path.is_dir():
            raise UserError(f"--out {path} is a file, not a folder; nothing was changed. "
                            "Name a new or empty folder, or the demo's own earlier output")
        if path.is_dir() and not self.marker.is_file() and any(path.iterdir()):
            raise UserError(f"--out {path} is not empty and was not written by the demo; "
                            "nothing was changed. Name a new or empty folder, or the demo's "
                            "own earlier output (default: ./mailflow-demo)")

    def replace(self) -> None:
        """Delete what the demo's last run here wrote, and start a new list."""
        self.path.mkdir(parents=True, exist_ok=True)
        root = self.path.resolve()
        if self.marker.is_file():
            folders = set()
            for line in self.marker.read_text(encoding="utf-8").splitlines():
                if not line or line.startswith("#"):
                    continue
                target = (self.path / line).resolve()
                # Only a plain file inside the folder: an edited marker deletes nothing else.
                if root in target.parents and target.is_file() and not \
                        (self.path / line).is_symlink():
                    target.unlink()
                    folders.update(p for p in target.parents if root in p.parents)
            for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
        self.marker.write_text(MARKER_HEAD, encoding="utf-8")

    def write(self, relative: str, data: bytes | str) -> Path:
        with self.marker.open("a", encoding="utf-8") as listing:
            listing.write(relative + "\n")
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            target.write_text(data, encoding="utf-8")
        else:
            target.write_bytes(data)
        return target


def _safe(text: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_ ." else "_" for ch in text)
    return "_".join(keep.split())[:60] or "mail"


WEEKDAYS = "一二三四五六日"


def _people() -> dict[str, tuple[str, str, int]]:
    """address → (name, role as the index shows it, order on the page)."""
    out = {HR[1]: (HR[0], "人事", 0), GM[1]: (GM[0], "管理层", 1),
           QIAN[1]: (QIAN[0], "区域主管 · 华东", 2), SUN[1]: (SUN[0], "区域主管 · 华南", 3)}
    for n, (name, addr, region, _, _, probation) in enumerate(PEOPLE):
        out[addr] = (name, f"销售 · {region}" + (" · 试用期" if probation else ""), 10 + n)
    return out


def write_mail_folder(out: OutFolder, messages: list[tuple[list[str], bytes]]) -> int:
    """Every delivered mail under out/<recipient>/NN-<subject>.eml with an .html beside
    it, and out/index.html: per person, per day, each mail's time and subject. Returns the
    number of mails written (one per recipient)."""
    import html as html_mod
    from email import message_from_bytes
    from email.policy import default
    from email.utils import parsedate_to_datetime

    esc = html_mod.escape
    counters: dict[str, int] = {}
    received: dict[str, list[tuple[datetime, str, str, str]]] = {}
    for rcpts, raw in messages:
        msg = message_from_bytes(raw, policy=default)
        subject = str(msg["Subject"] or "")
        sent = parsedate_to_datetime(str(msg["Date"])).astimezone(CST)
        body = msg.get_body(("html", "plain"))
        page = body.get_content() if body is not None else ""
        if body is not None and body.get_content_type() == "text/plain":
            page = f"<pre>{esc(page)}</pre>"
        for rcpt in sorted(set(rcpts)):
            counters[rcpt] = counters.get(rcpt, 0) + 1
            stem = f"{rcpt}/{counters[rcpt]:02d}-{_safe(subject)}"
            out.write(f"{stem}.eml", raw)
            out.write(f"{stem}.html", page)
            received.setdefault(rcpt, []).append((sent, subject, f"{stem}.html", f"{stem}.eml"))
    people = _people()
    order = sorted(received, key=lambda a: (people.get(a, (a, "", 99))[2], a))
    toc, sections = [], []
    for n, addr in enumerate(order):
        name, role, _ = people.get(addr, (addr, "", 99))
        mails = sorted(received[addr])
        toc.append(f'<li><a href="#p{n}">{esc(name)}</a>（{esc(role)}）{len(mails)} 封</li>')
        rows = []
        for day in sorted({m[0].date() for m in mails}):
            todays = [m for m in mails if m[0].date() == day]
            for i, (sent, subject, page, eml) in enumerate(todays):
                head = (f'<td rowspan="{len(todays)}">{day.month}月{day.day}日 '
                        f'周{WEEKDAYS[day.weekday()]}</td>') if i == 0 else ""
                rows.append(f'<tr>{head}<td>{sent:%H:%M}</td><td><a href="{esc(page)}">'
                            f'{esc(subject)}</a></td><td><a href="{esc(eml)}">原件</a></td></tr>')
        sections.append(
            f'<h2 id="p{n}">{esc(name)} <small>{esc(role)} · {esc(addr)}</small></h2>\n'
            '<table border="1" cellpadding="4" cellspacing="0"><tr><th>日期</th><th>时间</th>'
            '<th>主题</th><th>.eml</th></tr>\n' + "\n".join(rows) + "</table>")
    total = sum(counters.values())
    out.write("index.html", (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        "<title>mailflow 演示：每个人收到的邮件</title></head>"
        '<body style="font-family:sans-serif">'
        "<h1>mailflow 演示：每个人收到的邮件</h1>"
        f"<p>共 {len(order)} 人、{total} 封，按收件人分组，每人按日期和发送时间排列。"
        "点主题阅读邮件，点“原件”打开 .eml 文件。</p>"
        f'<ul>{"".join(toc)}</ul>\n' + "\n".join(sections) + "\n</body></html>\n"))
    return total


def _table(app, days: list[date]) -> list[str]:  # type: ignore[no-untyped-def]
    """Each person's status, one block per week of `days`."""
    from ..records.days import day_status

    by_person: dict[str, dict[date, tuple[str, tuple[str, ...]]]] = {}
    names: dict[str, tuple[str, str]] = {}
    for d in days:
        for p in day_status(app, d):
            # a day excused by leave, or by HR's correction of a missing day
            status = ("leave" if p.leave else "excused") if p.status == "excused" else p.status
            by_person.setdefault(p.email, {})[d] = (status, p.violations)
            names[p.email] = (p.region, p.name)
    short = {"on_time": "✓", "late": "late", "missing": "MISSING", "not_due": "-",
             "leave": "leave", "excused": "excused"}
    weeks: dict[tuple[int, int], list[date]] = {}
    for d in days:
        weeks.setdefault(d.isocalendar()[:2], []).append(d)
    lines: list[str] = []
    for week in weeks.values():
        head = _pad("region", 8) + _pad("name", 8) \
            + "".join(_pad(f"{d:%a %m-%d}", 11) for d in week) + "rule breaks"
        lines += ([""] if lines else []) + [head, "-" * len(head)]
        for email in sorted(by_person, key=lambda e: names[e]):
            region, name = names[email]
            cells = "".join(_pad(short[by_person[email][d][0]], 11) if d in by_person[email]
                            else _pad("", 11) for d in week)
            breaks = sorted({c for d in week for c in by_person[email].get(d, ("", ()))[1]
                             if c not in ("late", "missing")})
            lines.append(f"{_pad(region, 8)}{_pad(name, 8)}{cells}{', '.join(breaks)}")
    return lines


def _clearing_lines(app, start: date, end: date) -> list[str]:  # type: ignore[no-untyped-def]
    """Each supervisor's 日清 over the span, as HR's mails show it."""
    from ..records.clearing import figures

    lines = ["", "日清 (supervisors' reviews): days with reports, cleared on time, rate, "
                 "median hours to review"]
    for f in figures(app, start, end):
        lines.append(f"  {f.supervisor.region} {f.supervisor.name}: {f.days} days, "
                     f"{f.cleared} cleared on time, {f.as_row()['rate']}, "
                     f"median {f.as_row()['median']} h")
    return lines


def _pad(text: str, width: int) -> str:
    """Left-align for a terminal, where a Chinese character takes two columns."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(1, width - used)


def run_demo(out: Path, *, keep_running: bool, progress: Callable[[str], None],
             start: date = WEEK_START, end: date = LAST_DAY) -> int:
    import os
    from collections import Counter

    from ..app import load_app
    from ..records.days import day_status
    from ..records.export import collect, to_json
    from ..service.jobs import run_due
    from ..service.pipeline import poll_open
    from ..delivery.smtp import send_pending

    for name in shipped.NAMES:
        shipped.folder(name)   # an installation without them is told before any server starts
    if start.weekday() != 0 or end < start + timedelta(days=4):
        raise UserError("the demo's span starts on a Monday and covers at least a week")
    folder = OutFolder(out)   # refuses a folder it did not write, before anything is touched
    started = time.monotonic()
    folder.replace()
    work = Path(tempfile.mkdtemp(prefix="mailflow-demo-"))
    imap_server = EmbeddedImap().start()
    smtp_server = EmbeddedSmtp().start()
    boxes = None
    try:
        progress(f"[1/5] embedded IMAP 127.0.0.1:{imap_server.port} and SMTP "
                 f"127.0.0.1:{smtp_server.port}; database in {work}")
        seeds = sorted(week_mail(start, end), key=lambda s: s.at)
        boxes = _Mailboxes(imap_server)
        (work / "roster.csv").write_text(_roster(), encoding="utf-8")
        (work / "settings.toml").write_text(_settings(work, imap_server.port, smtp_server.port),
                                            encoding="utf-8")
        os.environ["MAILFLOW_DEMO_PASSWORD"] = MAILBOX_PASSWORD
        app = load_app(work / "settings.toml")
        progress(f"[2/5] 2 regions from {start} to {end}, {len(seeds)} mails "
                 "from Foxmail, Outlook, QQ Mail, iPhone, mutt, 163 and xlsx, delivered as the "
                 "days go by")
        kinds: Counter[str] = Counter()
        judged: Counter[str] = Counter()
        delivered = 0
        from ..inbound import imap
        connections = [(imap.connect(box, box.password()), box) for box in app.settings.mailboxes]
        for stage in _stages(app, start, end):
            app.fixed_now = stage
            due = [s for s in seeds if s.at <= stage]
            boxes.deliver(due[delivered:])
            delivered = len(due)
            counts = poll_open(app, connections)
            judged.update(counts.codes)
            run_due(app)
            report = send_pending(app)
            if report.failed or report.unknown:
                raise UserError("the demo's SMTP server refused mail: "
                                + "; ".join(report.failed + report.unknown))
        for client, _ in connections:
            client.logout()
        for _, raw in smtp_server.messages:
            kinds[_kind_of(raw)] += 1
        progress(f"[3/5] the service's days, stage by stage (poll, the scheduler's jobs, send): "
                 f"rule breaks {dict(sorted(judged.items()))}")
        progress(f"[4/5] {len(smtp_server.messages)} mails sent over SMTP: "
                 + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
        days = _workdays(start, end)   # the table: every workday, a block per week
        for d in _workdays(start, end):   # `status --json` of every day, to check mail against
            people = [p.as_json() for p in day_status(app, d)]
            folder.write(f"status-{d}.json", json.dumps(
                {"date": d.isoformat(), "people": people}, ensure_ascii=False, indent=2) + "\n")
        folder.write("export.json", to_json(collect(app, start - timedelta(days=31), end)) + "\n")
        files = write_mail_folder(folder, smtp_server.messages)
        table = _table(app, days) + _clearing_lines(app, start, end)
        folder.write("summary.txt", "\n".join(table) + "\n")
        progress(f"[5/5] wrote {files} delivered mails under {out}/<recipient>/, "
                 f"{out}/index.html, summary.txt, status-<day>.json and export.json "
                 f"in {time.monotonic() - started:.1f}s")
        print()
        print("\n".join(table))
        print()
        print("✓ on time · late · MISSING · leave (excused by leave) · excused (HR's correction) "
              "· - not due. The seeded breaks: "
              + "; ".join(sorted({s.note for s in seeds if s.note})) + ".")
        print(f"Open {out / 'index.html'} to read what each person received.")
        if keep_running:
            # Ctrl-C or a SIGTERM stops it cleanly, also when started where SIGINT is
            # ignored (a background job of a script, a test runner's worker); set before
            # the servers are announced, so a signal right after is not lost.
            def stop(signum, frame):  # type: ignore[no-untyped-def]
                raise KeyboardInterrupt
            signal.signal(signal.SIGINT, stop)
            signal.signal(signal.SIGTERM, stop)
            print(f"\nIMAP server: host 127.0.0.1, port {imap_server.port}, no TLS; users "
                  f"{HR[1]}, {QIAN[1]}, {SUN[1]}, {GM[1]}; password {MAILBOX_PASSWORD}.\n"
                  f"SMTP server: host 127.0.0.1, port {smtp_server.port}, no TLS, no login. "
                  "Ctrl-C (or SIGTERM) stops them.\n"
                  "The demo's settings and database stay until then; to use mailflow "
                  "against them (nothing runs on its own now):\n"
                  f"  export MAILFLOW_DEMO_PASSWORD={MAILBOX_PASSWORD}\n"
                  f"  mailflow --config {work / 'settings.toml'} status --date "
                  f"{end.isoformat()}\n"
                  "New mail goes in by IMAP APPEND to a user's INBOX (a mail client's "
                  "\"upload\", or imaplib); then `poll --once` judges it and `send` delivers "
                  "what it queued to the SMTP server above (kept there, not put in the "
                  "mailboxes).", flush=True)
            try:
                # Short sleeps: a signal the kernel hands to a server thread is only
                # noted for the main thread, which acts on it when it next wakes.
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
    finally:
        if boxes is not None:
            boxes.close()
        smtp_server.stop()
        imap_server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _kind_of(raw: bytes) -> str:
    """The outbox kind, read back from the deterministic Message-ID (kind.hash@domain)."""
    for line in raw.split(b"\r\n\r\n", 1)[0].splitlines():
        if line.lower().startswith(b"message-id:"):
            return line.split(b"<", 1)[-1].split(b".", 1)[0].decode()
    return "other"
