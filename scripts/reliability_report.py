"""Writes docs/reliability.md: each promise, the tests that prove it, and the figures of
the last full run of scripts/test.sh (build/reliability-*.json, written by the tests)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROMISES = [
    ("A mail is recorded before it is judged; kill -9 of `poll` after FETCH before the "
     "commit, after the commit, or mid-judging, then a rerun: the same records",
     "tests/faults/test_kill.py::test_poll_killed_midway_then_rerun_gives_the_same_records"),
    ("kill -9 of `send` after a row is claimed (before SMTP), at the end of its DATA, and "
     "after the SMTP 250: never sent twice and none lost; a row stopped before the end of "
     "DATA is sent on the rerun, one stopped after it keeps its Message-ID and is reported "
     "as unknown",
     "tests/faults/test_kill.py::test_kill_before_the_message_is_sent_sends_it_on_the_rerun, "
     "test_kill_at_the_end_of_data_is_an_unknown_outcome, "
     "test_kill_between_send_and_mark_never_sends_twice"),
    ("A delivery cut after its whole message was sent (the server dropped the connection "
     "with no reply, or `send` was killed -9 while it waited) stays listed until someone "
     "resolves it: by every `send`, by `mailflow run` at its start and once a day, by "
     "`status` (a line and `unknown_deliveries` in --json) and in HR's next compliance mail; "
     "`mailflow outbox resend ID` sends it again with the same Message-ID, `mark-sent ID` "
     "records it delivered, each with who and when; `[smtp] on_unknown = \"resend\"` sends "
     "it once more on its own after a delay, and holds it if that is cut too",
     "tests/faults/test_unknown.py"),
    ("A seeded random schedule: `run` killed -9 and SIGTERMed at random (also right after a "
     "cut delivery), reports arriving in two Dovecot mailboxes, Dovecot restarted once, an "
     "SMTP server that stalls, answers 451, drops at MAIL, after DATA with no reply, after "
     "250: every mail recorded once, nothing received twice unless reported unknown, every "
     "notice and digest delivered or reported unknown, no traceback. The seed is printed; "
     "MAILFLOW_CHAOS_SEED reruns it; bench/soak_unknown.py runs it for longer",
     "tests/faults/test_chaos.py::test_seeded_faults_lose_nothing_and_send_nothing_twice_unreported"),
    ("A wrong SMTP password, no connection, a TLS failure, a reply or drop before the end "
     "of DATA: no mail is lost or sent twice (wrong then right password delivers each "
     "queued mail once); `status` and `send` say how many wait and why; only a drop after "
     "the end of DATA is unknown", "tests/test_smtp_login.py"),
    ("Dovecot killed mid-FETCH and restarted: the poll says so (exit 1), keeps what it had, "
     "the next poll completes the folder with nothing doubled",
     "tests/faults/test_faults.py::test_dovecot_stopped_mid_fetch_then_restarted"),
    ("A server that never answers: a timeout and a message, not a hang",
     "tests/test_imap.py::test_server_that_never_answers_times_out"),
    ("A BYE in the middle of IDLE: reconnected, caught up by UID",
     "tests/faults/test_faults.py::test_bye_during_idle_reconnects_and_catches_up"),
    ("UIDVALIDITY changed under a folder: read again, matched by Message-ID",
     "tests/test_imap.py::test_uidvalidity_change_resyncs_without_duplicates"),
    ("100,000 messages with 50,000 sparse UIDs fetched from Dovecot; UID sets collapsed "
     "into ranges, no command line too long",
     "tests/faults/test_faults.py::test_100k_messages_with_sparse_uids_fetch_without_a_long_line, "
     "tests/test_imap.py::test_collapse_ranges"),
    ("The same mail in three mailboxes is one mail with three locations",
     "tests/faults/test_faults.py::test_same_mail_in_three_mailboxes_is_one_mail"),
    ("SMTP 4xx then success; 5xx recorded with the server's words; one refused recipient "
     "does not resend to the others; QUIT failing after 250 changes nothing",
     "tests/test_outbound.py::test_4xx_is_retried_and_5xx_recorded_with_the_servers_words, "
     "test_one_refused_recipient_does_not_resend_to_the_others; "
     "tests/faults/test_faults.py::test_quit_failing_after_250_changes_nothing"),
    ("Two senders at once never send one row twice (FOR UPDATE SKIP LOCKED on PostgreSQL)",
     "tests/test_outbound.py::test_two_senders_at_once_never_send_a_row_twice"),
    ("Poller and scheduler writing at once for a minute: no 'database is locked', nothing "
     "lost",
     "tests/faults/test_faults.py::test_poller_and_scheduler_write_at_once"),
    ("The service down across a scheduled time: the job runs once at start",
     "tests/test_run.py::test_restart_after_a_missed_close_sends_the_days_digests_once"),
    ("A SIGTERM stops `mailflow run` whichever of its threads the kernel hands it to; a "
     "stop whose threads overrun their 30 s together names the busy thread with its stack "
     "and leaves (exit 0), SIGUSR1 writes every thread's stack and stops nothing, and the "
     "row the stuck sender held is sent once by the next sender",
     "tests/test_run.py::test_sigterm_handed_to_another_thread_stops_the_service, "
     "tests/faults/test_kill.py::test_a_stop_that_overruns_names_the_busy_thread_and_leaves"),
    ("The host clock in UTC (or any zone) while the company is in Asia/Shanghai",
     "tests/faults/test_faults.py::test_host_clock_in_utc_company_in_shanghai"),
    ("Bad input: a corpus of malformed and hostile mails, the 50 MB and 10,000-part ones, "
     "through a real poll; each recorded once, unreadable ones listed with hash and error; "
     "risky mail parsed in a time- and memory-limited worker",
     "tests/badmail/test_badmail.py"),
    ("The parser's entry point fuzzed (random bytes, header soup, mutated corpus)",
     "tests/badmail/test_badmail.py::test_fuzz_*"),
    ("Sender authenticity: only the topmost Authentication-Results of the company's server "
     "counts (a forged header below or a foreign id does not); a roster name on an outside "
     "address is spoof_suspected and never credited",
     "tests/test_checks.py::test_authentication_results_only_topmost_trusted_counts, "
     "test_unknown_sender_and_display_name_spoof"),
    ("Outbound safety: CR/LF in names cannot inject headers; report content escaped in HTML; "
     "templates with autoescape and StrictUndefined",
     "tests/test_outbound.py::test_crlf_in_a_display_name_cannot_inject_headers, "
     "test_notice_to_the_sender_only_saying_how_to_fix, "
     "test_check_config_renders_every_template"),
    ("Secrets only from the environment, never in a log (every command at -vvv, and a wrong "
     "password)", "tests/faults/test_faults.py::test_no_secret_in_any_log; "
     "tests/test_settings.py::test_password_in_settings_is_refused"),
    ("TLS verified by default (an untrusted certificate is refused, IMAP and SMTP), an "
     "explicit opt-out warned about", "tests/test_imap.py::test_untrusted_certificate_is_a_clear_error, "
     "tests/test_outbound.py::test_delivery_over_tls_with_the_servers_ca, "
     "tests/test_settings.py::test_tls_opt_out_is_allowed_but_warned_about"),
    ("A silent IDLE (the flow dropped, no FIN) is detected, reconnected and caught up",
     "tests/faults/test_faults.py::test_idle_that_goes_silent_is_detected_and_caught_up"),
    ("A service that goes dark says so: `mailflow health` exits 1 naming a mailbox whose "
     "login fails (Dovecot, wrong password) with since when, a folder not fetched for long, "
     "SMTP failing (aiosmtpd stopped) with since when and the last delivery, outbox rows of "
     "unknown outcome, a job that failed or was skipped, a mailbox that usually has reports "
     "with none by the deadline, this year's 调休 not entered; exit 0 again once fixed",
     "tests/test_health.py"),
    ("Alert mails to HR (and [company] it), one per problem per day, through the outbox: a "
     "mailbox failing for over an hour, a silent mailbox, a failed job; SMTP failing for "
     "over an hour is logged at ERROR once an hour by `run` and shown by `health`, never "
     "mailed",
     "tests/test_health.py::test_a_wrong_password_is_reported_and_mailed_to_hr_once_a_day, "
     "test_a_silent_mailbox_is_reported_after_the_deadline_and_mailed, "
     "test_a_failed_job_is_reported_and_mailed_until_it_runs; "
     "tests/test_systemd.py::test_run_notifies_systemd_and_alerts_hr_of_a_mailbox_down_for_an_hour; "
     "tests/test_mails.py::test_alerts_one_per_problem_per_day_each_in_its_own_words"),
    ("Under systemd (Type=notify, a real unix datagram socket as $NOTIFY_SOCKET): READY=1 "
     "once running, WATCHDOG=1 every WatchdogSec/2 from the scheduler's loop, STOPPING=1 on "
     "SIGTERM; nothing sent outside systemd",
     "tests/test_systemd.py"),
    ("Everything above on SQLite and on PostgreSQL", "scripts/test.sh runs the suite twice"),
]


def main() -> None:
    runs = {}
    for db in ("sqlite", "postgresql"):
        path = ROOT / "build" / f"reliability-{db}.json"
        if path.exists():
            runs[db] = json.loads(path.read_text())
    lines = ["# Reliability", "",
             "What mailflow promises about its records and its mail, and the tests that prove "
             "each promise. The figures are those of the last full run of `bash scripts/test.sh` "
             "(regenerate this page with `python scripts/reliability_report.py` after it).", "",
             "| promise | proved by |", "| --- | --- |"]
    lines += [f"| {p} | {t} |" for p, t in PROMISES]
    lines += ["", "## Figures of the last run", "",
              f"Written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.", "",
              "| database | fault tests passed | bad-input tests passed | fuzzed inputs | "
              "spoof tests passed | failed | mails lost | mails sent twice |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for db, run in runs.items():
        o = run["outcomes"]
        failed = sum(v.get("failed", 0) for v in o.values())
        lost = "0" if failed == 0 else "see failures"
        lines.append(f"| {db} | {o.get('faults', {}).get('passed', 0)} | "
                     f"{o.get('bad input', {}).get('passed', 0)} | "
                     f"{o.get('bad input', {}).get('examples', 0)} | "
                     f"{o.get('spoof', {}).get('passed', 0)} | {failed} | {lost} | {lost} |")
    lines += ["", "Mails lost and sent twice are 0 when every test above passed: each of them "
              "asserts the exact set of recorded mails and of delivered Message-IDs. The "
              "PostgreSQL run takes only the tests that open the database (the others, marked "
              "`dbfree` in tests/conftest.py, would repeat the SQLite run exactly), so the "
              "parser's fuzzing and most bad-input and spoof tests count on SQLite alone.", ""]
    health = {db: run["outcomes"].get("health") for db, run in runs.items()}
    if any(health.values()):
        lines += ["Health, alert and systemd tests: " + "; ".join(
            f"{db} {h['passed']} passed, {h['failed']} failed"
            for db, h in health.items() if h) + ".", ""]
    (ROOT / "docs" / "reliability.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote docs/reliability.md from {', '.join(runs) or 'no run'}")


if __name__ == "__main__":
    main()
