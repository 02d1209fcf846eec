from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from mailflow.inbound.rawmail import RawMail
from mailflow.store import queries
from mailflow.store.db import open_db
from mailflow.store.models import Mail, Violation
from mailflow.store.types import UTCDateTime

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def db(tmp_path):
    return open_db(f"sqlite:///{tmp_path / 'm.db'}").write


def test_migrations_create_every_table_and_record_the_version(tmp_path, db):
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    names = set(inspect(engine).get_table_names())
    assert {"mails", "mail_locations", "folder_states", "reports", "violations", "day_closes",
            "outbox", "job_runs", "alembic_version"} <= names
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from mailflow.store.db import MIGRATIONS
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar_one() == head
    # Opening skips alembic when the database is at the head it reads off the file names.
    from mailflow.store.db import head_revision
    assert head_revision() == head
    open_db(f"sqlite:///{tmp_path / 'm.db'}")  # upgrading an up-to-date database is a no-op


def test_a_database_of_the_first_release_is_upgraded_keeping_its_records(tmp_path):
    """HR's records must survive upgrades: a 0001 database with a mail in it is migrated."""
    from alembic import command
    from alembic.config import Config

    from mailflow.store.db import MIGRATIONS, make_engine
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("insert into mails (dedupe_key, message_id, sha256, size, truncated, "
                          "received_at, mailbox, folder, state, raw, recorded_at) values "
                          "('mid:x', 'x', 'h', 1, 0, '2026-11-26T12:00:00.000000+00:00', 'hr', "
                          "'INBOX', 'processed', x'00', '2026-11-26T12:00:00.000000+00:00')"))
    db = open_db(url).read
    with db() as session:
        assert session.execute(text("select message_id from mails")).scalar_one() == "x"
        assert session.execute(text("select count(*) from outbox")).scalar_one() == 0


def test_sqlite_runs_in_wal_with_foreign_keys(db):
    with db() as session:
        assert session.execute(text("pragma journal_mode")).scalar_one() == "wal"
        assert session.execute(text("pragma foreign_keys")).scalar_one() == 1
        assert session.execute(text("pragma busy_timeout")).scalar_one() == 30000


def test_times_are_stored_as_utc_with_offset_and_naive_is_refused():
    t = UTCDateTime()
    aware = datetime(2026, 11, 26, 21, 0, tzinfo=timezone(timedelta(hours=8)))
    assert t.process_bind_param(aware, None) == "2026-11-26T13:00:00.000000+00:00"
    assert t.process_result_value("2026-11-26T13:00:00.000000+00:00", None) == aware
    with pytest.raises(ValueError):
        t.process_bind_param(datetime(2026, 11, 26, 21, 0), None)


def test_naive_time_cannot_reach_the_database(db):
    with pytest.raises(StatementError):
        with db.begin() as session:
            session.add(Violation(key="k", email="a@x", date=date(2026, 11, 26), code="late",
                                  scope="day", detail="", recorded_at=datetime(2026, 11, 26)))


def test_same_mail_recorded_once_with_every_location(db):
    raw = b"Message-ID: <abc@x>\r\nFrom: a@x.example\r\n\r\nhi"
    with db.begin() as session:
        new = queries.record_mails(session, [RawMail(raw, NOW, box, "INBOX", 5, uid)
                                             for box, uid in (("hr", 1), ("qian", 7), ("hr", 1))],
                                   NOW)
    assert new == 1
    with db() as session:
        assert session.execute(text("select count(*) from mails")).scalar_one() == 1
        assert session.execute(text("select count(*) from mail_locations")).scalar_one() == 2


def test_mail_without_message_id_is_deduplicated_by_content(db):
    raw = b"From: a@x.example\r\nSubject: x\r\n\r\nbody"
    with db.begin() as session:
        first = queries.record_mails(session, [RawMail(raw, NOW, "hr", "INBOX")], NOW)
        again = queries.record_mails(session, [RawMail(raw, NOW, "qian", "INBOX")], NOW)
        other = queries.record_mails(session, [RawMail(raw + b"!", NOW, "hr", "INBOX")], NOW)
    assert (first, again, other) == (1, 0, 1)
    with db() as session:
        keys = sorted(session.scalars(select(Mail.dedupe_key)))
    assert all(k.startswith("sha256:") for k in keys)


