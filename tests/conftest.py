"""Shared fixtures: a project folder with settings and roster, the CLI, real servers."""

from __future__ import annotations

import io
import os
import shutil
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mailflow.cli.parser import main  # noqa: E402
from mailflow.testing.embedded import EmbeddedImap  # noqa: E402
from mailflow.testing.settings import SENDER, mailbox_block, settings_toml  # noqa: E402
from mailflow.testing.settings import smtp_block as testing_smtp_block  # noqa: E402
from servers import Dovecot, Postgres, SmtpServer  # noqa: E402

# MAILFLOW_TEST_DB=postgresql runs the suite on a private PostgreSQL (scripts/test.sh runs
# it both ways); otherwise on SQLite.
ON_POSTGRES = os.environ.get("MAILFLOW_TEST_DB") == "postgresql"

ROOT = Path(__file__).resolve().parent.parent
# The parsed rosters the commands keep (config/rostercache.py) go to the build folder,
# not to the home of whoever runs the tests.
os.environ.setdefault("MAILFLOW_CACHE_DIR", str(ROOT / "build" / "test-cache"))
# The clock of every command a test runs without a time of its own: no test reads the
# wall clock (scripts/test.sh runs the suite under a clock in 2027 and in 2030 too).
CLOCK = "2026-11-30T10:00:00+08:00"
MAIL = Path(__file__).resolve().parent / "mail"

ROSTER = """\
email,name,role,region,supervisor,start_date,end_date,probation
hr@example.com,人事部,hr,,,2024-01-01,,no
gm@example.com,王总,management,,,2024-01-01,,no
qian.zg@example.com,钱主管,supervisor,华东,,2024-01-01,,no
sun.zg@example.com,孙主管,supervisor,华南,,2024-01-01,,no
feng.zhe@example.com,冯喆,sales,华东,qian.zg@example.com,2025-01-01,,no
han.mei@example.com,韩梅,sales,华东,qian.zg@example.com,2025-01-01,,no
zhao.lei@example.com,赵磊,sales,华东,qian.zg@example.com,2025-01-01,2026-11-17,no
zhao.lei@example.com,赵磊,sales,华南,sun.zg@example.com,2026-11-18,,no
li.na@example.com,李娜,sales,华南,sun.zg@example.com,2026-11-18,,yes
"""


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Project:
    root: Path
    mailboxes: list[str] = field(default_factory=list)
    extra: str = ""
    database: str = "sqlite:///mailflow.db"

    @property
    def settings(self) -> Path:
        return self.root / "settings.toml"

    def write_settings(self, extra: str | None = None, *, database: str | None = None) -> None:
        """Rewrite settings.toml; `extra` (e.g. an [smtp] block) is kept for later rewrites."""
        if extra is not None:
            self.extra = extra
        if database is not None:
            self.database = database
        self.settings.write_text(settings_toml(database=self.database, mailboxes=self.mailboxes,
                                               tail=self.extra), encoding="utf-8")

    def add_mailbox(self, name: str, port: int, user: str, *, security: str = "none",
                    folders: tuple[str, ...] = ("INBOX",), extra: str = "",
                    timeout: float = 10) -> None:
        self.mailboxes.append(mailbox_block(
            name, port, user, password_env=f"MAILFLOW_TEST_{name.upper()}_PASSWORD",
            security=security, folders=folders, timeout=timeout, extra=extra))
        self.write_settings()

    def engine(self):  # type: ignore[no-untyped-def]
        """An engine on this project's database, for tests that look at the record."""
        from sqlalchemy import create_engine

        url = self.database
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            url = f"sqlite:///{self.root / url[len('sqlite:///'):]}"
        return create_engine(url)

    def cli(self, *args: str, now: str | None = None) -> Result:
        argv = ["--config", str(self.settings), "--now", now or CLOCK]
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main([*argv, *args])
        return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="session")
def postgres():
    if not ON_POSTGRES:
        yield None
        return
    server = Postgres().start()
    yield server
    server.stop()


def new_database(postgres) -> str:  # type: ignore[no-untyped-def]
    """A fresh database URL: a new PostgreSQL database, or SQLite beside the settings."""
    if postgres is None:
        return "sqlite:///mailflow.db"
    import uuid
    return postgres.create_database("mf_" + uuid.uuid4().hex[:12])


@pytest.fixture
def project(tmp_path: Path, postgres) -> Project:
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    p = Project(tmp_path)
    p.new_database = lambda: new_database(postgres)
    p.write_settings(database=p.new_database())
    return p


