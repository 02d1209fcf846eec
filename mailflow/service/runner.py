"""`mailflow run`: the service. One watcher thread per mailbox folder (IMAP IDLE, or
polling where IDLE is missing or goes silent), the scheduler, and the outbox sender, until
SIGTERM; then the mail in hand is finished and the process exits cleanly. A health check
each minute queues the alert mails to HR (mails/alerts.py) and logs SMTP failing for long;
under systemd (Type=notify) it says READY=1, WATCHDOG=1 from the scheduler's loop and
STOPPING=1 (systemd.py).

Several instances may share one database (PostgreSQL): each folder is watched by the
instance that holds its lease, each job's run by the one that holds that run's lease, and
outbox rows are claimed row by row (leases.py, outbox.py)."""

from __future__ import annotations

import faulthandler
import logging
import os
import random
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from datetime import timedelta

import schedule

from ..inbound import imap
from ..store import leases
from ..app import App
from ..errors import ConfigError, UserError
from . import systemd
from .jobs import JOBS, Job, run_due
from ..mails.alerts import queue_alerts
from ..records.health import check as check_health
from .pipeline import Counts, Judging, note_failing, note_fetched, poll_folder
from ..config.settings import Mailbox
from ..delivery import outbox
from ..delivery.smtp import SendReport, send_loop

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another instance holds the lease of the work this thread was doing."""

IDLE_SLICE = 5.0          # seconds per idle_check, so a stop request is seen quickly
IDLE_RENEW = 10 * 60.0    # re-issue IDLE well under the 29 minutes servers allow (RFC 2177)
BACKOFF_MAX = 300.0
STOP_WITHIN = 30.0        # seconds the threads get, together, to finish the mail in hand
HEALTH_EVERY = 60.0       # seconds between health checks (alerts, the SMTP log line)
SMTP_LOG_EVERY = 3600.0   # SMTP failing for long is logged again this often


class Service:
    def __init__(self, app: App, *, idle_renew: float = IDLE_RENEW,
                 jobs: tuple[Job, ...] = JOBS) -> None:
        self.app = app
        self.jobs = jobs
        self.job_threads: dict[str, threading.Thread] = {}
        self.stop = threading.Event()
        self.mail_arrived = threading.Event()
        self.idle_renew = idle_renew
        self.threads: list[threading.Thread] = []
        self._renewed: dict[str, float] = {}
        self._alert_note = ""

    # -- mailbox watchers -----------------------------------------------------------

    def _fetch(self, client: imap.Client, box: Mailbox, folder: str) -> None:
        """Fetch and judge what is new, and again while the server reports mail that
        arrived during the fetch: the EXISTS for it came with the fetch's own commands,
        and IDLE would not repeat it."""
        self._fetch_once(client, box, folder)
        while client.saw_new_mail() and not self.stop.is_set():
            self._fetch_once(client, box, folder)

    def _fetch_once(self, client: imap.Client, box: Mailbox, folder: str) -> None:
        counts = Counts()
        with Judging(self.app, counts, stop=self.stop) as judging:
            poll_folder(self.app, client, box, folder, judging, lambda m: None)
            judging.finish()
        if counts.fetched:
            log.info("%s/%s: %s", box.name, folder, counts.summary())
        if counts.notices:
            self.mail_arrived.set()

    def _watch(self, box: Mailbox, folder: str) -> None:
        """Watch one folder while this instance holds its lease; stand by while another
        instance does, and take over when that one stops renewing."""
        lease = f"folder:{box.name}/{folder}"
        standing_by = False
        try:
            while not self.stop.is_set():
                if not leases.take(self.app.db, lease):
                    if not standing_by:
                        log.info("%s/%s is watched by another instance; standing by",
                                 box.name, folder)
                        standing_by = True
                    self.stop.wait(leases.RETRY_EVERY)
                    continue
                standing_by = False
                self._watch_held(box, folder, lease)
        finally:
            leases.release(self.app.db, lease)

    def _renew(self, lease: str) -> None:
        """Renew the lease at most every RENEW_EVERY seconds; raise if it was lost (this
        instance was silent too long and another took the folder over)."""
        now = time.monotonic()
        last = self._renewed.get(lease, 0.0)
        if now - last < leases.RENEW_EVERY:
            return
        if not leases.take(self.app.db, lease):
            raise LeaseLost(lease)
        self._renewed[lease] = now

    def _watch_held(self, box: Mailbox, folder: str, lease: str) -> None:
        delay = 1.0
        poll_every = float(self.app.policy.notify.poll_every_seconds)
        while not self.stop.is_set():
            client = None
            try:
                self._renew(lease)
                client = imap.connect(box, box.password())
                self._fetch(client, box, folder)     # catch up by UID after (re)connecting
                note_fetched(self.app, box, folder)
                delay = 1.0
                idle = b"IDLE" in client.capabilities()
                log.info("watching %s/%s with %s", box.name, folder,
                         "IDLE" if idle else f"polling every {poll_every:.0f}s")
                while not self.stop.is_set():
                    if idle:
                        self._idle_once(client, poll_every, lease)
                    else:
                        self._wait_renewing(poll_every, lease)
                    if self.stop.is_set():
                        break
                    self._renew(lease)
                    self._fetch(client, box, folder)
            except LeaseLost:
                log.warning("%s/%s: another instance took this folder over", box.name, folder)
                return
            except (imap.ImapError, OSError, imap.IMAPClientError) as exc:
                if self.stop.is_set():
                    break
                wait = min(BACKOFF_MAX, delay) * random.uniform(0.5, 1.5)
                log.warning("%s/%s: %s; reconnecting in %.0fs", box.name, folder,
                            imap.error_text(exc), wait)
                self._note_failing(box, folder, imap.error_text(exc))
                self.stop.wait(wait)
                delay = min(BACKOFF_MAX, delay * 2)
            except (ConfigError, UserError) as exc:
                log.error("%s/%s: %s", box.name, folder, exc)
                self._note_failing(box, folder, str(exc))
                self.stop.wait(poll_every)
            except Exception:  # a watcher must outlive anything one fetch can throw
                log.exception("%s/%s: unexpected error; reconnecting in %.0fs", box.name,
                              folder, delay)
                self.stop.wait(delay)
                delay = min(BACKOFF_MAX, delay * 2)
            finally:
                if client is not None:
                    try:
                        client.logout()
                    except Exception:  # the connection may be gone already
                        pass

    def _note_failing(self, box: Mailbox, folder: str, error: str) -> None:
        try:
            note_failing(self.app, box, [folder], error)
        except Exception:  # a database that is away too: the log line above says it
            log.exception("%s/%s: the failure could not be recorded", box.name, folder)

    def _wait_renewing(self, seconds: float, lease: str) -> None:
        end = time.monotonic() + seconds
        while not self.stop.is_set() and time.monotonic() < end:
            self.stop.wait(min(leases.RENEW_EVERY, max(0.0, end - time.monotonic())))
            self._renew(lease)

    def _idle_once(self, client: imap.Client, silent_after: float, lease: str) -> None:
        """IDLE until the server reports something, IDLE has run `idle_renew` seconds,
        or nothing at all came for `silent_after` seconds (then a fetch and a new IDLE
        show whether the connection still lives: a dead one raises and reconnects)."""
        # Dovecot announces in IDLE the changes it sees while idling, not mail that came
        # after the last fetch's commands (while that mail was being judged): a NOOP just
        # before IDLE asks, and such mail is fetched now instead of at the next event.
        client.noop()
        if client.saw_new_mail():
            return
        client.idle()
        started = quiet_since = time.monotonic()
        try:
            while not self.stop.is_set():
                responses = client.idle_check(timeout=IDLE_SLICE)
                self._renew(lease)
                now = time.monotonic()
                if any(r and r[0] == b"BYE" for r in responses):
                    raise imap.ImapError(f"server ended the session: {responses}")
                if any(r[1] in (b"EXISTS", b"RECENT") for r in responses if len(r) > 1):
                    return
                if responses:
                    quiet_since = now
                if now - started > self.idle_renew or now - quiet_since > silent_after:
                    return
        finally:
            client.idle_done()

    # -- scheduler and sender -------------------------------------------------------

    def _tick(self) -> None:
        """Each job runs in a thread of its own: one that hangs (a server that does not
        answer, a lock held elsewhere) or fails holds up none of the others. A job still
        running from an earlier tick is not started again."""
        for job in self.jobs:
            running = self.job_threads.get(job.name)
            if running is not None and running.is_alive():
                continue
            thread = threading.Thread(target=self._run_job, args=(job,), daemon=True,
                                      name=f"job-{job.name}")
            self.job_threads[job.name] = thread
            thread.start()

    def _run_job(self, job: Job) -> None:
        try:
            # run_due logs each run it makes; what it returns only wakes the sender
            if run_due(self.app, (job,)):
                self.mail_arrived.set()
        except Exception:  # the scheduler must outlive any one bad run
            log.exception("job %s failed", job.name)

    def _scheduler(self) -> None:
        sched = schedule.Scheduler()
        # `schedule` keeps the rhythm; which jobs are due is decided in company time by
        # jobs.run_due, whatever the host's time zone.
        sched.every(15).seconds.do(self._tick)
        self._tick()
        # The watchdog is fed from this loop: a scheduler that hangs is restarted by systemd.
        watchdog = systemd.watchdog_every()
        fed = 0.0
        while not self.stop.is_set():
            sched.run_pending()
            if watchdog is not None and time.monotonic() - fed >= watchdog:
                systemd.notify("WATCHDOG=1")
                fed = time.monotonic()
            self.stop.wait(min(1.0, watchdog) if watchdog else 1.0)

    def _health(self) -> None:
        smtp_logged = -SMTP_LOG_EVERY
        while not self.stop.is_set():
            try:
                smtp_logged = self._check_health(smtp_logged)
            except Exception:  # a check that fails must not stop the service
                log.exception("health check failed; trying again in %.0fs", HEALTH_EVERY)
            self.stop.wait(HEALTH_EVERY)

    def _check_health(self, smtp_logged: float) -> float:
        """Queue the day's alert mails; log SMTP failing for longer than the rules allow,
        loudly and once an hour (it cannot be mailed). Returns when that was last logged."""
        found = check_health(self.app)
        queued = queue_alerts(self.app, found)
        if queued.added:
            log.warning("health: %d alert mail(s) to HR queued: %s", queued.added,
                        "; ".join(p.text for p in found.problems if p.alert))
            self.mail_arrived.set()
        elif queued.note and queued.note != self._alert_note:
            log.error("health: alert mails %s", queued.note)   # said once, until it changes
        self._alert_note = queued.note
        since = found.smtp_failing_since
        limit = self.app.policy.health.smtp_failing_minutes
        if since is not None and self.app.now() - since >= timedelta(minutes=limit) and \
                time.monotonic() - smtp_logged >= SMTP_LOG_EVERY:
            log.error("SMTP HAS FAILED SINCE %s (more than %d min): no mail goes out, not "
                      "even the alerts to HR: %s", since.astimezone(self.app.tz)
                      .strftime("%Y-%m-%d %H:%M"), limit, found.smtp_error)
            smtp_logged = time.monotonic()
        systemd.notify("STATUS=" + ("ok" if found.ok else
                                    f"{len(found.problems)} problem(s): `mailflow health`"))
        return smtp_logged

    def _sender(self) -> None:
        import asyncio

        every = float(self.app.policy.notify.send_every_seconds)
        problem: str | None = None   # the last one logged: said once, until it changes
        failures = 0
        listed_on = None   # the company day unresolved unknown outcomes were last logged
        while not self.stop.is_set():
            # Unknown outcomes nobody has resolved: named at the start and once a day, so
            # a cut delivery is never reported only once in a log that scrolls away.
            today = self.app.now().astimezone(self.app.tz).date()
            if listed_on != today:
                try:
                    with self.app.read.begin() as session:
                        unknown = outbox.unresolved(session)
                except Exception:  # the database is away: the pass below says so
                    log.exception("outbox: cannot read the unresolved deliveries")
                    unknown = None
                for row in unknown or ():
                    log.error("outbox: unknown outcome, unresolved (mailflow outbox resend "
                              "%d, or mark-sent %d): %s", row.id, row.id,
                              row.line(self.app.tz))
                if unknown is not None:
                    listed_on = today
            if problem is None:
                self.mail_arrived.wait(every)
            else:
                # New mail does not help a server that refuses the login; retrying slowly
                # also keeps the account clear of the server's lockout for bad logins.
                self.stop.wait(min(BACKOFF_MAX * 3, every * 2 ** min(failures, 5)))
            self.mail_arrived.clear()
            if self.app.settings.smtp is None:
                continue
            report = SendReport()
            try:
                asyncio.run(send_loop(self.app, self.app.settings.smtp, report, lambda m: None))
            except Exception:  # a broken SMTP server must not stop the service
                log.exception("sending failed; retrying in %.0fs", every)
                continue
            if report.problem and report.problem != problem:
                log.error("outbox: mail waits: %s", report.problem)
            elif report.connected and problem:
                log.warning("outbox: the SMTP server works again; waiting mail goes out")
            if report.problem or report.connected:   # else nothing was due: no news
                failures = failures + 1 if report.problem else 0
                problem = report.problem
            if report.sent or report.retry or report.failed or report.unknown or report.expired:
                log.info("outbox: %s", report.summary())
            for line in report.failed + report.unknown:
                log.error("outbox: %s", line)
            for line in report.resent:
                log.warning("outbox: unknown outcome, sent once more with its Message-ID "
                            "(on_unknown = \"resend\"): %s", line)
            for line in report.expired:
                log.warning("outbox: expired, not sent: %s", line)

    # -- lifecycle --------------------------------------------------------------------

    def _start(self, name: str, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def run(self) -> int:
        for box in self.app.settings.mailboxes:
            for folder in box.folders:
                self._start(f"watch-{box.name}/{folder}", self._watch, box, folder)
        self._start("scheduler", self._scheduler)
        self._start("sender", self._sender)
        self._start("health", self._health)
        log.info("mailflow running: %d folder(s), scheduler, sender; SIGTERM stops it",
                 sum(len(b.folders) for b in self.app.settings.mailboxes))
        systemd.notify("READY=1")
        # Woken every second: the kernel may hand SIGTERM to any thread, and then Python
        # only notes it for the main thread, which runs the handler when it next runs
        # Python code. A wait without a timeout would never look, and never stop.
        while not self.stop.wait(1.0):
            pass
        systemd.notify("STOPPING=1")
        log.info("stopping: finishing the mail in hand")
        self.mail_arrived.set()
        deadline = time.monotonic() + STOP_WITHIN
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self.threads if t.is_alive()]
        if not alive:
            log.info("stopped")
            return 0
        # What each thread is doing goes to the log, so a stop that overran can be
        # explained. Then the process leaves at once: a normal exit would wait for the
        # worker pools those threads use. What they had in hand is safe: a row left
        # `sending` is settled by the next sender (outbox.py), unjudged mail is judged
        # at the next start.
        log.warning("still busy after %.0fs, leaving: %s; their stacks follow",
                    STOP_WITHIN, ", ".join(alive))
        for handler in logging.getLogger().handlers:
            handler.flush()
        # Read under the GIL, not by faulthandler: its C walk of threads that are still
        # running raced with them and, on a loaded machine, crashed the process (SIGSEGV).
        names = {t.ident: t.name for t in threading.enumerate()}
        for ident, frame in sys._current_frames().items():
            sys.stderr.write(f"Thread {names.get(ident, ident)} (most recent call last):\n"
                             + "".join(traceback.format_stack(frame)))
        sys.stderr.flush()
        log.info("stopped")
        logging.shutdown()
        os._exit(0)


def run_service(app: App) -> int:
    service = Service(app)

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s", signal.Signals(signum).name)
        service.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # `kill -USR1 PID` writes what every thread is doing to the log, without stopping.
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    return service.run()