def test_mail_is_kept_compressed_and_mail_kept_by_the_older_version_still_reads(db):
    """Mail is stored as a Zstandard frame; a database written before keeps zlib streams,
    which read back unchanged, so no migration rewrites the mails."""
    import zlib

    raw = "From: 冯喆 <feng.zhe@example.com>\r\nSubject: 工作日报\r\n\r\n".encode() + b"x" * 5000
    with db.begin() as session:
        queries.record_mails(session, [RawMail(raw, NOW, "hr", "INBOX")], NOW)
        session.add(Mail(dedupe_key="old", message_id="<old@x>", sha256="0" * 64, size=len(raw),
                         truncated=False, received_at=NOW, mailbox="hr", folder="INBOX",
                         state="received", raw=zlib.compress(raw, 6), recorded_at=NOW))
    with db() as session:
        stored = dict(session.execute(select(Mail.dedupe_key, Mail.raw)).all())
    new = next(v for k, v in stored.items() if k != "old")
    assert new[:4] == b"\x28\xb5\x2f\xfd" and len(new) < 200
    assert queries.decompress(new) == raw == queries.decompress(stored["old"])


def test_violation_keys_are_unique(db):
    with db.begin() as session:
        for _ in range(2):
            queries.add_violation(session, email="a@x", day=date(2026, 11, 26), code="missing",
                                  detail="", mail_id=None, now=NOW, scope="day")
    with db() as session:
        assert session.execute(text("select count(*) from violations")).scalar_one() == 1
    with pytest.raises(IntegrityError):
        with db.begin() as session:
            session.add(Violation(key="missing|a@x|2026-11-26|day||", email="a@x",
                                  date=date(2026, 11, 26), code="missing", scope="day",
                                  detail="", recorded_at=NOW))


def test_a_lease_is_held_renewed_and_taken_over_when_it_expires_or_its_holder_is_gone(db):
    import subprocess
    import time
    from datetime import timedelta

    from mailflow.store import leases

    a, b = "node-a:1:x", "node-b:2:y"
    assert leases.take(db, "folder:hr/INBOX", holder=a, ttl=timedelta(seconds=0.5))
    assert not leases.take(db, "folder:hr/INBOX", holder=b)          # held
    assert leases.take(db, "folder:hr/INBOX", holder=a, ttl=timedelta(seconds=0.5))  # renewed
    time.sleep(0.6)
    assert leases.take(db, "folder:hr/INBOX", holder=b)              # expired: taken over
    assert not leases.take(db, "folder:hr/INBOX", holder=a)
    # A holder on this host whose process is gone is taken over at once.
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = f"{leases._instance()}:{gone.pid}:z"
    assert leases.take(db, "job:close-day:2026-11-19", holder=dead)
    assert leases.take(db, "job:close-day:2026-11-19")
    leases.release(db, "job:close-day:2026-11-19")
    assert leases.take(db, "job:close-day:2026-11-19", holder=b)


@contextmanager
def _at_revision(tmp_path, postgres, revision: str):  # type: ignore[no-untyped-def]
    """A database migrated only as far as `revision`, for the test to fill in the old
    schema; closed on leaving, so open_db then upgrades it to head. Yields (conn, url)."""
    from alembic import command
    from alembic.config import Config

    from conftest import new_database
    from mailflow.store.db import MIGRATIONS, make_engine
    url = new_database(postgres)
    if url.startswith("sqlite:///mailflow.db"):
        url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        yield conn, url
    engine.dispose()


