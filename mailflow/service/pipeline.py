"""fetch → record → judge, for every mailbox folder or for files.

Each batch of fetched mail is recorded, with the folder's new sync state, in one
transaction before anything is judged: a crash loses nothing and refetches nothing twice.
Recorded mail is then judged a chunk at a time, one transaction per chunk; a chunk that
fails to store is stored again mail by mail, and a mail that still fails is kept with
its error while the others go on.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from collections import Counter, deque
from concurrent.futures import Future
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import faults
from ..inbound import imap
from ..app import App
from ..judging.checks import Context
from ..judging.judge import Assessment, Outcome, Pending, store
from ..mails.answers import queue_answers
from ..mails.notices import queue_notice
from ..records import commands
from ..inbound.rawmail import RawMail
from ..config.settings import Mailbox
from ..delivery import outbox
from ..records.health import folder_key
from ..store import queries
from ..store.among import among
from ..store.models import Mail, ServerProblem
from ..judging.workers import Assessor, worker_count

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
    answers: int = 0          # to leave and correction mails (mails/answers.py)
    commands: Counter[str] = field(default_factory=Counter)   # applied, refused

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.kinds.items())) or "none"
        codes = ", ".join(f"{k} {n}" for k, n in sorted(self.codes.items())) or "none"
        acted = ", ".join(f"{k} {n}" for k, n in sorted(self.commands.items()))
        return (f"{self.fetched} fetched, {self.new} new, {self.duplicates} already recorded; "
                f"judged: {kinds}; rule breaks: {codes}; notices queued: {self.notices}"
                + (f"; commands: {acted}" if acted else "")
                + (f"; answers queued: {self.answers}" if self.answers else ""))


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
    with app.db.begin() as session:
        added = queries.record_mails(session, batch, now) if batch else 0
        if folder_state is not None:
            box, folder, uidvalidity, last_uid = folder_state
            queries.save_folder_state(session, box, folder, uidvalidity, last_uid, now)
        faults.point("before-commit")
    return added


class Judging:
    """Judges recorded mail while more is being fetched.

    `feed` picks up what was recorded since the last call and hands it, a chunk at a
    time, to the assessor (worker processes once a backlog is expected); finished chunks
    are stored in arrival order, one transaction each. `finish` waits for the rest.
    """

    def __init__(self, app: App, counts: Counts, progress: Progress = _quiet,
                 stop: threading.Event | None = None) -> None:
        self.app, self.counts, self.progress, self.stop = app, counts, progress, stop
        self._assessor: Assessor | None = None
        self.flight: deque[Future[list[Assessment]]] = deque()
        self.last_id = 0
        self.queued = self.stored = 0

    def __enter__(self) -> Judging:
        return self

    @property
    def assessor(self) -> Assessor:
        # Made when first needed: an idle cycle judges nothing and should not pay for it.
        if self._assessor is None:
            self._assessor = Assessor(self.app.context())
        return self._assessor

    def __exit__(self, *exc: object) -> None:
        if self._assessor is not None:
            self._assessor.close()

    def expect(self, backlog: int) -> None:
        """A folder announced this many new mails: start workers if that is a backlog."""
        self.assessor.start(worker_count(backlog))

    def feed(self) -> None:
        with self.app.read() as session:
            ids = queries.pending_mail_ids(session, after=self.last_id)
        if not ids:
            return
        self.last_id = ids[-1]
        self.expect(len(ids))
        for i in range(0, len(ids), JUDGE_CHUNK):
            for chunk in _by_bytes(_loaded(self.app, ids[i:i + JUDGE_CHUNK])):
                self.flight.append(self.assessor.submit(chunk))
                self.queued += len(chunk)
            # At most two chunks per worker wait: memory stays bounded whatever the backlog.
            while len(self.flight) > 2 * max(1, self.assessor.workers) or \
                    (self.flight and self.flight[0].done()):
                self._store_next()

    def finish(self) -> None:
        self.feed()
        while self.flight:
            self._store_next()

    def _store_next(self) -> None:
        assessed = self.flight.popleft().result()
        if self.stop is not None and self.stop.is_set():
            self.flight.clear()  # the rest stays pending and is judged at the next start
            return
        _store_chunk(self.app, self.assessor.ctx, assessed, self.counts)
        self.stored += len(assessed)
        if self.queued > 20:
            self.progress(f"  judged {self.stored}/{self.queued}")


JUDGE_CHUNK = 200
CHUNK_BYTES = 4 * 1024 * 1024   # what one chunk of mail in flight to a worker may hold (stored)


def _by_bytes(mails: list[Pending]) -> Iterator[list[Pending]]:
    chunk: list[Pending] = []
    size = 0
    for mail in mails:
        if chunk and size + len(mail.stored) > CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(mail)
        size += len(mail.stored)
    if chunk:
        yield chunk


def _loaded(app: App, ids: list[int]) -> list[Pending]:
    with app.read() as session:
        rows = session.execute(select(Mail.id, Mail.raw, Mail.received_at, Mail.truncated,
                                      Mail.size).where(among(Mail.id, ids), Mail.state == "received")
                               .order_by(Mail.id))
        return [Pending(r.id, r.raw, r.received_at, r.truncated, r.size)
                for r in rows]


def _store_chunk(app: App, ctx: Context, chunk: list[Assessment], counts: Counts) -> None:
    """One transaction for the chunk; if it fails, each mail alone, so one bad mail
    cannot hold back the others. The notice is queued in the same transaction as the
    verdict it reports: both are recorded, or neither is."""
    try:
        with app.db.begin() as session:
            outcomes = store(session, chunk, ctx, app.now())
            notices = _queue_notices(app, session, outcomes)
            # Leave and corrections by mail act in the same transaction as their verdicts.
            done = commands.act(session, app, [o.mail_id for o in outcomes
                                               if o.kind in commands.KINDS])
            answers = queue_answers(session, app, done)
            for _ in outcomes:
                faults.point("judge")
    except Exception as exc:
        if len(chunk) > 1:
            for one in chunk:
                _store_chunk(app, ctx, [one], counts)
            return
        _keep_with_error(app, chunk[0].mail_id, exc)
        counts.kinds["unparsed"] += 1
        return
    counts.notices += notices
    counts.answers += answers
    counts.commands.update(d.state for d in done)
    for a in chunk:
        if a.state == "waiting":
            # The mail is fine; the setup cannot judge it yet (e.g. a year the holiday
            # calendar does not know). It stays pending and is judged once that is fixed.
            counts.errors.append(f"mail {a.mail_id} is kept and waits: {a.error}")
    for o in outcomes:
        counts.kinds[o.kind] += 1
        counts.codes.update(o.codes)


def _queue_notices(app: App, session: Session, outcomes: list[Outcome]) -> int:
    if app.settings.smtp is None:
        return 0
    wanted = set(app.policy.notify.notice_codes)
    queued = 0
    for o in outcomes:
        if o.kind == "daily" and wanted & set(o.codes):
            mail = session.get(Mail, o.mail_id)
            queued += mail is not None and queue_notice(session, app, mail)
    return queued


def _keep_with_error(app: App, mail_id: int, exc: Exception) -> None:
    log.error("mail %s could not be stored: %s: %s", mail_id, type(exc).__name__, exc)
    with app.db.begin() as session:
        mail = session.get(Mail, mail_id)
        if mail is not None and mail.state == "received":
            mail.state, mail.kind = "unparsed", "unparsed"
            mail.error = f"internal error while judging: {type(exc).__name__}: {exc}"


def poll_mailboxes(app: App, progress: Progress = _quiet) -> Counts:
    """Fetch new mail from every configured mailbox folder, then judge it."""
    counts = Counts()
    with Judging(app, counts, progress) as judging:
        for box in app.settings.mailboxes:
            _poll_box(app, box, judging, progress)
        judging.finish()
    return counts


def note_failing(app: App, box: Mailbox, folders: Iterable[str], error: str) -> None:
    """Record that these folders cannot be fetched (`mailflow health` and the alert to HR
    say since when); the first failure's time is kept while it lasts."""
    with app.db.begin() as session:
        for folder in folders:
            outbox.record_problem(session, folder_key(box.name, folder), "imap", error,
                                  app.now())


