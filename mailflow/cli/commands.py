"""The handler of each `mailflow` command: load the setup, call the step, print what it
did. The parser that maps the command line to them, logging and the error boundary are in
parser.py."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
from typing import TYPE_CHECKING
from datetime import date, datetime, timedelta
from pathlib import Path

from ..errors import UserError

if TYPE_CHECKING:
    from ..mails.letters import Queued

def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _today(app) -> date:  # type: ignore[no-untyped-def]
    return app.now().astimezone(app.tz).date()


def _settle_gc() -> None:
    """What is loaded now (the roster, rules, templates, the libraries) lives as long as
    the process. Python's full collections walked all of it again and again: a
    50,000-person roster is a few hundred thousand objects, and reading a large day made
    a collection every few thousand rows. Frozen, it is not walked; the young generation
    is collected after 50,000 new objects instead of 700 (rows are freed by their
    reference counts, not by collections). No collection first: it would walk everything
    once more (50 ms at 50,000 people). Only for a command that is its own process
    (`main` without argv): a longer process that runs commands one after another (the
    tests) leaves to its collector the engines they leave."""
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def _load(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ..app import load_app
    from ..records.leave import sync_sheet

    app = load_app(Path(args.config), args.now)
    if getattr(args, "own_process", False):
        _settle_gc()
    added, cancelled = sync_sheet(app)   # HR's leave.csv, read like the roster
    if added or cancelled:
        _progress(f"{app.settings.company.leave}: {added} leave row(s) added, {cancelled} "
                  "removed row(s) cancelled")
    return app


def _actor(args: argparse.Namespace, via: str = "cli"):  # type: ignore[no-untyped-def]
    """Who makes a change from the command line: --by (an email on the roster shows as that
    person's name in the mails), else the login name."""
    import getpass

    from ..records.leave import Actor

    if getattr(args, "by", None):
        return Actor(args.by.strip(), via)
    try:
        who = getpass.getuser()
    except (KeyError, OSError):   # no login name in a bare container
        who = "operator"
    return Actor(who, via)


def _email_of(app, token: str) -> str:  # type: ignore[no-untyped-def]
    """A person named on the command line by email, or by their roster name when only one
    person has it (as correction and registration mails may)."""
    token = token.strip()
    if "@" in token:
        return token.lower()
    emails = sorted(app.roster.names().get(token.lower(), set()))
    if len(emails) == 1:
        return emails[0]
    if emails:
        raise UserError(f"{len(emails)} people on the roster are called {token} "
                        f"({', '.join(emails)}); give the email instead")
    raise UserError(f"no one on the roster ({app.settings.company.roster}) is called {token}; "
                    "give the name as the roster has it, or the email")


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


SHOW_MISSING = 20   # names close-day prints; a large company misses thousands a day


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
    shown = result.missing[:SHOW_MISSING]
    more = len(result.missing) - len(shown)
    print(f"{day} closed{again}: {len(result.missing)} missing"
          + (f": {', '.join(shown)}" if shown else "")
          + (f" and {more} more (`mailflow status --date {day}` lists everyone)"
             if more else ""))
    if app.settings.smtp is None:
        print("no [smtp] section in the settings: supervisor digests are not written.")
        return 0
    return _print_queued(queue_digests(app, day), "supervisor digests: ",
                         after=" `mailflow send` delivers them.")


def cmd_close_clearing(args: argparse.Namespace) -> int:
    from ..dates.deadlines import previous_workday
    from ..records.clearing import close_clearing

    app = _load(args)
    day = args.date or previous_workday(app, _today(app)) or _today(app) - timedelta(days=1)
    result = close_clearing(app, day)
    if not result.workday:
        print(f"{day} is not a workday: no daily clearing is due.")
        return 0
    print(f"daily clearing of {day}: {len(result.flagged)} supervisor(s) not cleared on time"
          + "".join(f"\n  {sup}: {n} of {total} unreviewed" for sup, n, total in result.flagged))
    return 0


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
    for line in report.resent:
        print(f"unknown outcome, sent once more with its Message-ID ([smtp] on_unknown = "
              f"\"resend\"): {line}")
    _print_unresolved(app, report.unresolved)
    for line in report.expired:
        print(f"expired, not sent (its time passed while it waited): {line}", file=sys.stderr)
    # An unknown outcome nobody has resolved keeps the exit status at 1, so a send from
    # cron keeps saying so until someone looks.
    return 1 if report.failed or report.unresolved or report.problem else 0


def _print_unresolved(app, rows) -> None:  # type: ignore[no-untyped-def]
    """Each delivery whose outcome is unknown, until someone resolves it."""
    if not rows:
        return
    print(f"unknown outcome, unresolved: {len(rows)} mail(s) may or may not have arrived; "
          "check the recipient's mailbox, then `mailflow outbox resend ID` or "
          "`mailflow outbox mark-sent ID`", file=sys.stderr)
    for row in rows:
        print(f"  {row.line(app.tz)}", file=sys.stderr)


def _unresolved(app):  # type: ignore[no-untyped-def]
    from ..delivery.outbox import unresolved

    with app.read.begin() as session:
        return unresolved(session)


def _waiting_mail(app) -> str | None:  # type: ignore[no-untyped-def]
    from ..delivery.outbox import waiting
    from ..delivery.smtp import waiting_line

    with app.read.begin() as session:
        found = waiting(session)
    return waiting_line(found, app.tz) if found else None


def cmd_status(args: argparse.Namespace) -> int:
    from ..records.days import iter_day_status
    from ..records.export import write_json

    app = _load(args)
    day = args.date or _today(app)
    unknown = _unresolved(app)
    if args.json:
        # Written person by person: the document of a large company's day is not held.
        write_json([("date", day.isoformat()),
                    ("people", (p.as_json() for p in iter_day_status(app, day))),
                    ("unknown_deliveries", [row.as_json() for row in unknown])], sys.stdout)
        return 0
    people = list(iter_day_status(app, day))
    workday = "workday" if app.workdays.is_workday(day) else "not a workday"
    print(f"{day} ({workday}), {len(people)} salespeople")
    for p in people:
        when = p.received_at.astimezone(app.tz).strftime("%H:%M") if p.received_at else "-"
        print(f"  {p.region:<8} {p.name:<8} {p.email:<32} {p.status:<8} {when:<6} "
              f"{' '.join(p.violations)}")
    line = _waiting_mail(app)
    if line:
        print(f"outbox: {line}")
    if unknown:
        print(f"outbox: {len(unknown)} mail(s) with unknown outcome, unresolved: "
              + "; ".join(row.line(app.tz) for row in unknown))
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    from ..delivery import outbox

    app = _load(args)
    if args.outbox_command == "list":
        states = tuple(args.state or ())
        with app.read.begin() as session:
            rows = outbox.listed(session, states)
        if args.json:
            print(json.dumps({"outbox": [row.as_json() for row in rows]}, ensure_ascii=False,
                             indent=2))
            return 0
        for row in rows:
            since = row.unknown_since or row.queued_at
            print(f"#{row.id:<6} {row.state:<8} {row.kind:<14} {row.period:<12} "
                  f"{since.astimezone(app.tz):%Y-%m-%d %H:%M}  {', '.join(row.to_addrs)}  "
                  f"<{row.message_id}>" + (f"  ({row.resolution})" if row.resolution else ""))
        print(f"{len(rows)} mail(s)" + (f" in state {', '.join(states)}" if states else ""))
        return 0
    action = args.outbox_command
    try:
        with app.db.begin() as session:
            row = outbox.resolve(session, args.id, action, _actor(args).by, app.now())
    except LookupError:
        raise UserError(f"there is no outbox mail #{args.id}; `mailflow outbox list` shows "
                        "them") from None
    except ValueError as exc:
        raise UserError(f"outbox mail #{args.id} is {exc}, not unknown or failed: only a "
                        "mail whose delivery is unknown or failed can be resolved") from None
    if action == "resend":
        print(f"#{row.id} <{row.message_id}> is queued again with the same Message-ID; "
              "`mailflow send` (or the running service) delivers it")
    else:
        print(f"#{row.id} <{row.message_id}> recorded as sent ({row.resolution})")
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    from .health import health

    return health(_load(args), args.json)


def cmd_export(args: argparse.Namespace) -> int:
    from ..records.export import CSV_ORDER, sections, write_csv, write_json

    app = _load(args)
    if args.to < args.from_:
        raise UserError(f"--to {args.to} is before --from {args.from_}")
    if args.format == "json":
        write_json(sections(app, args.from_, args.to), sys.stdout)
    else:
        write_csv(sections(app, args.from_, args.to, CSV_ORDER), sys.stdout)
    return 0


def cmd_leave(args: argparse.Namespace) -> int:
    from ..records.leave import add_leave, cancel_leave, list_leave

    app = _load(args)
    if args.leave_command == "add":
        args.email = _email_of(app, args.email)
        entry_id = add_leave(app, args.email, args.from_, args.to, args.kind, args.note or "",
                             _actor(args))
        print(entry_id)
        return 0
    if args.leave_command == "cancel":
        entry = cancel_leave(app, args.id, _actor(args))
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
    args.email = _email_of(app, args.email)
    codes = excuse(app, args.email, args.date, args.code, args.reason, _actor(args))
    print(f"{args.email} {args.date}: withdrawn {', '.join(codes)}.")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from ..records.leave import history

    app = _load(args)
    args.email = _email_of(app, args.email)
    changes = history(app, args.email, args.date)
    if args.json:
        print(json.dumps({"changes": changes}, ensure_ascii=False, indent=2))
        return 0
    for c in changes:
        # --json keeps UTC with its offset; people read the company's time
        when = datetime.fromisoformat(c["at"]).astimezone(app.tz)
        print(f"{when:%Y-%m-%d %H:%M} {c['by']} via {c['via']}: {c['what']}: "
              f"{c['before'] or '-'} → {c['after'] or '-'}")
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