def test_a_database_before_leave_is_upgraded_keeping_its_violations(tmp_path, postgres):
    """0005 → head adds the outbox's expiry (0006) and leave, history and withdrawn
    violations (0007); the violations, reports and closed days already recorded stay as
    they were, none withdrawn."""
    from mailflow.store.models import Change, LeaveEntry
    at = "2026-11-26T12:00:00.000000+00:00"
    with _at_revision(tmp_path, postgres, "0005") as (conn, url):
        conn.execute(text("insert into violations (key, email, date, code, scope, detail, "
                          "recorded_at) values ('missing|a@x|2026-11-26|day||no report', "
                          "'a@x', '2026-11-26', 'missing', 'day', 'no report', :at)"), {"at": at})
        conn.execute(text("insert into day_closes (day, closed_at, missing) values "
                          "('2026-11-26', :at, 1)"), {"at": at})
    db = open_db(url)
    with db.read() as session:
        v = session.scalars(select(Violation)).one()
        assert (v.email, v.date, v.code, v.detail) == ("a@x", date(2026, 11, 26), "missing",
                                                        "no report")
        assert v.withdrawn is False and v.withdrawn_reason is None
        assert session.execute(text("select missing from day_closes")).scalar_one() == 1
        assert session.scalars(select(LeaveEntry)).all() == []
        assert session.scalars(select(Change)).all() == []


def test_a_database_before_commands_is_upgraded_keeping_its_leave(tmp_path, postgres):
    """0007 → head adds the commands kept from mail (0008); leave entries and their
    history recorded before stay as they were."""
    from mailflow.store.models import Change, Command, LeaveEntry
    at = "2026-11-26T12:00:00.000000+00:00"
    with _at_revision(tmp_path, postgres, "0007") as (conn, url):
        conn.execute(text("insert into leave_entries (email, date_from, date_to, kind, half_day, "
                          "state, source, decided_by, note, created_at) values ('a@x', "
                          "'2026-11-26', '2026-11-27', '病假', false, 'approved', 'cli', 'hr@x', "
                          "'发烧', :at)"), {"at": at})
        conn.execute(text("insert into changes (at, by, via, what, before, after, email, date) "
                          "values (:at, 'hr@x', 'cli', 'leave approved', '', 'leave #1', 'a@x', "
                          "'2026-11-26')"), {"at": at})
    db = open_db(url)
    with db.read() as session:
        e = session.scalars(select(LeaveEntry)).one()
        assert (e.email, e.date_from, e.date_to, e.kind, e.state, e.note) == \
            ("a@x", date(2026, 11, 26), date(2026, 11, 27), "病假", "approved", "发烧")
        assert session.scalars(select(Change.what)).all() == ["leave approved"]
        assert session.scalars(select(Command)).all() == []
    with db.write.begin() as session:
        session.add(Command(message_id="m@x", mail_id=None, sender="hr@x", action="correct",
                            state="refused", reason="r", at=NOW))
    with pytest.raises(IntegrityError):
        with db.write.begin() as session:
            session.add(Command(message_id="m@x", mail_id=None, sender="hr@x",
                                action="correct", state="applied", reason="", at=NOW))


def test_a_database_at_0007_is_upgraded_keeping_its_reports_and_leave(tmp_path, postgres):
    """0007 → head adds the reviews of the daily clearing and the regions HR left; the
    mails, reports, violations and leave already recorded stay as they were."""
    from mailflow.store.models import HrAssistEnd, LeaveEntry, Report, Review
    at = "2026-11-26T12:05:00.000000+00:00"
    with _at_revision(tmp_path, postgres, "0007") as (conn, url):
        conn.execute(text("insert into mails (dedupe_key, message_id, sha256, size, truncated, "
                          "received_at, mailbox, folder, state, kind, raw, recorded_at) values "
                          "('mid:r1', 'r1', 'h', 1, false, :at, 'hr', 'INBOX', 'processed', "
                          "'daily', :raw, :at)"), {"at": at, "raw": b"\x00"})
        mail_id = conn.execute(text("select id from mails")).scalar_one()
        conn.execute(text("insert into reports (mail_id, kind, email, name, region, supervisor, "
                          "report_date, received_at, subject, message_id, earned_status, "
                          "fields, metrics, missing_sections) values (:m, 'daily', 'a@x', "
                          "'甲', '华东', 's@x', '2026-11-26', :at, '日报', 'r1', 'on_time', "
                          "'{}', '{}', '[]')"), {"m": mail_id, "at": at})
        conn.execute(text("insert into leave_entries (email, date_from, date_to, kind, "
                          "half_day, state, source, note, created_at) values ('a@x', "
                          "'2026-11-27', '2026-11-27', '请假', false, 'approved', 'cli', '', "
                          ":at)"), {"at": at})
    db = open_db(url)
    with db.read() as session:
        r = session.scalars(select(Report)).one()
        assert (r.email, r.report_date, r.message_id, r.earned_status) == (
            "a@x", date(2026, 11, 26), "r1", "on_time")
        assert session.scalars(select(LeaveEntry.kind)).one() == "请假"
        assert session.scalars(select(Review)).all() == []
        assert session.scalars(select(HrAssistEnd)).all() == []
    with db.write.begin() as session:   # the new table takes a review of the old report
        session.add(Review(mail_id=r.mail_id, report_id=r.id, report_message_id="r1",
                           email="a@x", report_date=date(2026, 11, 26), reviewer="s@x",
                           reviewed_at=NOW, comment="已阅", bulk=False))
    with db.read() as session:
        assert session.scalars(select(Review.comment)).one() == "已阅"


