"""Opening the database: pragmas for SQLite, migrations to the newest schema."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import UserError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # busy_timeout first: a writer waits for another instead of failing with "database is
    # locked", and so does the switch to WAL, which lets readers and one writer coexist.
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


_JSON = json.JSONDecoder()
# Chinese as itself, not as six-byte escapes, and no spaces: a report's fields took half
# again the bytes, on disk and in every decode.
_JSON_OUT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json_loads(data: Any) -> Any:
    # psycopg hands a JSON column over as bytes, and json.loads of bytes first guesses
    # their encoding: a third of decoding the million report fields of a large month.
    # PostgreSQL sends UTF-8.
    return _JSON.decode(data if isinstance(data, str) else bytes(data).decode("utf-8"))


def make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30},
                                   json_serializer=_JSON_OUT.encode)
            event.listen(engine, "connect", _sqlite_pragmas)
            # pysqlite's own transaction handling is turned off and BEGIN emitted here: a
            # writing transaction takes the write lock up front (BEGIN IMMEDIATE), so a
            # read-then-write never fails on a snapshot another writer moved; readers
            # begin deferred and never block anyone (WAL).
            @event.listens_for(engine, "begin")
            def _begin(conn: Any) -> None:
                write = conn.get_execution_options().get("mailflow_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

            @event.listens_for(engine, "connect")
            def _autocommit(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = None
        else:
            engine = create_engine(url, pool_pre_ping=True, json_serializer=_JSON_OUT.encode,
                                   json_deserializer=_json_loads)
    except (ArgumentError, ImportError) as exc:
        raise UserError(f"[database] url {url!r} cannot be used: {exc}") from None
    return engine


def head_revision() -> str:
    """The newest migration's revision. Each file in migrations/versions is named after
    its revision, numbered in order (tests/test_store.py holds them to it)."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def _revision(engine: Engine) -> str | None:
    """The database's revision, or None where it cannot be read (a new database, or one
    that cannot be opened: alembic's upgrade then meets the same error and says it)."""
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except DBAPIError:
        return None


def migrate(engine: Engine) -> None:
    # Every command opens the database: importing alembic and reading its scripts costs
    # a third of a second, a fifth of a short command's run. A database already at the
    # newest revision needs neither.
    if _revision(engine) == head_revision():
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # A writing transaction from the start: several processes starting at once then queue
    # for the lock instead of one failing to upgrade a read into a write.
    with engine.execution_options(mailflow_write=True).begin() as conn:
        if conn.dialect.name == "postgresql":
            # Several processes starting on a new database would each create the tables:
            # one migrates, the others wait for it and then find nothing to do.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7243001)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@dataclass(frozen=True)
class Database:
    """Session factories: `write` for transactions that change the record, `read` for
    those that only look."""

    engine: Engine
    write: sessionmaker[Session]
    read: sessionmaker[Session]


def open_db(url: str) -> Database:
    """An engine on the newest schema and its session factories."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        folder = Path(url[len("sqlite:///"):]).parent
        if not folder.is_dir():
            raise UserError(f"[database] url: folder {folder} does not exist; create it or "
                            "change the url")
    engine = make_engine(url)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        raise UserError(f"cannot open the database {engine.url!r}: "
                        f"{getattr(exc, 'orig', None) or exc}") from None
    writer = engine.execution_options(mailflow_write=True)
    return Database(engine, sessionmaker(writer, expire_on_commit=False),
                    sessionmaker(engine, expire_on_commit=False))