TEST_USERS = ("hr@example.com", "qian.zg@example.com", "sun.zg@example.com",
              "reports@example.com")


@pytest.fixture(scope="session")
def dovecot() -> Dovecot:
    server = Dovecot()
    for user in TEST_USERS:
        server.add_user(user, "secret-" + user.split("@")[0])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def embedded() -> EmbeddedImap:
    server = EmbeddedImap().start()
    for user in TEST_USERS:
        server.add_user(user, "secret-" + user.split("@")[0])
    yield server
    server.stop()


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


def wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    """The first true value of `predicate()`, asked every 0.1 s for `timeout` seconds (a
    monotonic wait: it keeps its length under a faked wall clock)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def signal_other_thread(pid: int, signum: int) -> None:
    """Send `signum` to a thread of process `pid` other than its main thread (tgkill), as
    the kernel may do with a signal sent to the process: the process must act on it all
    the same."""
    import ctypes
    import os

    tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid)
    assert tids, "the process has no thread besides its main one"
    tgkill = {"x86_64": 234, "aarch64": 131}[os.uname().machine]
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.syscall(tgkill, pid, tids[-1], signum) == 0, os.strerror(ctypes.get_errno())


def smtp_block(port: int, sender: str = SENDER) -> str:
    return testing_smtp_block(port, sender=sender, timeout=10)


@pytest.fixture
def passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, user in (("HR", "hr"), ("SUP", "qian.zg"), ("SUN", "sun.zg"), ("ALT", "hr"),
                       ("REPORTS", "reports")):
        monkeypatch.setenv(f"MAILFLOW_TEST_{name}_PASSWORD", f"secret-{user}")


def read_mail(name: str) -> bytes:
    return (MAIL / name).read_bytes()


# The host's own zone is deliberately far from the company's: nothing may depend on it.
os.environ["TZ"] = "America/Los_Angeles"
time.tzset()


def report(client: str = "mutt", **kw: object) -> bytes:
    """A report mail as `client` writes it; keywords override the default draft."""
    from mail.make_cases import draft

    from mailflow.testing.clientmail import write

    return write(client, draft(**kw))


# -- the part of the suite that also runs under a clock in 2027 and in 2030 ------------

# scripts/test.sh runs `-m "anydate and not clockfree"` under libfaketime, so that a
# test or a code path that reads the wall clock fails there. ANYDATE: what judges a date
# or a time (checks, workdays and the law's holidays, the schedule, parse/ingest/poll,
# status and export, reminders, notices and digests, weekly/monthly/compliance mails,
# `run` and its catch-up, one demo run and what its mails say, the 2027 service).
# CLOCKFREE: what judges no date, left out to keep each faked run short (IMAP and SMTP
# protocol and fault tests, who sends a row, demo folder handling, a second demo run,
# the poll week on the embedded server as well as Dovecot, help and error messages). Modules not named here (bad mail,
# charsets, kills, instances, the wheel, layout, SMTP login) judge no date either. A
# new module that judges dates belongs in ANYDATE. Patterns are fnmatch'ed against
# "file::test[params]"; a bare file name means all of its tests.
ANYDATE = (
    "test_checks.py", "test_workdays.py", "test_schedule.py", "test_weekly_monthly.py",
    "test_mails.py", "test_notice_wording.py", "test_poll_week.py", "test_cli.py",
    "test_demo.py", "test_outbound.py", "test_run.py", "test_store.py", "test_roster.py",
    "test_classify.py", "test_parse.py", "test_settings.py", "test_service.py", "test_leave.py",
    "test_health.py", "test_leavedates.py", "test_leave_mail.py",
    "test_clearing.py", "test_transition.py", "test_many_regions.py",
    "test_imap.py::test_first_sync_since",
    "test_imap.py::test_a_year_the_calendar_package_does_not_know_is_judged",
    "test_faults.py::test_host_clock_in_utc_company_in_shanghai",
)
CLOCKFREE = (
    "test_poll_week.py::*embedded*",
    "test_cli.py::test_demo_keep_running_serves_the_mailboxes_to_a_mail_client",
    "test_demo.py::test_out_*",
    "test_run.py::test_notice_arrives_within_seconds_of_the_report_via_idle",
    "test_outbound.py::test_delivery_over_tls_with_the_servers_ca*",
    "test_outbound.py::test_two_senders_at_once_never_send_a_row_twice",
    "test_outbound.py::test_one_refused_recipient_does_not_resend_to_the_others",
    "test_outbound.py::test_crlf_in_a_display_name_cannot_inject_headers",
    "test_run.py::test_a_running_service_finishes_a_delivery_another_sender_died_in",
    "test_run.py::test_sigterm_handed_to_another_thread_stops_the_service",
    "test_cli.py::test_help_teaches",
    "test_cli.py::test_readme_command_reference_matches_help",
    "test_cli.py::test_user_mistakes_get_a_message_not_a_traceback",
    "test_cli.py::test_a_reader_that_goes_away_gets_no_traceback",
)


# DBFREE: tests that never open the configured database (pure functions, the parser and
# its fuzzing, the demo, which keeps its own SQLite file, the wheel, the layout); the
# PostgreSQL run (scripts/test.sh) leaves them out: on PostgreSQL they would repeat the
# SQLite run exactly.
DBFREE = (
    "test_charsets.py", "test_checks.py", "test_classify.py", "test_clientmail.py",
    "test_leavedates.py", "test_replytext.py",
    "test_codes.py", "test_demo.py", "test_parse.py", "test_render.py", "test_roster.py",
    "test_sections.py", "test_service_unit.py", "test_wheel.py", "test_layout.py",
    "test_systemd.py::test_notify_*", "test_systemd.py::test_watchdog_*",
    "test_identity.py", "test_export_stream.py",
    "test_cli.py::test_demo_*", "test_badmail.py::test_fuzz_*",
    "test_badmail.py::test_corpus_is_large_enough", "test_badmail.py::test_each_corpus_mail_*",
    "test_badmail.py::test_the_two_largest_are_bounded",
)


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    from fnmatch import fnmatchcase

    def named(item, patterns) -> bool:  # type: ignore[no-untyped-def]
        test = f"{item.nodeid.split('::')[0].rsplit('/', 1)[-1]}::{item.name}"
        return any(fnmatchcase(test, p if "::" in p else p + "::*") for p in patterns)

    for item in items:
        if named(item, ANYDATE):
            item.add_marker(pytest.mark.anydate)
        if named(item, CLOCKFREE):
            item.add_marker(pytest.mark.clockfree)
        # A test that asks for no database server cannot open PostgreSQL: on that run
        # it would repeat the SQLite run exactly (the demo, the wheel, a CLI with no
        # project).
        if named(item, DBFREE) or "postgres" not in item.fixturenames:
            item.add_marker(pytest.mark.dbfree)


# -- the reliability report's figures, counted from the run itself ----------------------

RELIABILITY_DIRS = {"faults": "faults", "badmail": "bad input"}
_outcomes: dict[str, dict[str, int]] = {}


def pytest_runtest_logreport(report):  # type: ignore[no-untyped-def]
    if report.when == "teardown":
        fuzzed = sum(n for key, n in report.user_properties if key == "examples")
        if fuzzed:
            bad = _outcomes.setdefault("bad input", {"passed": 0, "failed": 0})
            bad["examples"] = bad.get("examples", 0) + fuzzed
        return
    if report.when != "call":
        return
    path = report.nodeid.split("::")[0]
    group = next((name for d, name in RELIABILITY_DIRS.items() if f"/{d}/" in f"/{path}"), None)
    group = group or ("spoof" if "authres" in report.nodeid or "spoof" in report.nodeid else None)
    group = group or ("health" if path.endswith(("test_health.py", "test_systemd.py")) else None)
    if group is None:
        return
    counts = _outcomes.setdefault(group, {"passed": 0, "failed": 0})
    counts["passed" if report.passed else "failed"] += 1


def pytest_sessionfinish(session, exitstatus):  # type: ignore[no-untyped-def]
    import json
    # The runs under a fake clock take a part of the suite: their counts are not the
    # report's (scripts/test.sh sets FAKETIME for them).
    # Under pytest-xdist the reports reach the controlling process, which writes the file.
    if not _outcomes or os.environ.get("FAKETIME") or hasattr(session.config, "workerinput"):
        return
    out = ROOT / "build"
    out.mkdir(exist_ok=True)
    name = "reliability-postgresql.json" if ON_POSTGRES else "reliability-sqlite.json"
    (out / name).write_text(json.dumps({"outcomes": _outcomes, "exit": int(exitstatus)},
                                       indent=2))
