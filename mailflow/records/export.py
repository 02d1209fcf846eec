"""Reports, violations and unreadable mail in a date range, as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from ..app import App
from ..dates.periods import weekly_due
from ..store.models import Command, LeaveEntry, Mail, Report, Violation
from .clearing import reviews_between
from .leave import Entry


def collect(app: App, start: date, end: date) -> dict[str, list[dict[str, object]]]:
    with app.read() as session:
        # Rows, not ORM objects: a day of a 50,000-person company is 50,000 reports, and
        # an object with its identity-map state costs several times its row.
        reports = session.execute(select(Report.__table__).where(
            Report.report_date >= start, Report.report_date <= end)
            .order_by(Report.report_date, Report.email, Report.received_at, Report.id)).all()
        violations = session.execute(select(Violation.__table__).where(
            Violation.date >= start, Violation.date <= end)
            .order_by(Violation.date, Violation.email, Violation.code, Violation.id)).all()
        by_mail: dict[int | None, set[str]] = {}
        by_day: dict[tuple[str, date], set[str]] = {}
        for v in violations:
            if v.withdrawn:
                continue
            if v.scope == "mail":
                by_mail.setdefault(v.mail_id, set()).add(v.code)
            else:
                by_day.setdefault((v.email, v.date), set()).add(v.code)
        firsts: dict[tuple[str, date, str], int] = {}
        latest: dict[tuple[str, date, str], int] = {}
        for r in reports:
            firsts.setdefault((r.email, r.report_date, r.kind), r.id)
            latest[(r.email, r.report_date, r.kind)] = r.id
        lo = datetime.combine(start, time.min, tzinfo=app.tz)
        hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=app.tz)
        # Columns, not Mail rows: the raw bytes of unreadable mail stay in the database.
        leave = [Entry.of(e).as_json() for e in session.scalars(select(LeaveEntry).where(
            LeaveEntry.date_to >= start, LeaveEntry.date_from <= end)
            .order_by(LeaveEntry.date_from, LeaveEntry.email, LeaveEntry.id))]
        commands = [{"message_id": c.message_id, "sender": c.sender, "action": c.action,
                     "state": c.state, "reason": c.reason}
                    for c in session.scalars(select(Command).where(
                        Command.at >= lo, Command.at < hi).order_by(Command.at, Command.id))]
        bad = list(session.execute(select(Mail.message_id, Mail.sha256, Mail.mailbox,
                                          Mail.received_at, Mail.error)
                                   .where(Mail.state == "unparsed", Mail.received_at >= lo,
                                          Mail.received_at < hi)
                                   .order_by(Mail.received_at, Mail.id)))
    weekly = app.policy.weekly
    out_reports = []
    for r in reports:
        status = r.earned_status
        if r.kind == "weekly":
            # A supervisor's weekly report is judged against its own due time (HR's mails
            # say 按时 or 迟交 by it), not the daily deadline its row was stored with.
            due = weekly_due(r.report_date, weekly.due_weekday, weekly.due_at, app.tz)
            status = "late" if r.received_at > due else "on_time"
        codes = set(by_mail.get(r.mail_id, set()))
        # Day verdicts belong to the versions that earned them: late to the first,
        # missing_section to the latest; listing them on each version would double count.
        key = (r.email, r.report_date, r.kind)
        codes |= {c for c in by_day.get((r.email, r.report_date), set())
                  if (c == "late" and firsts[key] == r.id) or
                  (c == "missing_section" and latest[key] == r.id)}
        out_reports.append({
            "email": r.email, "report_date": r.report_date.isoformat(), "kind": r.kind,
            "status": status, "received_at": r.received_at.isoformat(),
            "subject": r.subject, "violations": sorted(codes), "fields": r.fields,
            "metrics": r.metrics, "message_id": r.message_id})
    return {
        "reports": out_reports,
        "violations": [{"email": v.email, "date": v.date.isoformat(), "code": v.code,
                        "detail": v.detail,
                        **({"withdrawn": True, "withdrawn_reason": v.withdrawn_reason}
                           if v.withdrawn else {})} for v in violations],
        "leave": leave,
        "reviews": reviews_between(app, start, end),
        "commands": commands,
        "unparsed": [{"message_id": m.message_id, "sha256": m.sha256, "mailbox": m.mailbox,
                      "received_at": m.received_at.isoformat(), "error": m.error}
                     for m in bad],
    }


def to_json(data: dict[str, list[dict[str, object]]]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def to_csv(data: dict[str, list[dict[str, object]]]) -> str:
    """One CSV with a `record` column: report, violation, unparsed, leave, review or
    command. A withdrawn violation has status `withdrawn` (it counts in no figure)."""
    buf = io.StringIO()
    cols = ["record", "email", "date", "kind", "status", "code", "received_at", "subject",
            "detail", "metrics", "message_id", "sha256", "mailbox", "error", "by"]
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    for r in data["reports"]:
        w.writerow({"record": "report", "email": r["email"], "date": r["report_date"],
                    "kind": r["kind"], "status": r["status"], "received_at": r["received_at"],
                    "subject": r["subject"], "code": " ".join(r["violations"]),  # type: ignore[arg-type]
                    "metrics": json.dumps(r["metrics"], ensure_ascii=False),
                    "message_id": r["message_id"]})
    for v in data["violations"]:
        withdrawn = bool(v.get("withdrawn"))
        w.writerow({"record": "violation", "email": v["email"], "date": v["date"],
                    "code": v["code"], "status": "withdrawn" if withdrawn else "",
                    "detail": f"{v['detail']}; withdrawn: {v.get('withdrawn_reason') or ''}"
                    if withdrawn else v["detail"]})
    for u in data["unparsed"]:
        w.writerow({"record": "unparsed", "received_at": u["received_at"],
                    "message_id": u["message_id"], "sha256": u["sha256"],
                    "mailbox": u["mailbox"], "error": u["error"]})
    for e in data.get("leave", []):
        w.writerow({"record": "leave", "email": e["email"], "date": e["from"],
                    "kind": e["kind"], "status": e["state"],
                    "detail": f"to {e['to']}" + ("; half day" if e.get("half_day") else "")
                    + f"; source {e['source']}" + (f"; {e['note']}" if e.get("note") else ""),
                    "message_id": e["message_id"], "by": e["decided_by"]})
    for r in data.get("reviews", []):
        w.writerow({"record": "review", "email": r["email"], "date": r["report_date"],
                    "kind": "bulk" if r["bulk"] else "", "received_at": r["reviewed_at"],
                    "detail": r["comment"], "message_id": r["report_message_id"],
                    "by": r["reviewer"]})
    for c in data.get("commands", []):
        w.writerow({"record": "command", "email": c["sender"], "kind": c["action"],
                    "status": c["state"], "detail": c["reason"],
                    "message_id": c["message_id"], "by": c["sender"]})
    return buf.getvalue()
