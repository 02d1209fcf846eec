"""Reviews (日清): a supervisor's reply to a daily report, or to their own digest of a day,
recorded against the reports it reviews.

A reply is a review when a Message-ID in its In-Reply-To or References is a daily report's
and the reply comes from that person's supervisor on the report date (the roster of that
day): one review of that report. When the Message-ID is the supervisor's own digest for
day D, the reply reviews every report of their team for D that had arrived by then
(`bulk`). A reply from anyone else is kept as mail and reviews nothing. The comment is the
reply's own text (parsing/replytext.py). Takes a Session; never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..app import Context
from ..store.models import OutboxMail, Report, Review


@dataclass(frozen=True)
class Reply:
    """What judging keeps of a reply to decide whether it is a review."""

    mail_id: int
    sender: str
    received_at: datetime          # aware: arrival on the company's server
    refs: tuple[str, ...]          # In-Reply-To first, then References newest first
    text: str                      # the reply's own text

    def as_dict(self) -> dict[str, Any]:
        return {"refs": list(self.refs), "text": self.text}


def reply_refs(in_reply_to: str | None, references: tuple[str, ...]) -> tuple[str, ...]:
    """The Message-IDs a reply answers, the one it answers directly first."""
    out = [in_reply_to] if in_reply_to else []
    out += [r for r in reversed(references) if r not in out]
    return tuple(out)


def digest_of(key: str) -> tuple[str, date] | None:
    """(supervisor, day) from a digest's outbox key `digest|<supervisor>|<YYYY-MM-DD>`."""
    parts = key.split("|")
    if len(parts) != 3 or parts[0] != "digest":
        return None
    try:
        return parts[1], date.fromisoformat(parts[2])
    except ValueError:
        return None


def record(session: Session, replies: list[Reply], ctx: Context) -> int:
    """Record the reviews these replies make; returns how many reviews were added."""
    if not replies:
        return 0
    refs = sorted({r for reply in replies for r in reply.refs})[:2000]
    reports = {r.message_id: r for r in session.execute(
        select(Report.id, Report.message_id, Report.email, Report.report_date,
               Report.received_at).where(Report.kind == "daily", Report.message_id.in_(refs))
        .order_by(Report.received_at, Report.id))}
    digests = {mid: found for mid, key in session.execute(
        select(OutboxMail.message_id, OutboxMail.dedupe_key).where(
            OutboxMail.kind == "digest", OutboxMail.message_id.in_(refs)))
        if (found := digest_of(key)) is not None}
    rows: list[dict[str, Any]] = []
    for reply in replies:
        for ref in reply.refs:
            if ref in reports:
                r = reports[ref]
                person = ctx.roster.person(r.email, r.report_date)
                if person is not None and person.supervisor == reply.sender and \
                        r.received_at <= reply.received_at:
                    rows.append(_row(reply, r, bulk=False))
                break
            if ref in digests:
                supervisor, day = digests[ref]
                if supervisor == reply.sender:
                    rows += [_row(reply, r, bulk=True)
                             for r in _team_reports(session, ctx, supervisor, day, reply)]
                break
    if not rows:
        return 0
    seen = {(m, r) for m, r in session.execute(select(Review.mail_id, Review.report_id).where(
        Review.mail_id.in_({r["mail_id"] for r in rows})))}
    fresh = [r for r in rows if (r["mail_id"], r["report_id"]) not in seen]
    if fresh:
        session.execute(Review.__table__.insert(), fresh)
    return len(fresh)


def _team_reports(session: Session, ctx: Context, supervisor: str, day: date,
                  reply: Reply) -> list[Any]:
    """Each team member's first report for `day` that had arrived before the reply."""
    team = [p.email for p in ctx.roster.on(day, "sales") if p.supervisor == supervisor]
    if not team:
        return []
    first: dict[str, Any] = {}
    for r in session.execute(select(Report.id, Report.message_id, Report.email,
                                    Report.report_date, Report.received_at).where(
            Report.kind == "daily", Report.report_date == day, Report.email.in_(team),
            Report.received_at <= reply.received_at).order_by(Report.received_at, Report.id)):
        first.setdefault(r.email, r)
    return list(first.values())


def _row(reply: Reply, report: Any, *, bulk: bool) -> dict[str, Any]:
    return {"mail_id": reply.mail_id, "report_id": report.id,
            "report_message_id": report.message_id, "email": report.email,
            "report_date": report.report_date, "reviewer": reply.sender,
            "reviewed_at": reply.received_at, "comment": reply.text, "bulk": bulk}
