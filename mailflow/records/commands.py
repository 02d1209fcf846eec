"""Mail that asks the record to change: a leave request, its approval or refusal by reply,
leave registered by a supervisor or HR, HR's corrections (SPEC §5).

`act` is given the ids of mail just judged and the caller's Session (the pipeline stores a
chunk's verdicts, its commands and their answers in one transaction). Each command is
kept in `commands` once per Message-ID, applied or refused with the reason, so the same
mail in two mailboxes, or replayed, acts once. Who may say what: a salesperson their own
leave request only; a supervisor their own team on the dates touched; HR anyone; never a
mail flagged spoof_suspected, an unknown sender or auto-submitted mail. A registration or
correction is applied whole or refused whole, so its sender fixes one mail and sends it
again. What to mail back is returned (`Done`), never queued here: records sit below
mails/.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..app import App
from ..config.codes import CODES
from ..config.roster import Person
from ..errors import UserError
from ..judging.checks import Facts
from ..judging.checks.sender import check as sender_check
from ..judging.classify import Classification, classify
from ..judging.sections import extract
from ..parsing.guard import parse_guarded
from ..parsing.leavedates import LeaveDates, find_span, read_dates, read_line
from ..parsing.parse import ParsedMail, ParseError
from ..parsing.replytext import own_text
from ..store import leave as cover_of
from ..store import queries
from ..store.models import Change, Command, LeaveEntry, Mail
from .leave import Actor, Entry, approve_in, excuse_in, refuse_in

log = logging.getLogger(__name__)

# The kinds of mail (judging/classify.py) that may carry a command.
KINDS = ("leave", "registration", "correction", "reply", "auto")


@dataclass(frozen=True)
class Line:
    """One entry of a registration or correction, as applied."""

    email: str
    name: str
    start: date
    end: date
    kind: str = ""          # registration: the kind of leave
    half_day: bool = False
    codes: tuple[str, ...] = ()   # correction: what was withdrawn
    note: str = ""


@dataclass(frozen=True)
class Done:
    """A command acted on, and what its answer mails need."""

    message_id: str
    sender: str
    action: str              # request, approve, refuse, register, correct
    state: str               # applied, refused
    reason: str
    subject: str
    answer_sender: bool      # a roster person or HR, and not an auto-reply
    request: Entry | None = None       # the leave request made or decided
    lines: tuple[Line, ...] = field(default=())


class Refused(Exception):
    """Why a command does not count, in words its sender reads."""


def act(session: Session, app: App, mail_ids: list[int]) -> list[Done]:
    """Act on the commands among these mails, in arrival order; a mail that is no command
    (a reply to a daily report, an auto-reply to anything else) is left alone."""
    if not mail_ids:
        return []
    out = []
    for mail in session.scalars(select(Mail).where(Mail.id.in_(mail_ids), Mail.kind.in_(KINDS))
                                .order_by(Mail.received_at, Mail.id)):
        done = _act_one(session, app, mail)
        if done is not None:
            out.append(done)
    return out


def _act_one(session: Session, app: App, mail: Mail) -> Done | None:
    try:
        parsed = parse_guarded(queries.decompress(mail.raw))
    except ParseError:
        return None
    key = parsed.message_id or f"mail:{mail.id}"
    if session.scalars(select(Command.id).where(Command.message_id == key)).first():
        return None   # this mail, seen before in another mailbox or replayed
    ctx = app.context()
    cls = classify(parsed, mail.received_at, ctx.tz, ctx.roster, ctx.policy)
    request = _replied_request(session, parsed)
    action = _action(app, mail.kind or "", parsed, request)
    if action is None:
        return None
    sender = parsed.from_addr
    hr = sender in ctx.hr
    answer = mail.kind != "auto" and (hr or app.roster.known(sender))
    now = app.now()
    actor = Actor(sender, key)
    done_request: Entry | None = None
    lines: tuple[Line, ...] = ()
    reason = ""
    try:
        # A savepoint: a registration or correction refused halfway keeps nothing.
        with session.begin_nested():
            if mail.kind == "auto":
                raise Refused("自动回复或系统发出的邮件不能作为指令")
            _trusted(parsed, cls, mail, app)
            if action == "request":
                entry, reason = _request(session, app, parsed, mail, actor, now)
                done_request = Entry.of(entry)
            elif request is not None and action in ("approve", "refuse"):
                _decide(session, app, request, action, sender, hr, actor, now)
                done_request = Entry.of(request)
            elif action == "register":
                lines = _register(session, app, parsed, cls.arrival_date, sender, hr, actor,
                                  now)
            else:
                lines = _correct(session, app, parsed, cls.arrival_date, sender, hr, actor,
                                 now)
        state = "applied"
    except Refused as exc:
        state, reason = "refused", str(exc)
    session.add(Command(message_id=key, mail_id=mail.id, sender=sender, action=action,
                        state=state, reason=reason, at=now))
    session.flush()
    log.info("command %s from %s (%s): %s %s", key, sender, action, state, reason)
    return Done(key, sender, action, state, reason, parsed.subject, answer, done_request, lines)


def _replied_request(session: Session, parsed: ParsedMail) -> LeaveEntry | None:
    ids = [m for m in (parsed.in_reply_to, *parsed.references) if m]
    if not ids:
        return None
    # A request, not a registration: a reply to a 请假登记 ("好的") decides nothing.
    requests = select(Command.message_id).where(Command.message_id.in_(ids),
                                                Command.action == "request")
    return session.scalars(select(LeaveEntry).where(
        LeaveEntry.source == "mail", LeaveEntry.message_id.in_(requests))
        .order_by(LeaveEntry.id.desc())).first()


def _action(app: App, kind: str, parsed: ParsedMail, request: LeaveEntry | None) -> str | None:
    if request is not None and kind in ("reply", "auto"):
        text = own_text(parsed.body)
        words = app.policy.leave
        if any(w.lower() in text.lower() for w in words.refuse_words):
            return "refuse"
        if any(w.lower() in text.lower() for w in words.approve_words):
            return "approve"
        return None     # a reply with neither word changes nothing
    if kind == "auto":
        subject = parsed.subject
        words = app.policy.leave
        if any(w in subject for w in words.correction_words):
            return "correct"
        if any(w in subject for w in words.registration_words):
            return "register"
        return None
    return {"leave": "request", "registration": "register",
            "correction": "correct"}.get(kind)


def _trusted(parsed: ParsedMail, cls: Classification, mail: Mail, app: App) -> None:
    """A command counts only from a roster person (or HR) whose mail is not suspect."""
    ctx = app.context()
    found = sender_check(Facts(parsed, cls, mail.received_at, extract("", ctx.policy.daily)),
                         ctx)
    spoof = [v.detail for v in found if v.code == "spoof_suspected"]
    if spoof:
        raise Refused(f"发件人可能被冒用（spoof_suspected：{'；'.join(spoof)}）")
    if parsed.from_addr not in ctx.hr and not app.roster.known(parsed.from_addr):
        raise Refused(f"发件人 {parsed.from_addr} 不在花名册上")


def _kind_in(app: App, text: str) -> str | None:
    """The first kind or alias written in the text (the alias as written: 病假, 年假)."""
    found = [(text.index(w), -len(w), w) for k in app.policy.leave.kinds
             for w in (k.name, *k.aliases) if w in text]
    return min(found)[2] if found else None


def _days_note(entry: LeaveEntry) -> str:
    return f"{entry.date_from}~{entry.date_to}"


def _request(session: Session, app: App, parsed: ParsedMail, mail: Mail,
             actor: Actor, now: datetime) -> tuple[LeaveEntry, str]:
    rules = app.policy.leave
    arrival = mail.received_at.astimezone(app.tz).date()
    dates = read_dates(parsed.subject, parsed.body, arrival, rules.half_day_words)
    if dates is None:     # classify found them; a changed rules file may not
        raise Refused("邮件里没有看出请假日期")
    person = app.roster.person(actor.by, dates.start) or app.roster.person(actor.by, arrival)
    if person is None or person.role != "sales":
        raise Refused("只有销售人员可以用邮件为自己请假；主管或人事请用“请假登记”")
    entry = LeaveEntry(email=person.email, date_from=dates.start, date_to=dates.end,
                       kind=_kind_in(app, parsed.subject) or rules.default_kind,
                       half_day=dates.half_day, state="pending", source="mail",
                       decided_by=None, message_id=actor.via, note=parsed.subject[:200],
                       created_at=now)
    session.add(entry)
    session.flush()
    reason = ""
    if person.supervisor and person.supervisor not in (*parsed.to, *parsed.cc):
        queries.add_violation(session, email=person.email, day=dates.start,
                              code="not_to_supervisor", detail=person.supervisor,
                              mail_id=mail.id, now=now, scope="mail")
        reason = f"not_to_supervisor: {person.supervisor} 不在收件人或抄送里，等待批准"
    if rules.approval == "none":
        approve_in(session, app, entry, actor, now)
    else:
        for day in cover_of.days_of(entry, entry.date_from, entry.date_to):
            if app.workdays.is_workday(day):
                session.add(_requested(entry, actor, now, day))
    return entry, reason


def _requested(entry: LeaveEntry, actor: Actor, now: datetime, day: date) -> Change:
    half = "，半天" if entry.half_day else ""
    return Change(at=now, by=actor.by, via=actor.via, what="leave requested", before="",
                  after=f"leave #{entry.id} {entry.kind}{half} {_days_note(entry)} (pending)",
                  email=entry.email, date=day)


def _authority(app: App, sender: str, hr: bool, email: str, start: date, end: date) -> None:
    """HR: anyone. A supervisor: a person of their team on every workday touched."""
    if hr:
        return
    days = [d for d in _span(start, end) if app.workdays.is_workday(d)] or [start]
    for day in days:
        person = app.roster.person(email, day)
        if person is None:
            raise Refused(f"{email} 在 {day} 不在花名册上")
        if person.supervisor != sender:
            if email == sender:
                raise Refused("销售人员不能批准或登记自己的请假")
            raise Refused(f"{person.name}（{email}）在 {day} 的主管是 {person.supervisor}，"
                          f"不是 {sender}")


def _span(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _decide(session: Session, app: App, request: LeaveEntry, action: str, sender: str,
            hr: bool, actor: Actor, now: datetime) -> None:
    if sender == request.email:
        raise Refused("销售人员不能批准或驳回自己的请假")
    sender_row = app.roster.person(sender, request.date_from)
    if not hr and (sender_row is None or sender_row.role == "sales"):
        raise Refused("只有主管或人事可以批准请假")
    _authority(app, sender, hr, request.email, request.date_from, request.date_from)
    if request.state != "pending":
        by = f"（{request.decided_by}）" if request.decided_by else ""
        raise Refused(f"这条请假已经{_STATE_WORDS.get(request.state, request.state)}{by}，"
                      "没有再改")
    if action == "approve":
        approve_in(session, app, request, actor, now)
    else:
        refuse_in(session, app, request, actor, now)


_STATE_WORDS = {"approved": "批准", "refused": "驳回", "cancelled": "取消"}


def _who(app: App, token: str, day: date) -> Person:
    """The roster person a line names, by email or by name (refused when two share it)."""
    token = token.strip().lower()
    if "@" in token:
        person = app.roster.person(token, day)
        if person is None:
            raise Refused(f"{token} 在 {day} 不在花名册上")
        return person
    emails = sorted(app.roster.names().get(token, set()))
    if not emails:
        raise Refused(f"花名册上没有叫“{token}”的人")
    if len(emails) > 1:
        raise Refused(f"花名册上有 {len(emails)} 个人叫“{token}”（{', '.join(emails)}），"
                      "请改用邮箱地址")
    person = app.roster.person(emails[0], day)
    if person is None:
        raise Refused(f"{token}（{emails[0]}）在 {day} 不在花名册上")
    return person


def _first_kind_end(subject: str, kinds: tuple[str, ...]) -> int | None:
    found = [(subject.index(w), -len(w), w) for w in kinds if w in subject]
    if not found:
        return None
    at, _, word = min(found)
    return at + len(word)


def _entries(parsed: ParsedMail, arrival: date, half_words: tuple[str, ...],
             kinds: tuple[str, ...] = ()) -> list[tuple[str, LeaveDates, str]]:
    """Each line that names someone then dates: (who, dates, the rest). Other lines
    (greetings, signatures, a dated line with no one before the date) are not entries."""
    out = []
    lines = own_text(parsed.body).splitlines()
    kind = _first_kind_end(parsed.subject, kinds)
    if kind is not None:
        # "病假 冯喆 11月27日": the subject after the kind is an entry too.
        lines.insert(0, parsed.subject[kind:])
    for raw in lines:
        line = unicodedata.normalize("NFKC", raw).strip()
        span = find_span(line)
        if span is None:
            continue
        who = line[:span[0]].strip(" :：,，、-—\t")
        dates = read_line(line[span[0]:span[1]] + " " + line[span[1]:], arrival, half_words)
        if not who or dates is None:
            continue
        out.append((who.split()[0], dates, line[span[1]:].strip(" :：,，、-—\t")))
    return out


def _register(session: Session, app: App, parsed: ParsedMail, arrival: date, sender: str,
              hr: bool, actor: Actor, now: datetime) -> tuple[Line, ...]:
    rules = app.policy.leave
    me = app.roster.person(sender, arrival)
    if not hr and (me is None or me.role != "supervisor"):
        raise Refused("只有主管（本组）或人事可以登记请假")
    found = _entries(parsed, arrival, rules.half_day_words,
                     tuple(w for k in rules.kinds for w in (k.name, *k.aliases)))
    if not found:
        raise Refused("没有找到请假条目；每行一条：姓名或邮箱 日期 [假别] [备注]")
    lines, problems = [], []
    for who, dates, rest in found:
        try:
            person = _who(app, who, dates.start)
            _authority(app, sender, hr, person.email, dates.start, dates.end)
        except Refused as exc:
            problems.append(str(exc))
            continue
        words = rest.split(maxsplit=1)
        kind = words[0] if words and rules.kind(words[0]) else None
        note = (words[1] if kind and len(words) > 1 else "" if kind else rest).strip()
        if any((x.email, x.start, x.end) == (person.email, dates.start, dates.end)
               for x in lines):
            continue    # the subject's entry written again in the body
        lines.append(Line(person.email, person.name, dates.start, dates.end,
                          kind or _kind_in(app, parsed.subject) or rules.default_kind,
                          dates.half_day, note=note))
    if problems:
        raise Refused("；".join(problems))
    for line in lines:
        entry = LeaveEntry(email=line.email, date_from=line.start, date_to=line.end,
                           kind=line.kind, half_day=line.half_day, state="pending",
                           source="mail", decided_by=None, message_id=actor.via,
                           note=line.note, created_at=now)
        session.add(entry)
        session.flush()
        approve_in(session, app, entry, actor, now)
    return tuple(lines)


def _correct(session: Session, app: App, parsed: ParsedMail, arrival: date, sender: str,
             hr: bool, actor: Actor, now: datetime) -> tuple[Line, ...]:
    if not hr:
        raise Refused("只有人事可以豁免或更正违规记录")
    found = _entries(parsed, arrival, ())
    if not found:
        raise Refused("没有找到更正条目；每行一条：姓名或邮箱 日期 [代码] 原因")
    wanted, problems = [], []
    for who, dates, rest in found:
        try:
            person = _who(app, who, dates.start)
        except Refused as exc:
            problems.append(str(exc))
            continue
        words = rest.split(maxsplit=1)
        code = words[0] if words and words[0] in CODES else None
        reason = (words[1] if code and len(words) > 1 else "" if code else rest).strip()
        if not reason:
            problems.append(f"{who} {dates.start}：没有写原因")
            continue
        wanted.append((person, dates.start, code, reason))
    if problems:
        raise Refused("；".join(problems))
    lines = []
    for person, day, code, reason in wanted:
        try:
            codes = excuse_in(session, person.email, day, code, reason, actor, now)
        except UserError:
            problems.append(f"{person.name} {day} 没有{code or ''}违规记录可以豁免")
            continue
        lines.append(Line(person.email, person.name, day, day, codes=tuple(codes),
                          note=reason))
    if problems:
        raise Refused("；".join(problems))   # the savepoint takes back what was applied
    return tuple(lines)
