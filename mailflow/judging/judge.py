"""Judging recorded mail: the one place where a mail's outcome is decided.

Judging has two halves. `assess` reads one mail and decides — parsed or kept with its
error, classified, checked — without touching the database, so it can run on worker
processes. `store` writes a chunk of assessments in the caller's transaction and settles
each person's day from every version of their report. It sends nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from .checks import Context, Facts, Verdict, run_checks
from .checks.copy import check_weekly
from .checks.deadline import earned_status
from .classify import REPORT_KINDS, Classification, classify
from ..errors import UserError
from ..parsing.guard import parse_guarded
from ..parsing.parse import ParsedMail, ParseError
from ..dates.periods import month_covered, week_covered
from ..config.codes import DAY_CODES
from ..config.roster import Person
from .sections import extract
from . import reviews
from ..parsing.replytext import own_text
from ..store import leave, queries
from ..store.among import among
from ..store.models import Mail, Report, Violation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pending:
    """What judging needs of a recorded mail. `stored` is the mail as the mails table keeps
    it (compressed): the worker that parses it decompresses it, not the main process, and
    a third of the bytes cross to it."""

    id: int
    stored: bytes
    received_at: datetime      # aware
    truncated: bool
    size: int


@dataclass(frozen=True)
class Assessment:
    """One mail, judged alone. `state` is processed, unparsed, or waiting (the setup cannot
    judge it yet; it stays received)."""

    mail_id: int
    state: str
    kind: str
    error: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)   # columns of the mails row
    report: dict[str, Any] | None = None                   # a reports row, for report kinds
    verdicts: tuple[Verdict, ...] = ()                      # about this mail alone
    email: str | None = None
    report_date: date | None = None
    reply: reviews.Reply | None = None                      # an answer to earlier mail


@dataclass(frozen=True)
class Outcome:
    mail_id: int
    kind: str                # daily … other, or "unparsed"
    email: str | None
    report_date: date | None
    codes: tuple[str, ...]


def assess(mail: Pending, ctx: Context) -> Assessment:
    """Parse, classify and check one mail. Never raises: a mail that cannot be read, or
    that trips a fault here, comes back unparsed with the reason."""
    try:
        return _assess(mail, ctx)
    except UserError as exc:
        return Assessment(mail.id, "waiting", "received", error=str(exc))
    except Exception as exc:  # the per-mail boundary: keep the mail, record why, go on
        log.exception("mail %s could not be judged", mail.id)
        return Assessment(mail.id, "unparsed", "unparsed",
                          error=f"internal error while judging: {type(exc).__name__}: {exc}")


def _assess(mail: Pending, ctx: Context) -> Assessment:
    try:
        parsed = parse_guarded(queries.decompress(mail.stored))
    except ParseError as exc:
        log.warning("mail %s could not be parsed: %s", mail.id, exc)
        return Assessment(mail.id, "unparsed", "unparsed", error=str(exc))
    warnings = list(parsed.warnings)
    if mail.truncated:
        warnings.append(f"only the first part of {mail.size} bytes was downloaded (size cap)")
    cls = classify(parsed, mail.received_at, ctx.tz, ctx.roster, ctx.policy)
    headers = {"from_addr": parsed.from_addr, "subject": parsed.subject,
               "to_addrs": list(parsed.to), "cc_addrs": list(parsed.cc),
               "warnings": warnings or None}
    if cls.kind not in REPORT_KINDS:
        refs = reviews.reply_refs(parsed.in_reply_to, parsed.references)
        # A reply may be a supervisor's review (日清); whose it is is decided when stored.
        reply = reviews.Reply(mail.id, cls.email, mail.received_at, refs, own_text(parsed.body)) \
            if refs and cls.kind in ("reply", "other") else None
        return Assessment(mail.id, "processed", cls.kind, headers=headers, email=cls.email,
                          report_date=cls.report_date, reply=reply)
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
    report = dict(
        mail_id=mail.id, kind=cls.kind, email=cls.email,
        name=person.name if person else parsed.from_name, region=person.region if person else None,
        supervisor=person.supervisor if person else None, report_date=cls.report_date,
        received_at=mail.received_at, subject=parsed.subject, message_id=parsed.message_id,
        earned_status=earned_status(facts, ctx) if is_daily else "not_due",
        fields=extracted.fields if is_daily else {}, metrics=extracted.metrics if is_daily else {},
        missing_sections=list(extracted.missing) if is_daily else [])
    return Assessment(mail.id, "processed", cls.kind, headers=headers, report=report,
                      verdicts=tuple(v for v in verdicts if v.code not in DAY_CODES),
                      email=cls.email, report_date=cls.report_date)


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


# -- writing -------------------------------------------------------------------------

def store(session: Session, chunk: list[Assessment], ctx: Context,
          now: datetime) -> list[Outcome]:
    """Write a chunk of assessments and settle the days they touch, in set-wise statements
    (a handful per chunk, not per mail). Mail another process judged first is skipped."""
    ids = [a.mail_id for a in chunk if a.state != "waiting"]
    if not ids:
        return []
    open_ids = set(session.scalars(
        select(Mail.id).where(among(Mail.id, ids), Mail.state == "received")
        .with_for_update(skip_locked=True)))
    chunk = [a for a in chunk if a.mail_id in open_ids]
    if not chunk:
        return []
    mails = Mail.__table__
    session.execute(update(mails).where(mails.c.id == bindparam("mid")),
                    [{"mid": a.mail_id, "state": a.state, "kind": a.kind, "error": a.error,
                      **_header_columns(a)} for a in chunk])
    reports = [a.report for a in chunk if a.report is not None]
    if reports:
        session.execute(Report.__table__.insert(), reports)
    rows = [_violation(a.email, a.report_date, v.code, v.detail, a.mail_id, now, "mail")
            for a in chunk if a.email and a.report_date for v in a.verdicts]
    days = {(r["email"], r["report_date"]) for r in reports if r["kind"] == "daily"}
    day_rows = settle_days(session, days, ctx, now)
    queries.insert_violations(session, rows + day_rows)
    reviews.record(session, [a.reply for a in chunk if a.reply is not None], ctx)
    by_mail: dict[int, set[str]] = defaultdict(set)
    for row in rows + day_rows:
        by_mail[row["mail_id"]].add(row["code"])
    return [Outcome(a.mail_id, a.kind, a.email, a.report_date,
                    tuple(sorted(by_mail.get(a.mail_id, ())))) for a in chunk]


_HEADER_COLUMNS = ("from_addr", "subject", "to_addrs", "cc_addrs", "warnings")


def _header_columns(a: Assessment) -> dict[str, Any]:
    return {k: a.headers.get(k) for k in _HEADER_COLUMNS}


def _violation(email: str, day: date, code: str, detail: str, mail_id: int | None,
               now: datetime, scope: str) -> dict[str, Any]:
    return {"key": queries.violation_key(code, email, day, scope, mail_id, detail),
            "email": email, "date": day, "code": code, "scope": scope, "detail": detail,
            "mail_id": mail_id, "recorded_at": now}


def settle_days(session: Session, days: set[tuple[str, date]], ctx: Context,
                now: datetime) -> list[dict[str, Any]]:
    """Re-derive each (person, day)'s verdicts from every version of the report.

    The first report (by arrival) earns the day's status, so a correction after the
    deadline adds no `late`; the latest version decides `missing_section`. A report that
    arrives after the day was closed replaces its `missing`. Returns the rows to insert;
    the day's old verdicts are deleted here.
    """
    if not days:
        return []
    versions: dict[tuple[str, date], list[Any]] = defaultdict(list)
    violations = Violation.__table__
    old: list[int] = []
    pairs = sorted(days)
    for start in range(0, len(pairs), 400):  # bound the statement's parameter count
        part = set(pairs[start:start + 400])
        # People among … and days among …, the other pairs dropped here: SQLite answers
        # (email, date) IN (pairs) by scanning every report, which grew with the backlog.
        emails, dates = {e for e, _ in part}, {d for _, d in part}
        for row in session.execute(
                select(Report.email, Report.report_date, Report.mail_id, Report.received_at,
                       Report.earned_status, Report.missing_sections)
                .where(Report.kind == "daily", among(Report.email, emails),
                       among(Report.report_date, dates))
                .order_by(Report.received_at, Report.id)):
            if (row.email, row.report_date) in part:
                versions[(row.email, row.report_date)].append(row)
        # The days' old verdicts, read the same way and deleted by id: most new reports'
        # days have none, and a DELETE per pair cost more than judging the mail did.
        old += [row.id for row in session.execute(
            select(violations.c.id, violations.c.email, violations.c.date).where(
                violations.c.scope == "day", violations.c.withdrawn.is_(False),
                among(violations.c.code, DAY_CODES), among(violations.c.email, emails),
                among(violations.c.date, dates))) if (row.email, row.date) in part]
    for start in range(0, len(old), 500):
        session.execute(delete(violations).where(among(violations.c.id, old[start:start + 500])))
    out: list[dict[str, Any]] = []
    checks = ctx.policy.daily.checks
    # On a day of leave no report is due: one that still arrives is kept, never late.
    excused = leave.cover(session, ctx.policy.leave, ctx.workdays,
                          min(d for _, d in pairs), max(d for _, d in pairs),
                          {e for e, _ in pairs}).excused
    for (email, day), found in versions.items():
        first, latest = found[0], found[-1]
        if "deadline" in checks and first.earned_status == "late" and \
                (email, day) not in excused:
            local = first.received_at.astimezone(ctx.tz)
            out.append(_violation(email, day, "late", f"received {local:%Y-%m-%d %H:%M}",
                                  first.mail_id, now, "day"))
        if "sections" in checks:
            out += [_violation(email, day, "missing_section", heading, latest.mail_id, now, "day")
                    for heading in latest.missing_sections]
    return out
