"""rules/health.toml → `HealthRules`: when `mailflow health` and the alert mails call
something wrong (a mailbox not fetched, SMTP failing, a mailbox gone silent). Every key
has a default; a file that is absent means all the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import Problem
from .tomlread import TableReader, load_toml


@dataclass(frozen=True)
class HealthRules:
    fetch_stale_minutes: int = 120      # a folder not fetched for longer is reported
    mailbox_failing_minutes: int = 60   # a mailbox failing longer is mailed about
    smtp_failing_minutes: int = 60      # SMTP failing longer is logged loudly
    skipped_within_hours: int = 24      # a job skipped this recently is reported
    failed_within_days: int = 7         # a job failed this recently (and not since done)
    usual_workdays: int = 10            # "usually has reports": of the last N workdays,
    usual_min_days: int = 7             # at least this many had one in the mailbox
    file: str = "rules/health.toml"


def _positive(t: TableReader, name: str, default: int, unit: str) -> int:
    value = t.get(name, int, default)
    if value is None:
        return default
    if value < 1:
        t.problem(name, f"is {value}", f"write a whole number of {unit}, 1 or more "
                                       f"(default {default})")
        return default
    return value


def load_health(path: Path, problems: list[Problem]) -> HealthRules:
    data = load_toml(path, problems) if path.exists() else {}
    d = HealthRules()
    if data is None:
        return d
    root = TableReader(str(path), data, "", problems)
    h = root.sub("health")
    stale = _positive(h, "fetch_stale_minutes", d.fetch_stale_minutes, "minutes")
    skipped = _positive(h, "skipped_within_hours", d.skipped_within_hours, "hours")
    failed = _positive(h, "failed_within_days", d.failed_within_days, "days")
    h.finish()
    a = root.sub("alerts")
    mailbox = _positive(a, "mailbox_failing_minutes", d.mailbox_failing_minutes, "minutes")
    smtp = _positive(a, "smtp_failing_minutes", d.smtp_failing_minutes, "minutes")
    usual = _positive(a, "usual_workdays", d.usual_workdays, "workdays")
    usual_min = _positive(a, "usual_min_days", d.usual_min_days, "workdays")
    if usual_min > usual:
        a.problem("usual_min_days", f"is {usual_min}, more than usual_workdays ({usual})",
                  "write a number no larger than usual_workdays")
        usual_min = usual
    a.finish()
    root.finish()
    return HealthRules(stale, mailbox, smtp, skipped, failed, usual, usual_min, str(path))
