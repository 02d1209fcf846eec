"""ParsedMail + roster → what the mail is, whose it is, and which day it reports on."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ..parsing.leavedates import read_dates
from ..parsing.parse import ParsedMail
from ..config.policy import Policy
from ..config.roster import Person, Roster

REPORT_KINDS = ("daily", "weekly", "assessment", "indicators")


@dataclass(frozen=True)
class Classification:
    kind: str                 # daily, weekly, assessment, indicators, reply, forward, auto,
                              # leave, registration, correction, other
    email: str                # the strictly parsed sender address, never the display name
    person: Person | None     # the roster row in force on the report date
    report_date: date         # local date the mail reports on
    subject_date: date | None
    arrival_date: date        # local date the company's server received it


# Subject dates, most specific first. Each yields (year or None, month, day).
_DATE_PATTERNS = [
    re.compile(r"(?<!\d)(?P<y>20\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?(?!\d)"),
    re.compile(r"(?<!\d)(?P<y>20\d{2})(?P<m>\d{2})(?P<d>\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?"),
    re.compile(r"(?<![\d.\-/])(?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?![\d.\-/])"),
]


def subject_date(subject: str, arrival: date) -> date | None:
    """The date written in the subject; a missing year is the one nearest the arrival."""
    text = unicodedata.normalize("NFKC", subject)
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            month, day = int(m.group("m")), int(m.group("d"))
            year_s = m.groupdict().get("y")
            years = [int(year_s)] if year_s else [arrival.year, arrival.year - 1, arrival.year + 1]
            candidates = []
            for year in years:
                try:
                    candidates.append(date(year, month, day))
                except ValueError:
                    continue
            if candidates:
                return min(candidates, key=lambda d: abs((d - arrival).days))
    return None


def _prefix_re(words: tuple[str, ...]) -> re.Pattern[str]:
    alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"^\s*(?:{alts})\s*(?:\[\d+\])?\s*[:：]", re.I)


def strip_prefixes(subject: str, policy: Policy) -> tuple[str, str | None]:
    """The subject without Re:/Fw: prefixes, and 'reply'/'forward' for the first one."""
    reply = _prefix_re(policy.daily.reply_prefixes)
    forward = _prefix_re(policy.daily.forward_prefixes)
    first: str | None = None
    rest = subject
    while True:
        m = reply.match(rest) or forward.match(rest)
        if not m:
            return rest.strip(), first
        if first is None:
            first = "reply" if reply.match(rest) else "forward"
        rest = rest[m.end():]


def is_auto(mail: ParsedMail, policy: Policy) -> bool:
    """Auto-replies, vacation notices and bounces (RFC 3834, DSNs, common client markers)."""
    if mail.auto_submitted and mail.auto_submitted != "no":
        return True
    if mail.precedence in ("auto_reply", "junk", "bulk"):
        return True
    if "X-Autoreply" in mail.other_headers or "X-Autorespond" in mail.other_headers:
        return True
    if mail.content_type == "multipart/report":
        return True
    local = mail.from_addr.split("@")[0]
    if local in policy.kinds.auto_senders:
        return True
    subject = mail.subject.strip().lower()
    return any(subject.startswith(p) for p in policy.kinds.auto_subject_prefixes)


def _matches(subject: str, patterns: tuple[str, ...]) -> bool:
    low = unicodedata.normalize("NFKC", subject).lower()
    return any(p in low for p in patterns)


def classify(mail: ParsedMail, received_at: datetime, tz: ZoneInfo, roster: Roster,
             policy: Policy) -> Classification:
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    arrival = received_at.astimezone(tz).date()
    subject, prefix = strip_prefixes(mail.subject, policy)
    found = subject_date(subject, arrival)
    report_date = found or arrival
    email = mail.from_addr
    person = roster.person(email, report_date) or roster.person(email, arrival)

    def result(kind: str) -> Classification:
        return Classification(kind, email, person, report_date, found, arrival)

    if is_auto(mail, policy):
        return result("auto")
    if prefix:
        return result(prefix)
    role = person.role if person else None
    for rule in policy.kinds.others:
        if _matches(subject, rule.patterns) and (not rule.attachment or mail.attachments):
            if not rule.from_role or role == rule.from_role or role is None:
                return result(rule.kind)
    if _matches(subject, policy.daily.patterns):
        # A report from an address not on the roster is still a report: it is kept and
        # flagged unknown_sender. A supervisor's or HR's own mail titled 日报 is not.
        if person is None or person.role == "sales":
            return result("daily")
    return result(_leave_kind(mail, subject, person, roster, policy, arrival) or "other")


# What a leave or correction mail is, by its subject and its sender's role; whether the
# sender may say it is decided when it is acted on (records/commands.py).
def _leave_kind(mail: ParsedMail, subject: str, person: Person | None, roster: Roster,
                policy: Policy, arrival: date) -> str | None:
    rules = policy.leave
    text = unicodedata.normalize("NFKC", subject)
    if any(w in text for w in rules.correction_words):
        return "correction"
    if any(w in text for w in rules.registration_words):
        return "registration"
    words = [w for k in rules.kinds for w in (k.name, *k.aliases) if w in text]
    if not words:
        return None
    if person is not None and person.role != "sales":
        # A kind followed by a person's name: a supervisor or HR registering it.
        after = text[min(text.index(w) for w in words):]
        named = any(name and name in after for name in roster.names())
        return "registration" if named else None
    dates = read_dates(text, mail.body, arrival, rules.half_day_words)
    return "leave" if dates is not None else None
