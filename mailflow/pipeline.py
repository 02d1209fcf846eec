"""fetch → record → judge, for every mailbox folder or for files.

Each batch of fetched mail is recorded, with the folder's new sync state, in one
transaction before anything is judged: a crash loses nothing and refetches nothing twice.
Each mail is then judged in its own transaction, and this is the one place that catches
everything per mail: a failure rolls back, keeps the mail with its error, and goes on.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy.exc import IntegrityError

from . import faults, imap
from .app import App
from .errors import UserError
from .judge import judge_mail
from .notify import queue_notice
from .rawmail import RawMail
from .settings import Mailbox
from .store import queries
from .store.models import Mail

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Counts:
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    notices: int = 0

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.kinds.items())) or "none"
        codes = ", ".join(f"{k} {n}" for k, n in sorted(self.codes.items())) or "none"
        return (f"{self.fetched} fetched, {self.new} new, {self.duplicates} already recorded; "
                f"judged: {kinds}; rule breaks: {codes}; notices queued: {self.notices}")


def record_batch(app: App, mails: Iterable[RawMail], counts: Counts,
                 folder_state: tuple[str, str, int, int] | None = None) -> None:
    batch = list(mails)
    for attempt in range(3):
        try:
            new = _record(app, batch, folder_state)
            break
        except IntegrityError:
            # Another poller (another mailbox with the same mail, another instance)
            # recorded one of these first; the next attempt finds it and adds a location.
            if attempt == 2:
                raise
    counts.fetched += len(batch)
    counts.new += new
    counts.duplicates += len(batch) - new
    faults.point("after-commit")


def _record(app: App, batch: list[RawMail], folder_state: tuple[str, str, int, int] | None) -> int:
    now = app.now()
    added = 0
    with app.db.begin() as session:
        for raw in batch:
            added += queries.record_raw(session, raw, now)[1]
        if folder_state is not None:
            box, folder, uidvalidity, last_uid = folder_state
            queries.save_folder_state(session, box, folder, uidvalidity, last_uid, now)
        faults.point("before-commit")
    return added


def judge_pending(app: App, counts: Counts, progress: Progress = _quiet,
                  stop: threading.Event | None = None) -> None:
    with app.read() as session:
        ids = queries.pending_mail_ids(session)
    ctx = app.context()
    step = max(1, len(ids) // 10)
    for n, mail_id in enumerate(ids, start=1):
        if stop is not None and stop.is_set():
            return  # the rest stays pending and is judged at the next start
        try:
            with app.db.begin() as session:
                mail = session.get(Mail, mail_id)
                if mail is None or mail.state != "received":
                    continue
                outcome = judge_mail(session, mail, ctx, app.now())
                # The notice is queued in the same transaction as the verdict it reports:
                # both are recorded, or neither is.
                if outcome.kind == "daily" and app.settings.smtp is not None:
                    counts.notices += queue_notice(session, app, mail)
                faults.point("judge")
            counts.kinds[outcome.kind] += 1
            counts.codes.update(outcome.codes)
        except UserError as exc:
            # The mail is fine; the setup cannot judge it yet (e.g. a year the holiday
            # calendar does not know). It stays pending and is judged once that is fixed.
            counts.errors.append(f"mail {mail_id} is kept and waits: {exc}")
        except Exception as exc:  # the per-mail boundary: keep the mail, record why, go on
            log.exception("mail %s could not be judged", mail_id)
            with app.db.begin() as session:
                mail = session.get(Mail, mail_id)
                if mail is not None:
                    mail.state, mail.kind = "unparsed", "unparsed"
                    mail.error = f"internal error while judging: {type(exc).__name__}: {exc}"
            counts.kinds["unparsed"] += 1
        if len(ids) > 20 and (n % step == 0 or n == len(ids)):
            progress(f"  judged {n}/{len(ids)}")


def poll_mailboxes(app: App, progress: Progress = _quiet) -> Counts:
    """Fetch new mail from every configured mailbox folder, then judge it."""
    counts = Counts()
    for box in app.settings.mailboxes:
        try:
            client = imap.connect(box, box.password())
        except imap.ImapError as exc:
            counts.errors.append(str(exc))
            progress(f"{box.name}: {exc}")
            continue
        try:
            for folder in box.folders:
                poll_folder(app, client, box, folder, counts, progress)
        except imap.ImapError as exc:
            counts.errors.append(str(exc))
            progress(str(exc))
        except (OSError, IMAPClientError) as exc:
            # A server that dies mid-FETCH: what was recorded stays, with the folder's
            # position; the next poll goes on from there.
            msg = f"mailbox {box.name}: connection lost: {exc}"
            counts.errors.append(msg)
            progress(msg)
        finally:
            try:
                client.logout()
            except Exception:  # the connection may already be gone; nothing to keep
                pass
    judge_pending(app, counts, progress)
    return counts


def poll_open(app: App, connections: list[tuple[IMAPClient, Mailbox]],
              progress: Progress = _quiet) -> Counts:
    """Fetch and judge over connections already open (the demo keeps them between polls,
    as the service's watchers do)."""
    counts = Counts()
    for client, box in connections:
        for folder in box.folders:
            poll_folder(app, client, box, folder, counts, progress)
    judge_pending(app, counts, progress)
    return counts


def poll_folder(app: App, client: IMAPClient, box: Mailbox, folder: str, counts: Counts,
                 progress: Progress) -> None:
    with app.read() as session:
        state = queries.folder_state(session, box.name, folder)
    cursor = imap.Cursor(state.uidvalidity, state.last_uid) if state else None
    done = 0
    for batch in imap.fetch_new(client, box, folder, cursor):
        record_batch(app, batch.mails, counts, (box.name, folder, batch.uidvalidity, batch.last_uid))
        done += len(batch.mails)
        if batch.total:
            progress(f"{box.name}/{folder}: fetched {done}/{batch.total}")


def ingest(app: App, mails: Iterable[RawMail], progress: Progress = _quiet) -> Counts:
    counts = Counts()
    batch: list[RawMail] = []
    for raw in mails:
        batch.append(raw)
        if len(batch) >= 200:
            record_batch(app, batch, counts)
            progress(f"recorded {counts.fetched}")
            batch = []
    if batch:
        record_batch(app, batch, counts)
    judge_pending(app, counts, progress)
    return counts

