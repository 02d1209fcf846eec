"""Reports, violations and unreadable mail in a date range, as JSON or CSV.

`sections` reads the range in one read transaction of its own and hands each part out as
a stream; `write_json` and `write_csv` write them record by record, so what `export`
holds does not grow with the company. `collect` keeps the whole document for callers that
want it (the demo). Nothing here writes to the database."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..app import App
from ..dates.periods import weekly_due
from ..store.models import Command, LeaveEntry, Mail, Report, Violation
from .clearing import iter_reviews
from .leave import Entry


Record = dict[str, object]
Sections = Iterator[tuple[str, Iterator[Record]]]
SECTIONS = ("reports", "violations", "leave", "reviews", "commands", "unparsed")


def sections(app: App, start: date, end: date, order: tuple[str, ...] = SECTIONS
             ) -> Sections:
    """Each part of the export by name, in `order`, each a stream of records. Read in one
    read transaction of its own; consume each part before asking for the next (the reports
    come from a server-side cursor on PostgreSQL), so that a day of a large company is
    never held whole: memory stays that of one person-day."""
    lo = datetime.combine(start, time.min, tzinfo=app.tz)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=app.tz)
    with app.read() as session:
        # The day verdicts (late, missing_section) go on the version that earned them:
        # read first, as small tuples, so the reports can stream past.
        by_mail: dict[int | None, set[str]] = {}
        by_day: dict[tuple[str, date], set[str]] = {}
        for email, day, code, scope, mail_id in session.execute(
                select(Violation.email, Violation.date, Violation.code, Violation.scope,
                       Violation.mail_id).where(Violation.date >= start, Violation.date <= end,
                                                Violation.withdrawn.is_(False))):
            if scope == "mail":
                by_mail.setdefault(mail_id, set()).add(code)
            else:
                by_day.setdefault((email, day), set()).add(code)
        parts: dict[str, Callable[[], Iterator[Record]]] = {
            "reports": lambda: _reports(app, session, start, end, by_mail, by_day),
            "violations": lambda: (
                {"email": v.email, "date": v.date.isoformat(), "code": v.code,
                 "detail": v.detail,
                 **({"withdrawn": True, "withdrawn_reason": v.withdrawn_reason}
                    if v.withdrawn else {})}
                for v in session.execute(select(Violation.__table__).where(
                    Violation.date >= start, Violation.date <= end)
                    .order_by(Violation.date, Violation.email, Violation.code, Violation.id)
                    .execution_options(yield_per=2000))),
            "leave": lambda: (Entry.of(e).as_json() for e in session.scalars(
                select(LeaveEntry).where(LeaveEntry.date_to >= start,
                                         LeaveEntry.date_from <= end)
                .order_by(LeaveEntry.date_from, LeaveEntry.email, LeaveEntry.id)).all()),
            "reviews": lambda: iter_reviews(session, start, end),
            "commands": lambda: (
                {"message_id": c.message_id, "sender": c.sender, "action": c.action,
                 "state": c.state, "reason": c.reason}
                for c in session.scalars(select(Command).where(
                    Command.at >= lo, Command.at < hi).order_by(Command.at, Command.id)).all()),
            # Columns, not Mail rows: the raw bytes of unreadable mail stay in the database.
            "unparsed": lambda: (
                {"message_id": m.message_id, "sha256": m.sha256, "mailbox": m.mailbox,
                 "received_at": m.received_at.isoformat(), "error": m.error}
                for m in session.execute(
                    select(Mail.message_id, Mail.sha256, Mail.mailbox, Mail.received_at,
                           Mail.error)
                    .where(Mail.state == "unparsed", Mail.received_at >= lo,
                           Mail.received_at < hi)
                    .order_by(Mail.received_at, Mail.id).execution_options(yield_per=2000))),
        }
        for name in order:
            yield name, parts[name]()


def _reports(app: App, session: Session, start: date, end: date,
             by_mail: dict[int | None, set[str]], by_day: dict[tuple[str, date], set[str]]
             ) -> Iterator[Record]:
    # Ordered by day and person, so each person-day's versions come together: its first
    # and latest version of each kind are known when the next person-day starts. Only the
    # columns written: each JSON column read is a decode per report.
    rows = session.execute(select(
        Report.id, Report.mail_id, Report.email, Report.report_date, Report.kind,
        Report.earned_status, Report.received_at, Report.subject, Report.fields,
        Report.metrics, Report.message_id).where(
        Report.report_date >= start, Report.report_date <= end)
        .order_by(Report.report_date, Report.email, Report.received_at, Report.id)
        .execution_options(yield_per=2000))
    group: list[Any] = []
    for r in rows:
        if group and (group[0].email != r.email or group[0].report_date != r.report_date):
            yield from _person_day(app, group, by_mail, by_day)
            group = []
        group.append(r)
    if group:
        yield from _person_day(app, group, by_mail, by_day)


_NONE: frozenset[str] = frozenset()


def _person_day(app: App, versions: list[Any], by_mail: dict[int | None, set[str]],
                by_day: dict[tuple[str, date], set[str]]) -> Iterator[Record]:
    first = versions[0]
    verdicts = by_day.get((first.email, first.report_date), _NONE)
    firsts: dict[str, int] = {}
    latest: dict[str, int] = {}
    if len(versions) > 1 or verdicts:
        for r in versions:
            firsts.setdefault(r.kind, r.id)
            latest[r.kind] = r.id
    for r in versions:
        status = r.earned_status
        if r.kind == "weekly":
            # A supervisor's weekly report is judged against its own due time (HR's mails
            # say 按时 or 迟交 by it), not the daily deadline its row was stored with.
            weekly = app.policy.weekly
            due = weekly_due(r.report_date, weekly.due_weekday, weekly.due_at, app.tz)
            status = "late" if r.received_at > due else "on_time"
        codes = by_mail.get(r.mail_id, _NONE)
        if verdicts:
            # Day verdicts belong to the versions that earned them: late to the first,
            # missing_section to the latest; listing them on each version would double
            # count.
            codes = codes | {c for c in verdicts
                             if (c == "late" and firsts[r.kind] == r.id) or
                             (c == "missing_section" and latest[r.kind] == r.id)}
        yield {"email": r.email, "report_date": r.report_date.isoformat(), "kind": r.kind,
               "status": status, "received_at": r.received_at.isoformat(),
               "subject": r.subject, "violations": sorted(codes) if codes else [],
               "fields": r.fields, "metrics": r.metrics, "message_id": r.message_id}


def collect(app: App, start: date, end: date) -> dict[str, list[Record]]:
    """The whole export as one document in memory (for a small range: the demo)."""
    return {name: list(records) for name, records in sections(app, start, end)}


def to_json(data: dict[str, list[Record]]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def write_json(parts: Iterable[tuple[str, Any]], out: TextIO) -> None:
    """The same text as `to_json` (and its newline), written record by record: each record
    is dumped on its own and indented to its place in the document. A part that is a
    string, a number or None is written as that value, any other as a list."""
    out.write("{")
    for n, (name, records) in enumerate(parts):
        out.write(("," if n else "") + f"\n  {json.dumps(name)}: ")
        if records is None or isinstance(records, (str, int, float)):
            out.write(json.dumps(records, ensure_ascii=False))
            continue
        empty = True
        for record in records:
            out.write(("[" if empty else ",") + "\n    " + indented(record, "    "))
            empty = False
        out.write("[]" if empty else "\n  ]")
    out.write("\n}\n")


_STRING = json.encoder.encode_basestring   # json's own (C) quoting when ensure_ascii=False


def indented(value: Any, pad: str = "") -> str:
    """`json.dumps(value, ensure_ascii=False, indent=2)` with `pad` after each line break,
    the same text. json's indenting encoder is written in Python and was most of a
    50,000-person `status --json`; this one lays out the containers and leaves the
    strings to json's C quoting. The common scalars are written in the containers' loop:
    a call per value was a third of the time."""
    kind = type(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = pad + "  "
        lines = []
        for key, item in value.items():
            if type(key) is not str:
                # json turns other keys into strings by rules of its own: let it.
                return json.dumps(value, ensure_ascii=False, indent=2).replace("\n",
                                                                               "\n" + pad)
            of = type(item)
            text = _STRING(item) if of is str else "null" if item is None else \
                indented(item, inner)
            lines.append(f"{inner}{_STRING(key)}: {text}")
        return "{\n" + ",\n".join(lines) + f"\n{pad}}}"
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        inner = pad + "  "
        return "[\n" + ",\n".join(
            inner + (_STRING(item) if type(item) is str else indented(item, inner))
            for item in value) + f"\n{pad}]"
    return _scalar(value, pad)


def _scalar(value: Any, pad: str) -> str:
    if isinstance(value, str):
        return _STRING(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float) and math.isfinite(value):
        return float.__repr__(value)
    if isinstance(value, (dict, list, tuple)):     # a subclass: json sees what it is
        return json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n" + pad)
    # NaN, infinities and anything json refuses: its own text, or its own TypeError.
    return json.dumps(value, ensure_ascii=False)


def to_csv(data: dict[str, list[Record]]) -> str:
    buf = io.StringIO()
    write_csv(((name, data.get(name, [])) for name in CSV_ORDER), buf)
    return buf.getvalue()


CSV_ORDER = ("reports", "violations", "unparsed", "leave", "reviews", "commands")


def write_csv(parts: Iterable[tuple[str, Iterable[Record]]], out: TextIO) -> None:
    """One CSV with a `record` column: report, violation, unparsed, leave, review or
    command, written row by row in the order `parts` gives (`CSV_ORDER`). A withdrawn
    violation has status `withdrawn` (it counts in no figure)."""
    cols = ["record", "email", "date", "kind", "status", "code", "received_at", "subject",
            "detail", "metrics", "message_id", "sha256", "mailbox", "error", "by"]
    w = csv.DictWriter(out, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    for name, records in parts:
        for row in records:
            w.writerow(_CSV_ROW[name](row))


def _csv_report(r: Record) -> dict[str, object]:
    return {"record": "report", "email": r["email"], "date": r["report_date"],
            "kind": r["kind"], "status": r["status"], "received_at": r["received_at"],
            "subject": r["subject"], "code": " ".join(r["violations"]),  # type: ignore[arg-type]
            "metrics": json.dumps(r["metrics"], ensure_ascii=False),
            "message_id": r["message_id"]}


def _csv_violation(v: Record) -> dict[str, object]:
    withdrawn = bool(v.get("withdrawn"))
    return {"record": "violation", "email": v["email"], "date": v["date"],
            "code": v["code"], "status": "withdrawn" if withdrawn else "",
            "detail": f"{v['detail']}; withdrawn: {v.get('withdrawn_reason') or ''}"
            if withdrawn else v["detail"]}


def _csv_unparsed(u: Record) -> dict[str, object]:
    return {"record": "unparsed", "received_at": u["received_at"],
            "message_id": u["message_id"], "sha256": u["sha256"],
            "mailbox": u["mailbox"], "error": u["error"]}


def _csv_leave(e: Record) -> dict[str, object]:
    return {"record": "leave", "email": e["email"], "date": e["from"],
            "kind": e["kind"], "status": e["state"],
            "detail": f"to {e['to']}" + ("; half day" if e.get("half_day") else "")
            + f"; source {e['source']}" + (f"; {e['note']}" if e.get("note") else ""),
            "message_id": e["message_id"], "by": e["decided_by"]}


def _csv_review(r: Record) -> dict[str, object]:
    return {"record": "review", "email": r["email"], "date": r["report_date"],
            "kind": "bulk" if r["bulk"] else "", "received_at": r["reviewed_at"],
            "detail": r["comment"], "message_id": r["report_message_id"],
            "by": r["reviewer"]}


def _csv_command(c: Record) -> dict[str, object]:
    return {"record": "command", "email": c["sender"], "kind": c["action"],
            "status": c["state"], "detail": c["reason"],
            "message_id": c["message_id"], "by": c["sender"]}


_CSV_ROW: dict[str, Callable[[Record], dict[str, object]]] = {
    "reports": _csv_report, "violations": _csv_violation, "unparsed": _csv_unparsed,
    "leave": _csv_leave, "reviews": _csv_review, "commands": _csv_command}
