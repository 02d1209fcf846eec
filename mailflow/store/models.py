"""SQLAlchemy models. Unique keys make every step idempotent: a mail, a location, a
report, a violation and a day's close can each be written once only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, \
    Text, UniqueConstraint
from sqlalchemy import false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import UTCDateTime


class Base(DeclarativeBase):
    pass


class Mail(Base):
    """Every fetched mail, recorded before it is judged, kept whether or not it parses."""

    __tablename__ = "mails"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(300), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    mailbox: Mapped[str] = mapped_column(String(100))
    folder: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16), index=True)  # received, processed, unparsed
    kind: Mapped[str | None] = mapped_column(String(16))
    from_addr: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    to_addrs: Mapped[list[str] | None] = mapped_column(JSON)
    cc_addrs: Mapped[list[str] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    warnings: Mapped[list[str] | None] = mapped_column(JSON)
    raw: Mapped[bytes] = mapped_column(LargeBinary)  # zlib-compressed original bytes
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MailLocation(Base):
    """Where a mail was seen: the same Message-ID in two mailboxes is one mail, two places."""

    __tablename__ = "mail_locations"
    __table_args__ = (UniqueConstraint("mailbox", "folder", "uidvalidity", "uid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mail_id: Mapped[int] = mapped_column(ForeignKey("mails.id"), index=True)
    mailbox: Mapped[str] = mapped_column(String(100))
    folder: Mapped[str] = mapped_column(String(300))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)


class FolderState(Base):
    __tablename__ = "folder_states"
    __table_args__ = (UniqueConstraint("mailbox", "folder"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(100))
    folder: Mapped[str] = mapped_column(String(300))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Report(Base):
    """One version of a report. Corrections add rows; none is overwritten."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_person_day", "email", "report_date", "kind"),
                      Index("ix_reports_day", "report_date", "kind"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mail_id: Mapped[int] = mapped_column(ForeignKey("mails.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    supervisor: Mapped[str | None] = mapped_column(String(320))
    report_date: Mapped[date] = mapped_column(Date)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    subject: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(300))
    earned_status: Mapped[str] = mapped_column(String(16))  # this version judged alone
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    missing_sections: Mapped[list[str]] = mapped_column(JSON)


class Violation(Base):
    """A rule break, dated by the report date it concerns. `key` is its identity."""

    __tablename__ = "violations"
    __table_args__ = (Index("ix_violations_person_day", "email", "date"),
                      Index("ix_violations_day_code", "date", "code"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    date: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(8))  # day: re-judged per day; mail: stays
    detail: Mapped[str] = mapped_column(Text, default="")
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("mails.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Withdrawn by leave or HR's correction: kept with the reason, counted in no figure.
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_by: Mapped[str | None] = mapped_column(String(320))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LeaveEntry(Base):
    """One leave entry: the dates as written (`from`/`to`, inclusive), its kind and where
    it came from (mail, csv, cli). Never deleted: a cancelled entry keeps its row."""

    __tablename__ = "leave_entries"
    __table_args__ = (Index("ix_leave_person_dates", "email", "date_from", "date_to"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))
    half_day: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16))  # pending, approved, refused, cancelled
    source: Mapped[str] = mapped_column(String(8))  # mail, csv, cli
    decided_by: Mapped[str | None] = mapped_column(String(320))
    message_id: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Change(Base):
    """Every change a person or a mail made to the record of a person's day: who, when,
    through what (a Message-ID, csv or cli), what, and the state before and after."""

    __tablename__ = "changes"
    __table_args__ = (Index("ix_changes_person_day", "email", "date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(320))
    via: Mapped[str] = mapped_column(String(300))
    what: Mapped[str] = mapped_column(Text)
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(String(320))
    date: Mapped[date] = mapped_column(Date)


class Command(Base):
    """A mail that asks the record to change (a leave request, an approval or refusal, a
    registration, a correction), kept whether it was applied or refused. One row per
    Message-ID: the same mail seen in two mailboxes, or replayed, acts once."""

    __tablename__ = "commands"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("mails.id"), index=True)
    sender: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(16))   # request, approve, refuse, register, correct
    state: Mapped[str] = mapped_column(String(16))    # applied, refused
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Review(Base):
    """A supervisor's review of one daily report (日清): their reply to it, or to their own
    digest of its day (`bulk`). `reviewed_at` is when the reply reached the company's
    server; `comment` is the reply's own text. One row per reply and report."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("mail_id", "report_id"),
                      Index("ix_reviews_person_day", "email", "report_date"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mail_id: Mapped[int] = mapped_column(ForeignKey("mails.id"), index=True)   # the reply
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    report_message_id: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str] = mapped_column(String(320))
    report_date: Mapped[date] = mapped_column(Date)
    reviewer: Mapped[str] = mapped_column(String(320))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")
    bulk: Mapped[bool] = mapped_column(Boolean, default=False)


class HrAssistEnd(Base):
    """A region whose daily clearing met the bar long enough (`hr_assist_until = "auto"`):
    from `from_day` its digests go without HR in Cc. Written once per region."""

    __tablename__ = "hr_assist_ends"
    region: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_week: Mapped[date] = mapped_column(Date)       # Monday of the streak's last week
    from_day: Mapped[date] = mapped_column(Date)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DayClose(Base):
    __tablename__ = "day_closes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    missing: Mapped[int] = mapped_column(Integer, default=0)


class OutboxMail(Base):
    """One outgoing mail. `dedupe_key` (kind, recipient, period) makes queuing it twice a
    no-op; `state` moves pending → sending → sent. `data_at` is set (and committed) just
    before the end of the message's DATA is written: a row found in `sending` after a
    crash without it was never delivered and goes back to pending; one with it becomes
    `unknown`: it is reported, never sent again on its own."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    to_addrs: Mapped[list[str]] = mapped_column(JSON)
    cc_addrs: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)   # lz4 on PostgreSQL (migration 0011)
    state: Mapped[str] = mapped_column(String(16))  # pending, sending, sent, failed, unknown, expired
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    refused: Mapped[dict[str, str] | None] = mapped_column(JSON)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(200))   # the sender: name:pid:nonce
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # After this a pending row is of no use (a reminder past its deadline): `expired`.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An unknown outcome stays listed until someone resolves it (`mailflow outbox resend`,
    # `mark-sent`) or `[smtp] on_unknown = "resend"` sends it once more.
    unknown_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)


class ServerProblem(Base):
    """Why a server cannot be used now (`kind`: login, tls, connect), in the words to show;
    `since` is the first failure of this kind, the row is deleted when the server works.
    Also a mailbox folder that cannot be fetched ("imap:<mailbox>/<folder>", kind imap) and
    a job's run that failed ("job:<job>:<period>", kind job), for `mailflow health`."""

    __tablename__ = "server_problems"
    server: Mapped[str] = mapped_column(String(100), primary_key=True)   # "smtp", "imap:…", "job:…"
    kind: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobRun(Base):
    """A scheduled job for one period (a day, a week) ran: each runs once, and a run
    missed while the service was down is found at start."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(32))
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(Text, default="")


class Lease(Base):
    """Work only one instance may do at a time (a mailbox folder, a job's run): held by
    `holder` until `expires_at`, renewed while the work goes on."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
