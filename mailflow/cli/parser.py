"""The `mailflow` command line: the parser (every command, option and its --help), the
one place that configures logging, and the boundary where a user's mistake becomes one
line on stderr instead of a traceback. The handlers are in commands.py."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date

from ..errors import ConfigError, UserError
from .commands import (cmd_check_config, cmd_close_clearing, cmd_close_day, cmd_close_month,
                       cmd_close_week, cmd_compile_weekly, cmd_demo, cmd_excuse, cmd_export,
                       cmd_health, cmd_history, cmd_hr_monthly, cmd_ingest, cmd_init,
                       cmd_leave, cmd_meeting, cmd_month_end, cmd_outbox, cmd_poll, cmd_remind,
                       cmd_run, cmd_send, cmd_status)

EPILOG = """\
Every command reads ./settings.toml unless --config names another file, and uses --now
as its clock when given (ISO 8601; without an offset it is company time), for back-fills,
tests and the demo.

Start here:
  mailflow demo                  see it work: embedded mail servers, three weeks of mail
  mailflow init DIR              a new company's settings.toml, roster.csv, rules/, templates/
  mailflow check-config          is everything set up? (names file, key and fix)
  mailflow run                   the service: IDLE on every mailbox, schedule, sending
  mailflow poll --once           fetch new mail from every mailbox and judge it
  mailflow close-day --date D    after the deadline: who is missing on day D; digests
  mailflow send                  deliver the queued mail
  mailflow status --date D       each salesperson's day (--json for machines)