def note_fetched(app: App, box: Mailbox, folder: str) -> None:
    """The folder was fetched: forget its failure, if one was recorded (a read first, so
    the usual case writes nothing)."""
    key = folder_key(box.name, folder)
    with app.read() as session:
        if session.get(ServerProblem, key) is None:
            return
    with app.db.begin() as session:
        if outbox.clear_problem(session, key):
            log.info("mailbox %s/%s: fetched again", box.name, folder)


def _poll_box(app: App, box: Mailbox, judging: Judging, progress: Progress) -> None:
    counts = judging.counts
    try:
        client = imap.connect(box, box.password())
    except imap.ImapError as exc:
        counts.errors.append(str(exc))     # the caller says it, once
        note_failing(app, box, box.folders, str(exc))
        return
    folder = box.folders[0] if box.folders else ""
    try:
        for folder in box.folders:
            poll_folder(app, client, box, folder, judging, progress)
            note_fetched(app, box, folder)
    except imap.ImapError as exc:
        counts.errors.append(str(exc))
        note_failing(app, box, [folder], str(exc))
    except (OSError, IMAPClientError) as exc:
        # A server that dies mid-FETCH: what was recorded stays, with the folder's
        # position; the next poll goes on from there.
        msg = f"mailbox {box.name}: connection lost: {imap.error_text(exc)}"
        counts.errors.append(msg)
        note_failing(app, box, [folder], msg)
    finally:
        try:
            client.logout()
        except Exception:  # the connection may already be gone; nothing to keep
            pass


