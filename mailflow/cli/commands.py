"""The `mailflow` command. The only place that configures logging and prints."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from datetime import date, timedelta
from pathlib import Path

from ..errors import ConfigError, UserError

if TYPE_CHECKING:
    from ..mails.letters import Queued

EPILOG = """\
Every command reads ./settings.toml unless --config names another file, and uses --now
as its clock when given (ISO 8601; without an offset it is company time), for back-fills,
tests and the demo.

Start here:
  mailflow check-config          is everything set up? (names file, key and fix)
  mailflow run                   the service: IDLE on every mailbox, schedule, sending
  mailflow poll --once           fetch new mail from every mailbox and judge it
  mailflow close-day --date D    after the deadline: who is missing on day D; digests
  mailflow send                  deliver the queued mail
  mailflow status --date D       each salesperson's day (--json for machines)
"""


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; write YYYY-MM-DD") from None


def _today(app) -> date:  # type: ignore[no-untyped-def]
    return app.now().astimezone(app.tz).date()


def _load(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ..app import load_app
    from ..records.leave import sync_sheet

    app = load_app(Path(args.config), args.now)
    added, cancelled = sync_sheet(app)   # HR's leave.csv, read like the roster
    if added or cancelled:
        _progress(f"{app.settings.company.leave}: {added} leave row(s) added, {cancelled} "
                  "removed row(s) cancelled")
    return app


def _actor(via: str = "cli"):  # type: ignore[no-untyped-def]
    import getpass

    from ..records.leave import Actor

    try:
        who = getpass.getuser()
    except (KeyError, OSError):   # no login name in a bare container
        who = "operator"
    return Actor(who, via)


def cmd_check_config(args: argparse.Namespace) -> int:
    from .configcheck import check_config

    problems, warnings = check_config(Path(args.config), args.now)
    for w in warnings:
        print(f"warning: {w}")
    for p in problems:
        print(f"error: {p}")
    if problems:
        print(f"{len(problems)} problem(s) found; mailflow will not run until they are fixed.")
        return 1
    print(f"{Path(args.config).resolve()}: settings, rules, roster and templates are valid.")
    if not args.connect:
        return 0
    from .configcheck import connect_all

    results = connect_all(Path(args.config))
    for ok, line in results:
        print(f"ok: {line}" if ok else f"error: {line}")
    failed = sum(not ok for ok, _ in results)
    if failed:
        print(f"{failed} of {len(results)} server(s) failed.")
    return 1 if failed else 0


def cmd_poll(args: argparse.Namespace) -> int:
    if not args.once:
        raise UserError("poll fetches once and exits: write `mailflow poll --once`")
    from ..service.pipeline import poll_mailboxes

    app = _load(args)
    if not app.settings.mailboxes:
        raise UserError(f"{app.settings.path}: no [[mailbox]] is configured; add one "
                        "(host, port, security, username, password_env, folders)")
    counts = poll_mailboxes(app, _progress)
    print(counts.summary())
    for err in counts.errors:
        print(f"error: {err}", file=sys.stderr)
    return 1 if counts.errors else 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from ..inbound.mailfiles import read_paths
    from ..service.pipeline import ingest

    app = _load(args)
    counts = ingest(app, read_paths([Path(p) for p in args.paths]), _progress)
    print(counts.summary())
    for err in counts.errors:
        print(f"error: {err}", file=sys.stderr)
    return 1 if counts.errors else 0


def cmd_close_day(args: argparse.Namespace) -> int:
    from ..records.days import close_day
    from ..mails.digests import queue_digests

    app = _load(args)
    day = args.date or _today(app) - timedelta(days=1)
    result = close_day(app, day)
    if not result.workday:
        print(f"{day} is not a workday: nobody is missing, no digests.")
        return 0
    again = " (already closed; nothing new)" if result.already_closed else ""
    print(f"{day} closed{again}: {len(result.missing)} missing"
          + (f": {', '.join(result.missing)}" if result.missing else ""))
    if app.settings.smtp is None:
        print("no [smtp] section in the settings: supervisor digests are not written.")
        return 0
    return _print_queued(queue_digests(app, day), "supervisor digests: ",
                         after=" `mailflow send` delivers them.")


def _print_queued(queued: Queued, before: str, noun: str = "", after: str = "") -> int:
    """What a queuing command says: the step's note (why nothing was queued), or how many
    mails it queued and how many were queued already."""
    print(queued.note or f"{before}{queued.added}{noun} queued, {queued.existing} already "
                         f"queued.{after}")
    return 0


def cmd_remind(args: argparse.Namespace) -> int:
    from ..mails.reminders import queue_reminders

    app = _load(args)
    day = args.date or _today(app)
    return _print_queued(queue_reminders(app, day), f"reminders for {day}: ",
                         after=" `mailflow send` delivers them.")


def _week(app, value: str | None):  # type: ignore[no-untyped-def]
    from ..dates.periods import monday_of, parse_week

    if value:
        return parse_week(value)
    return monday_of(_today(app)) - timedelta(days=7)


def _month(app, value: str | None):  # type: ignore[no-untyped-def]
    from ..dates.periods import parse_month, prev_month

    if value:
        return parse_month(value)
    today = _today(app)
    return prev_month(date(today.year, today.month, 1))


def _need_smtp(app) -> None:  # type: ignore[no-untyped-def]
    from ..mails.letters import sender

    sender(app)  # says clearly when there is no [smtp] to write mail from


def cmd_compile_weekly(args: argparse.Namespace) -> int:
    from ..mails.compliance import queue_hr_weekly
    from ..dates.periods import week_label
    from ..mails.weekly import compile_drafts

    app = _load(args)
    _need_smtp(app)
    monday = _week(app, args.week)
    drafts = compile_drafts(app, monday)
    hr = queue_hr_weekly(app, monday)
    print(f"{week_label(monday)}: weekly drafts {drafts.added} queued, {drafts.existing} already "
          f"queued; HR weekly compliance mail {hr.added} queued, {hr.existing} already queued. "
          "`mailflow send` delivers them.")
    return 0


def cmd_close_week(args: argparse.Namespace) -> int:
    from ..dates.periods import week_label
    from ..mails.weekly import close_week

    app = _load(args)
    monday = _week(app, args.week)
    found = close_week(app, monday)
    print(f"{week_label(monday)} closed: {len(found)} weekly report(s) late or missing"
          + (": " + ", ".join(found) if found else ""))
    return 0


def cmd_month_end(args: argparse.Namespace) -> int:
    from ..mails.monthly import queue_month_end
    from ..dates.periods import month_label

    app = _load(args)
    _need_smtp(app)
    first = _month(app, args.month) if args.month else date(_today(app).year, _today(app).month, 1)
    return _print_queued(queue_month_end(app, first), f"{month_label(first)}: month-end sheets ")


def cmd_close_month(args: argparse.Namespace) -> int:
    from ..mails.monthly import close_month
    from ..dates.periods import month_label

    app = _load(args)
    first = _month(app, args.month)
    found = close_month(app, first)
    print(f"{month_label(first)} closed: {len(found)} form(s) missing"
          + (": " + ", ".join(found) if found else ""))
    return 0


def cmd_hr_monthly(args: argparse.Namespace) -> int:
    from ..mails.compliance import queue_hr_monthly
    from ..dates.periods import month_label

    app = _load(args)
    _need_smtp(app)
    first = _month(app, args.month)
    return _print_queued(queue_hr_monthly(app, first),
                         f"{month_label(first)}: HR monthly compliance mail ")


def cmd_meeting(args: argparse.Namespace) -> int:
    from ..dates.deadlines import meeting_day
    from ..mails.meeting import queue_meeting_notice

    app = _load(args)
    _need_smtp(app)
    day = args.date or meeting_day(app, _today(app))
    return _print_queued(queue_meeting_notice(app, day), f"meeting of {day}: ", " notices")


def cmd_send(args: argparse.Namespace) -> int:
    from ..delivery.smtp import send_pending, waiting_line

    app = _load(args)
    report = send_pending(app, _progress)
    print(report.summary())
    if report.waiting is not None:
        print(f"not sent: {waiting_line(report.waiting, app.tz)}")
    elif report.problem:
        print(f"not sent: {report.problem}")
    for line in report.refused:
        print(f"refused recipient: {line}")
    for line in report.retry_reasons:
        print(f"not sent yet, will retry: {line}", file=sys.stderr)
    for line in report.failed:
        print(f"failed: {line}", file=sys.stderr)
    for line in report.unknown:
        print(f"unknown outcome, not resent: {line}", file=sys.stderr)
    for line in report.expired:
        print(f"expired, not sent (its time passed while it waited): {line}", file=sys.stderr)
    return 1 if report.failed or report.unknown or report.problem else 0


def _waiting_mail(app) -> str | None:  # type: ignore[no-untyped-def]
    from ..delivery.outbox import waiting
    from ..delivery.smtp import waiting_line

    with app.read.begin() as session:
        found = waiting(session)
    return waiting_line(found, app.tz) if found else None


def cmd_status(args: argparse.Namespace) -> int:
    from ..records.days import day_status

    app = _load(args)
    day = args.date or _today(app)
    people = day_status(app, day)
    if args.json:
        print(json.dumps({"date": day.isoformat(), "people": [p.as_json() for p in people]},
                         ensure_ascii=False, indent=2))
        return 0
    workday = "workday" if app.workdays.is_workday(day) else "not a workday"
    print(f"{day} ({workday}), {len(people)} salespeople")
    for p in people:
        when = p.received_at.astimezone(app.tz).strftime("%H:%M") if p.received_at else "-"
        print(f"  {p.region:<8} {p.name:<8} {p.email:<32} {p.status:<8} {when:<6} "
              f"{' '.join(p.violations)}")
    line = _waiting_mail(app)
    if line:
        print(f"outbox: {line}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..records.export import collect, to_csv, to_json

    app = _load(args)
    if args.to < args.from_:
        raise UserError(f"--to {args.to} is before --from {args.from_}")
    data = collect(app, args.from_, args.to)
    sys.stdout.write((to_json(data) + "\n") if args.format == "json" else to_csv(data))
    return 0


def cmd_leave(args: argparse.Namespace) -> int:
    from ..records.leave import add_leave, cancel_leave, list_leave

    app = _load(args)
    if args.leave_command == "add":
        entry_id = add_leave(app, args.email, args.from_, args.to, args.kind, args.note or "",
                             _actor())
        print(entry_id)
        return 0
    if args.leave_command == "cancel":
        entry = cancel_leave(app, args.id, _actor())
        print(f"leave {entry.id} of {entry.email} ({entry.kind} {entry.start}~{entry.end}) "
              "cancelled.")
        return 0
    if args.from_ and args.to and args.to < args.from_:
        raise UserError(f"--to {args.to} is before --from {args.from_}")
    entries = list_leave(app, args.from_, args.to)
    if args.json:
        print(json.dumps({"leave": [e.as_json() for e in entries]}, ensure_ascii=False,
                         indent=2))
        return 0
    for e in entries:
        half = " half day" if e.half_day else ""
        print(f"{e.id:>5} {e.email:<32} {e.start}~{e.end} {e.kind}{half} {e.state} "
              f"({e.source}, {e.decided_by or '-'}) {e.note}".rstrip())
    if not entries:
        print("no leave in that period.")
    return 0


def cmd_excuse(args: argparse.Namespace) -> int:
    from ..records.leave import excuse

    app = _load(args)
    codes = excuse(app, args.email, args.date, args.code, args.reason, _actor())
    print(f"{args.email} {args.date}: withdrawn {', '.join(codes)}.")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from ..records.leave import history

    app = _load(args)
    changes = history(app, args.email, args.date)
    if args.json:
        print(json.dumps({"changes": changes}, ensure_ascii=False, indent=2))
        return 0
    for c in changes:
        print(f"{c['at']} {c['by']} via {c['via']}: {c['what']}: {c['before'] or '-'} → "
              f"{c['after'] or '-'}")
    if not changes:
        print(f"no changes recorded for {args.email} on {args.date}.")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from ..service.runner import run_service

    if args.verbose == 0:
        logging.getLogger().setLevel(logging.INFO)
    app = _load(args)
    app.run_clock_from_now()
    if not app.settings.mailboxes:
        raise UserError(f"{app.settings.path}: no [[mailbox]] is configured; add one "
                        "(host, port, security, username, password_env, folders)")
    for box in app.settings.mailboxes:
        box.password()  # a missing secret is said now, not at the first reconnect
    return run_service(app)


def cmd_init(args: argparse.Namespace) -> int:
    from datetime import datetime

    from ..app import parse_now
    from ..config.init import init, service_steps

    folder = Path(args.dir)
    # The first sync reads mail from today on: the day of --now when it is given.
    now = parse_now(args.now)
    today = now.date() if now else datetime.now().date()
    for path in init(folder, today.isoformat()):
        print(f"wrote {path}")
    print(f"Next: fill in what is marked FILL IN in {folder / 'settings.toml'}, put your people "
          f"in {folder / 'roster.csv'}, export the password variables, and run "
          f"`mailflow --config {folder / 'settings.toml'} check-config`.")
    print(service_steps(folder))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    missing = [m for m in ("pymap", "aiosmtpd") if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(f"the demo's embedded servers need {' and '.join(missing)}: install "
                        "them with pip install 'mailflow[demo]' (-e '.[demo]' in a checkout), "
                        "then run mailflow demo again")
    from .demo import LAST_DAY, WEEK_START, run_demo

    return run_demo(Path(args.out), keep_running=args.keep_running, progress=_progress,
                    start=args.from_ or WEEK_START, end=args.to or LAST_DAY)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailflow", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Daily reports (日报) by mail, judged and recorded: fetch over IMAP, "
                    "check deadline, copy and format rules, keep the record, and write the "
                    "reminders, notices and supervisor digests people would write by hand.",
        epilog=EPILOG)
    parser.add_argument("--config", default="settings.toml", metavar="PATH",
                        help="settings file (default: ./settings.toml)")
    parser.add_argument("--now", metavar="ISO-8601",
                        help="the clock for this run, e.g. 2026-11-26T21:30+08:00")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str,
            description: str = "") -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=description or help_,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func)
        return p

    p = add("demo", cmd_demo, "the whole service on embedded IMAP and SMTP servers and seeded weeks of mail",
            "Starts an IMAP server (pymap) and an SMTP server (aiosmtpd) in-process on free "
            "loopback ports, delivers real-looking report mail for two regions from --from to --to "
            "(late, missing, wrong copy, gb2312, Outlook tables, xlsx, corrections, replies, an "
            "unknown sender) as the days go by, runs the same fetch, scheduler and sending "
            "code as `mailflow run`, prints who did what, and writes every delivered mail to "
            "DIR/<recipient>/ with an index.html listing each person's mail day by day.")
    p.add_argument("--out", default="mailflow-demo", metavar="DIR",
                   help="folder for the delivered mails, status and export files "
                        "(default: ./mailflow-demo): new, empty, or the demo's own earlier "
                        "output, whose files are replaced; any other folder is refused")
    p.add_argument("--keep-running", action="store_true",
                   help="leave the IMAP and SMTP servers up and print how to connect a mail "
                        "client")
    p.add_argument("--from", dest="from_", type=_date, metavar="YYYY-MM-DD",
                   help="first day of the seeded mail, a Monday (default 2026-11-16)")
    p.add_argument("--to", type=_date, metavar="YYYY-MM-DD",
                   help="last day the service runs (default 2026-12-03, past the month end)")

    p = add("init", cmd_init, "write a starter settings.toml, roster.csv, rules/ and templates/",
            "Writes a configuration for your company to fill in: settings.toml (servers, "
            "database, time zone), roster.csv with its header and example rows, and copies of "
            "rules/ and templates/ to edit. Refuses to overwrite existing files.")
    p.add_argument("dir", nargs="?", default=".", metavar="DIR",
                   help="where to write (default: the current folder)")

    add("run", cmd_run, "the service: watch every mailbox, run the schedule, send mail",
        "Watches every [[mailbox]] folder with IMAP IDLE (polling where IDLE is missing or "
        "silent) and judges new mail as it arrives; runs the schedule of rules/notify.toml in "
        "company time (reminders, close-day with the supervisors' digests), catching up on "
        "what was missed while it was down when that still makes sense; delivers the outbox. "
        "SIGTERM or Ctrl-C stops it cleanly. With --now, the clock starts there and runs.")

    p = add("check-config", cmd_check_config, "validate settings, rules, roster and templates",
            "Reads settings.toml, rules/, the roster CSV and templates/ and lists every problem "
            "with its file, key or line, and the fix. Exit status 1 when anything is wrong. "
            "Offline unless --connect is given.")
    p.add_argument("--connect", action="store_true",
                   help="also log in to every [[mailbox]] and the SMTP server and say, per "
                        "server, OK or why not")

    p = add("poll", cmd_poll, "fetch new mail from every mailbox and judge it",
            "Reads every [[mailbox]] folder read-only (EXAMINE, BODY.PEEK), from where the "
            "last poll stopped (by UID), records each mail before judging it, then judges "
            "it. Safe to interrupt and rerun: nothing is lost or counted twice.")
    p.add_argument("--once", action="store_true", help="fetch and process once, then exit")

    p = add("ingest", cmd_ingest, "run the pipeline over .eml files, an mbox or a Maildir",
            "Same pipeline as poll, for files: back-fills, or mail exported from a client. "
            "The arrival time is the topmost Received header's date, else the mbox \"From \" "
            "line's or the Maildir file name's delivery time, else the Date header, else the "
            "file's modification time.")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".eml file, mbox file, Maildir or folder of .eml")

    p = add("close-day", cmd_close_day, "judge a day: mark missing reports, queue digests (idempotent)",
            "After the deadline (and grace) of day D, every salesperson on the roster with no "
            "report for D is marked missing, and each supervisor's daily-clearing digest is "
            "queued (HR in Cc during the transition period). Running it again changes nothing.")
    p.add_argument("--date", type=_date, metavar="YYYY-MM-DD", help="the day (default: yesterday)")

    p = add("remind", cmd_remind, "queue reminders to salespeople with no report yet (idempotent)",
            "Before day D's deadline, queues one reminder to each salesperson on the roster "
            "with no report for D. After the deadline it queues nothing and says so.")
    p.add_argument("--date", type=_date, metavar="YYYY-MM-DD", help="the day (default: today)")

    p = add("compile-weekly", cmd_compile_weekly,
            "queue each supervisor's draft 销售区域周报 and HR's weekly compliance mail",
            "For week W: one draft weekly regional report per region to its supervisor (the "
            "submission grid, metrics with the change from the week before, the week's 问题与需求 "
            "and 竞品信息, next week's plans, an .xlsx of the same), and HR's compliance mail for "
            "the week (per region and person, trend, mail to look at, .csv and .xlsx). Idempotent.")
    p.add_argument("--week", metavar="YYYY-Www", help="the week (default: last week)")

    p = add("close-week", cmd_close_week,
            "judge the supervisors' weekly reports: weekly_late, weekly_missing (idempotent)")
    p.add_argument("--week", metavar="YYYY-Www", help="the week (default: last week)")

    p = add("month-end", cmd_month_end,
            "queue each supervisor's month-end reminder with the pre-filled 考核表 (idempotent)")
    p.add_argument("--month", metavar="YYYY-MM", help="the month (default: this month)")

    p = add("close-month", cmd_close_month,
            "record assessment_missing and indicators_missing for a month (idempotent)")
    p.add_argument("--month", metavar="YYYY-MM", help="the month (default: last month)")

    p = add("hr-monthly", cmd_hr_monthly, "queue HR's monthly compliance mail (idempotent)")
    p.add_argument("--month", metavar="YYYY-MM", help="the month (default: last month)")

    p = add("meeting", cmd_meeting,
            "queue the Saturday meeting notice to everyone (none for a statutory holiday)")
    p.add_argument("--date", type=_date, metavar="YYYY-MM-DD",
                   help="the meeting day (default: the next one)")

    add("send", cmd_send, "deliver what the outbox holds, then exit",
        "Sends every due outbox row over SMTP ([smtp] in the settings). A server that cannot "
        "be reached, fails TLS or refuses the login touches no mail: it waits, and send and "
        "status say how much and why. A reply or dropped connection before the end of the "
        "message is retried later with backoff; a 5xx to the message itself is recorded "
        "with the server's words. A row is never sent twice: one cut off after its whole "
        "message was sent, before the server confirmed it, is reported as 'unknown outcome' "
        "and not resent. Exit 1 if any failed or the server could not be used.")

    p = add("status", cmd_status, "each salesperson's status for a day",
            "on_time, late, missing or not_due for every salesperson on the roster that day, "
            "with the first report's arrival time and the rule breaks.")
    p.add_argument("--date", type=_date, metavar="YYYY-MM-DD", help="the day (default: today)")
    p.add_argument("--json", action="store_true", help="print JSON (the documented shape)")

    p = add("leave", cmd_leave, "add, list or cancel leave (请假)",
            "Leave entered by the operator is approved at once (source cli). A workday inside "
            "approved whole-day leave of an excused kind (rules/leave.toml) owes no report: "
            "status excused, no reminder, never missing. Leave for a day already closed "
            "withdraws its missing; nothing already sent is sent again.")
    leave_sub = p.add_subparsers(dest="leave_command", metavar="ACTION", required=True)
    q = leave_sub.add_parser("add", help="approved leave for one person; prints its id")
    q.add_argument("email")
    q.add_argument("--from", dest="from_", type=_date, required=True, metavar="YYYY-MM-DD")
    q.add_argument("--to", type=_date, metavar="YYYY-MM-DD",
                   help="the last day (default: --from)")
    q.add_argument("--kind", help="a kind or alias of rules/leave.toml (default: its first "
                                  "excused kind, 请假)")
    q.add_argument("--note", help="a note kept with the entry")
    q = leave_sub.add_parser("list", help="leave entries overlapping a period")
    q.add_argument("--from", dest="from_", type=_date, metavar="YYYY-MM-DD")
    q.add_argument("--to", type=_date, metavar="YYYY-MM-DD")
    q.add_argument("--json", action="store_true", help='print {"leave": [...]}')
    q = leave_sub.add_parser("cancel", help="cancel an entry; what it withdrew comes back")
    q.add_argument("id", type=int)

    p = add("excuse", cmd_excuse, "HR's correction: withdraw a person's violations of a day",
            "Withdraws every violation of that person and day, or only --code: kept in the "
            "record, marked withdrawn with the reason and who, counted in no figure. A "
            "withdrawn missing makes the day excused.")
    p.add_argument("email")
    p.add_argument("--date", type=_date, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--code", help="only this rule code (e.g. missing, late)")
    p.add_argument("--reason", required=True, help="why, as HR would write it")

    p = add("history", cmd_history, "every change to a person's day: who, when, how, before/after")
    p.add_argument("email")
    p.add_argument("--date", type=_date, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--json", action="store_true", help='print {"changes": [...]}')

    p = add("export", cmd_export, "reports, violations and unreadable mail in a date range")
    p.add_argument("--from", dest="from_", type=_date, required=True, metavar="YYYY-MM-DD",
                   help="first report date (inclusive)")
    p.add_argument("--to", type=_date, required=True, metavar="YYYY-MM-DD",
                   help="last report date (inclusive)")
    p.add_argument("--format", choices=("json", "csv"), default="json",
                   help="json: reports, violations and unreadable mail in one object (the "
                        "documented shape); csv: the same, one row per report, violation or unreadable mail (a `record` column says which; default: json)")
    return parser


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%Y-%m-%dT%H:%M:%SZ")
    logging.Formatter.converter = time.gmtime  # log times in UTC, whatever the host's zone
    if verbose < 3:
        logging.getLogger("imapclient").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return args.func(args)
    except ConfigError as exc:
        for p in exc.problems:
            print(f"error: {p}", file=sys.stderr)
        print("run `mailflow check-config` to see every problem.", file=sys.stderr)
        return 1
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; what was recorded is kept, the next run goes on from there.",
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`mailflow export … | head`): what it read is what it
        # wanted. Point stdout at nothing so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