def test_an_unknown_delivery_before_0010_is_listed_from_when_its_data_was_sent(tmp_path,
                                                                                postgres):
    """0009 → head (0010) keeps every outbox row; one already `unknown` gets unknown_since
    from its data_at, so it is named until resolved like the ones after."""
    from mailflow.delivery.outbox import unresolved
    at = "2026-11-26T13:45:00.000000+00:00"
    data = "2026-11-26T13:45:02.000000+00:00"
    with _at_revision(tmp_path, postgres, "0009") as (conn, url):
        for key, state, data_at in (("d1", "unknown", data), ("d2", "sent", None)):
            conn.execute(text(
                "insert into outbox (dedupe_key, kind, period, message_id, to_addrs, cc_addrs, "
                "subject, raw, state, attempts, next_attempt_at, queued_at, data_at) values "
                f"(:k, 'digest', '2026-11-26', :k, '[\"qian.zg@example.com\"]', '[]', '日清', "
                ":raw, :state, 1, :at, :at, :data)"),
                {"k": key, "raw": b"x", "state": state, "at": at, "data": data_at})
    db = open_db(url)
    with db.read() as session:
        [row] = unresolved(session)
        assert (row.message_id, row.resends, row.resolution) == ("d1", 0, None)
        assert row.unknown_since == datetime(2026, 11, 26, 13, 45, 2, tzinfo=timezone.utc)
        assert session.execute(text("select count(*) from outbox")).scalar_one() == 2


def test_the_outbox_mail_is_compressed_with_lz4_on_postgresql(tmp_path, postgres):
    """0011: on PostgreSQL the queued mail's bytes are TOAST-compressed with lz4 (faster
    than pglz at close-day's 2,000 digests in one statement); a queued mail reads back
    the same. SQLite stores the bytes as they are."""
    from conftest import new_database
    url = new_database(postgres)
    if url.startswith("sqlite:///mailflow.db"):
        url = f"sqlite:///{tmp_path / 'lz4.db'}"
    db = open_db(url)
    raw = ("日清汇总 " * 4000).encode()        # past the TOAST threshold, compressible
    with db.engine.begin() as conn:
        conn.execute(text("insert into outbox (dedupe_key, kind, period, to_addrs, cc_addrs, "
                          "subject, message_id, raw, state, attempts, next_attempt_at, "
                          "queued_at) values ('k', 'digest', '2026-11-27', '[]', '[]', 's', "
                          "'<m@x>', :raw, 'pending', 0, :at, :at)"),
                     {"raw": raw, "at": "2026-11-27T14:00:00.000000+00:00"})
    with db.engine.connect() as conn:
        assert bytes(conn.execute(text("select raw from outbox")).scalar_one()) == raw
        if conn.dialect.name == "postgresql":
            method = conn.execute(text(
                "select attcompression from pg_attribute where attrelid = 'outbox'::regclass "
                "and attname = 'raw'")).scalar_one()
            stored = conn.execute(text("select pg_column_compression(raw) from outbox")
                                  ).scalar_one()
            assert (method, stored) == ("l", "lz4")
    db.engine.dispose()