def poll_open(app: App, connections: list[tuple[IMAPClient, Mailbox]],
              progress: Progress = _quiet) -> Counts:
    """Fetch and judge over connections already open (the demo keeps them between polls,
    as the service's watchers do)."""
    counts = Counts()
    with Judging(app, counts, progress) as judging:
        for client, box in connections:
            for folder in box.folders:
                poll_folder(app, client, box, folder, judging, progress)
        judging.finish()
    return counts


SYNC_NOTE_EVERY = timedelta(minutes=1)   # how often an idle folder's synced_at is renewed


def poll_folder(app: App, client: IMAPClient, box: Mailbox, folder: str, judging: Judging,
                progress: Progress) -> None:
    """Fetch a folder's new mail by UID, recording each batch; what is recorded is judged
    while the next batch is fetched."""
    with app.read() as session:
        state = queries.folder_state(session, box.name, folder)
    cursor = imap.Cursor(state.uidvalidity, state.last_uid) if state else None
    done = 0
    for batch in imap.fetch_new(client, box, folder, cursor):
        if state is not None and not batch.mails and batch.uidvalidity == state.uidvalidity \
                and batch.last_uid == state.last_uid and \
                app.now() - state.synced_at < SYNC_NOTE_EVERY:
            return  # nothing new: an idle cycle writes nothing
        judging.expect(batch.total)
        record_batch(app, batch.mails, judging.counts,
                     (box.name, folder, batch.uidvalidity, batch.last_uid))
        judging.feed()
        done += len(batch.mails)
        if batch.total:
            progress(f"{box.name}/{folder}: fetched {done}/{batch.total}")


def ingest(app: App, mails: Iterable[RawMail], progress: Progress = _quiet) -> Counts:
    counts = Counts()
    with Judging(app, counts, progress) as judging:
        batch: list[RawMail] = []
        for raw in mails:
            batch.append(raw)
            if len(batch) >= 200:
                record_batch(app, batch, counts)
                progress(f"recorded {counts.fetched}")
                judging.feed()
                batch = []
        if batch:
            record_batch(app, batch, counts)
        judging.finish()
    return counts