"""


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; write YYYY-MM-DD") from None


def _by(p: argparse.ArgumentParser, who: str) -> None:
    """--by EMAIL on a command that records who made a change (default: the login name)."""
    p.add_argument("--by", metavar="EMAIL", help=f"{who}; default: your login name")


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
    p.add_argument("--once", action="store_true",
                   help="fetch and process once, then exit (required: to keep polling, "
                        "run `mailflow run`, which watches the mailboxes with IDLE)")

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

    p = add("close-clearing", cmd_close_clearing,
            "judge the supervisors' daily clearing (日清) of a day (idempotent)",
            "At the due time of day D's clearing ([clearing] due in rules/notify.toml, default "
            "12:00 on the next workday), each supervisor whose team's reports of D are not all "
            "reviewed (a reply to the report, or to the day's digest) gets clearing_missing. "
            "Supervisors on leave, with no report to review or with no team get nothing. "
            "Running it again changes nothing.")
    p.add_argument("--date", type=_date, metavar="YYYY-MM-DD",
                   help="the day whose clearing is judged (default: the last workday)")

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
            "judge the supervisors' weekly reports: weekly_late, weekly_missing (idempotent)",
            "For week W: each supervisor's 销售区域周报 is judged against its due time "
            "(rules/weekly.toml [report]: Monday 10:00 by default) and recorded weekly_late, "
            "or weekly_missing when none came by the close. The schedule runs it after "
            "close_time; by hand, name the week. Running it again records nothing twice.")
    p.add_argument("--week", metavar="YYYY-Www", help="the week (default: last week)")

    p = add("month-end", cmd_month_end,
            "queue each supervisor's month-end reminder with the pre-filled 考核表 (idempotent)",
            "For month M: one mail per region to its supervisor, with the 考核表 for the "
            "region's salespeople as an .xlsx, filled in from the month's record (workdays "
            "due, on time, late, missing, on leave, visits, sales, collections) and the date "
            "it is due (rules/monthly.toml [assessment]). The schedule sends it on the month's "
            "last workday; a mail queued once is not queued again.")
    p.add_argument("--month", metavar="YYYY-MM", help="the month (default: this month)")

    p = add("close-month", cmd_close_month,
            "record assessment_missing and indicators_missing for a month (idempotent)",
            "For month M: each supervisor who sent no 考核表 for M is recorded "
            "assessment_missing, each salesperson with no signed indicator sheet for M filed "
            "with HR indicators_missing. It refuses to run before the forms are due "
            "(rules/monthly.toml [assessment] due_day of the next month). Running it again "
            "records nothing twice.")
    p.add_argument("--month", metavar="YYYY-MM", help="the month (default: last month)")

    p = add("hr-monthly", cmd_hr_monthly, "queue HR's monthly compliance mail (idempotent)",
            "For month M: HR's compliance mail (rates per region and person, the violations, "
            "the trend against the month before, weekly reports, indicator sheets and "
            "assessment forms missing, the mail to look at), with the month's rows as .xlsx "
            "and .csv and the 日清 figures as .csv. The schedule sends it on the first "
            "workday of the next month (rules/monthly.toml [hr]); it is queued once.")
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
        "and not resent (unless [smtp] on_unknown = \"resend\"); every send names each such "
        "mail until `mailflow outbox resend` or `mark-sent` resolves it. Exit 1 if any "
        "failed, the server could not be used or an unknown outcome is unresolved.")

    p = add("status", cmd_status, "each salesperson's status for a day",
            "on_time, late, missing or not_due for every salesperson on the roster that day, "
            "with the first report's arrival time and the rule breaks.")
    p.add_argument("--date", type=_date, metavar="YYYY-MM-DD", help="the day (default: today)")
    p.add_argument("--json", action="store_true", help="print JSON (the documented shape)")

    p = add("health", cmd_health, "what is wrong now: mailboxes, SMTP, outbox, jobs, calendar",
            "Exit 0 when all is well, 1 with a line per problem: a mailbox folder failing or "
            "not fetched for longer than rules/health.toml allows, SMTP failing (since when) "
            "and the last delivery, outbox mail of unknown outcome, jobs that failed or were "
            "skipped, a mailbox that usually has reports with none by a workday's deadline, "
            "a year whose 调休 is not entered. Queues the day's alert mail to HR (and "
            "[company] it) for each problem that is mailed, once per problem per day.")
    p.add_argument("--json", action="store_true", help="print JSON (the shape in the README)")

    p = add("leave", cmd_leave, "add, list or cancel leave (请假)",
            "Leave entered by the operator is approved at once (source cli). A workday inside "
            "approved whole-day leave of an excused kind (rules/leave.toml) owes no report: "
            "status excused, no reminder, never missing. Leave for a day already closed "
            "withdraws its missing; nothing already sent is sent again.")
    leave_sub = p.add_subparsers(dest="leave_command", metavar="ACTION", required=True)
    q = leave_sub.add_parser("add", help="approved leave for one person; prints its id")
    q.add_argument("email", help="the person: their email, or their name as the roster has it")
    q.add_argument("--from", dest="from_", type=_date, required=True, metavar="YYYY-MM-DD")
    q.add_argument("--to", type=_date, metavar="YYYY-MM-DD",
                   help="the last day (default: --from)")
    q.add_argument("--kind", help="a kind or alias of rules/leave.toml (default: its first "
                                  "excused kind, 请假)")
    q.add_argument("--note", help="a note kept with the entry")
    _by(q, "who decides (e.g. HR's address; shown by name in the mails)")
    q = leave_sub.add_parser("list", help="leave entries overlapping a period")
    q.add_argument("--from", dest="from_", type=_date, metavar="YYYY-MM-DD")
    q.add_argument("--to", type=_date, metavar="YYYY-MM-DD")
    q.add_argument("--json", action="store_true", help='print {"leave": [...]}')
    q = leave_sub.add_parser("cancel", help="cancel an entry; what it withdrew comes back")
    q.add_argument("id", type=int)
    _by(q, "who decides (e.g. HR's address; shown by name in the mails)")

    p = add("outbox", cmd_outbox, "list the mail mailflow sends; resolve an unknown delivery",
            "A delivery cut after the whole message was sent has an unknown outcome: the "
            "server may have it. mailflow never sends it again on its own (unless [smtp] "
            "on_unknown = \"resend\") and names it at every send, in status and in HR's next "
            "mail until someone resolves it here: look in the recipient's mailbox for its "
            "Message-ID, then `resend ID` (same Message-ID) or `mark-sent ID`. Both are "
            "recorded with who and when.")
    outbox_sub = p.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)
    q = outbox_sub.add_parser("list", help="the outbox's mails, oldest first")
    q.add_argument("--state", action="append",
                   choices=("pending", "sending", "sent", "failed", "unknown", "expired"),
                   help="only this state (repeatable); e.g. --state unknown")
    q.add_argument("--json", action="store_true", help='print {"outbox": [...]}')
    q = outbox_sub.add_parser("resend", help="send an unknown or failed mail again, with its "
                                             "Message-ID")
    q.add_argument("id", type=int)
    _by(q, "who resolves it")
    q = outbox_sub.add_parser("mark-sent", help="record an unknown or failed mail as "
                                                "delivered (you saw it arrive)")
    q.add_argument("id", type=int)
    _by(q, "who resolves it")

    p = add("excuse", cmd_excuse, "HR's correction: withdraw a person's violations of a day",
            "Withdraws every violation of that person and day, or only --code: kept in the "
            "record, marked withdrawn with the reason and who, counted in no figure. A "
            "withdrawn missing makes the day excused.")
    p.add_argument("email", help="the person: their email, or their name as the roster has it")
    p.add_argument("--date", type=_date, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--code", help="only this rule code (e.g. missing, late)")
    p.add_argument("--reason", required=True, help="why, as HR would write it")
    _by(p, "who decides (e.g. HR's address; shown by name in the mails)")

    p = add("history", cmd_history, "every change to a person's day: who, when, how, before/after",
            "Oldest first, in the company's time: each daily report received (a later one "
            "replaces the earlier), each review of it (日清), leave approved or cancelled, "
            "violations withdrawn by leave or HR's correction. `via` is the Message-ID of the "
            "mail that did it, or cli or csv.")
    p.add_argument("email", help="the person: their email, or their name as the roster has it")
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
    # A command run as its own process (no argv given) freezes what it loaded from the
    # garbage collector (commands._settle_gc). One run in a longer process (the tests)
    # leaves the collector alone: engines left by earlier runs are closed by it.
    args.own_process = argv is None
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
