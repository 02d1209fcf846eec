"""Judging one mail and settling a person's day.

This is the one place where a mail's outcome is decided: parsed or kept with its error,
classified, checked, and recorded. It reads the record and writes to it; it sends nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy.orm import Session

from .checks import Context, Facts, run_checks
from .checks.copy import check_weekly
from .checks.base import DAY_CODES
from .checks.deadline import earned_status
from .classify import REPORT_KINDS, Classification, classify
from .guard import parse_guarded
from .parse import ParsedMail, ParseError
from .periods import month_covered, week_covered
from .roster import Person
from .sections import extract
from .store import queries
from .store.models import Mail, Report

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    mail_id: int
    kind: str                # daily … other, or "unparsed"
    email: str | None
    report_date: date | None
    codes: tuple[str, ...]


def judge_mail(session: Session, mail: Mail, ctx: Context, now: datetime) -> Outcome:
    """Parse, classify, check and record one stored mail. Never raises for a bad mail."""
    raw = queries.raw_bytes(mail)
    try:
        parsed = parse_guarded(raw)
    except ParseError as exc:
        mail.state, mail.error, mail.kind = "unparsed", str(exc), "unparsed"
        log.warning("mail %s (%s) could not be parsed: %s", mail.id, mail.message_id or
                    mail.sha256[:12], exc)
        return Outcome(mail.id, "unparsed", None, None, ())
    mail.from_addr, mail.subject = parsed.from_addr, parsed.subject
    mail.to_addrs, mail.cc_addrs = list(parsed.to), list(parsed.cc)
    mail.warnings = list(parsed.warnings) or None
    if mail.truncated:
        mail.warnings = (mail.warnings or []) + [f"only the first part of {mail.size} bytes "
                                                 "was downloaded (size cap)"]
    cls = classify(parsed, mail.received_at, ctx.tz, ctx.roster, ctx.policy)
    mail.kind, mail.state = cls.kind, "processed"
    if cls.kind not in REPORT_KINDS:
        return Outcome(mail.id, cls.kind, cls.email, cls.report_date, ())

    if cls.kind != "daily":
        cls = covered_period(parsed, cls, ctx)
    extracted = extract(parsed.body, ctx.policy.daily)
    facts = Facts(parsed, cls, mail.received_at, extracted)
    is_daily = cls.kind == "daily"
    if is_daily:
        verdicts = run_checks(facts, ctx)
    elif cls.kind == "weekly":
        verdicts = check_weekly(facts, ctx)
    else:
        verdicts = []
    person = cls.person
    session.add(Report(
        mail_id=mail.id, kind=cls.kind, email=cls.email,
        name=person.name if person else parsed.from_name, region=person.region if person else None,
        supervisor=person.supervisor if person else None, report_date=cls.report_date,
        received_at=mail.received_at, subject=parsed.subject, message_id=parsed.message_id,
        earned_status=earned_status(facts, ctx) if is_daily else "not_due",
        fields=extracted.fields if is_daily else {}, metrics=extracted.metrics if is_daily else {},
        missing_sections=list(extracted.missing) if is_daily else []))
    for v in verdicts:
        if v.code not in DAY_CODES:
            queries.add_violation(session, email=cls.email, day=cls.report_date, code=v.code,
                                  detail=v.detail, mail_id=mail.id, now=now, scope="mail")
    session.flush()
    if is_daily:
        settle_day(session, cls.email, cls.report_date, ctx, now)
        session.flush()
    return Outcome(mail.id, cls.kind, cls.email, cls.report_date,
                   tuple(queries.codes_for_mail(session, mail.id)))


def covered_period(parsed: ParsedMail, cls: Classification, ctx: Context) -> Classification:
    """Weekly reports are dated by the Monday of the week they cover, month-end forms by the
    first day of their month; an indicator sheet belongs to the salesperson it names."""
    if cls.kind == "weekly":
        start = week_covered(parsed.subject, cls.subject_date, cls.arrival_date)
    else:
        start = month_covered(parsed.subject, cls.subject_date, cls.arrival_date,
                              early_means_previous=cls.kind == "assessment")
    email, person = cls.email, cls.person
    if cls.kind == "indicators" and (person is None or person.role != "sales"):
        named = _named_salesperson(parsed, ctx, start)
        if named is not None:
            email, person = named.email, named
    return replace(cls, report_date=start, email=email, person=person)


def _named_salesperson(parsed: ParsedMail, ctx: Context, day: date) -> Person | None:
    text = parsed.subject + " " + " ".join(a.filename for a in parsed.attachments)
    found = [p for p in ctx.roster.on(day, "sales") if p.name and p.name in text]
    return found[0] if len(found) == 1 else None


def settle_day(session: Session, email: str, day: date, ctx: Context, now: datetime) -> None:
    """Re-derive the day's verdicts from every version of the person's report.

    The first report (by arrival) earns the day's status, so a correction after the
    deadline adds no `late`; the latest version decides `missing_section`. A report that
    arrives after the day was closed replaces its `missing`.
    """
    versions = queries.reports_for(session, email, day, "daily")
    if not versions:
        return
    first, latest = versions[0], versions[-1]
    queries.replace_day_violations(session, email, day, DAY_CODES)
    if "deadline" in ctx.policy.daily.checks and first.earned_status == "late":
        local = first.received_at.astimezone(ctx.tz)
        queries.add_violation(session, email=email, day=day, code="late",
                              detail=f"received {local:%Y-%m-%d %H:%M}", mail_id=first.mail_id,
                              now=now, scope="day")
    if "sections" in ctx.policy.daily.checks:
        for heading in latest.missing_sections:
            queries.add_violation(session, email=email, day=day, code="missing_section",
                                  detail=heading, mail_id=latest.mail_id, now=now, scope="day")
