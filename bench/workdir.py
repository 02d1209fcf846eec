"""A mailflow project folder for a benchmark: roster, rules, templates, settings."""

from __future__ import annotations

import shutil
from pathlib import Path

from mailflow.testing.settings import settings_toml, smtp_block

ROOT = Path(__file__).resolve().parent.parent
ROSTER_HEADER = "email,name,role,region,supervisor,start_date,end_date,probation"


def write_project(work: Path, roster: list[str], *, database: str,
                  smtp_port: int | None = None, connections: int = 1,
                  management: bool = False, mailbox: str = "") -> Path:
    """Write the folder; `roster` is the CSV's rows without its header, `mailbox` a
    [[mailbox]] block; `database` a file name beside the settings or a database URL. Returns the settings file."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "roster.csv").write_text("\n".join([ROSTER_HEADER, *roster]) + "\n",
                                     encoding="utf-8")
    shutil.copytree(ROOT / "rules", work / "rules", dirs_exist_ok=True)
    shutil.copytree(ROOT / "templates", work / "templates", dirs_exist_ok=True)
    smtp = "" if smtp_port is None else smtp_block(smtp_port, connections=connections)
    (work / "settings.toml").write_text(settings_toml(
        database=database if "://" in database else f"sqlite:///{database}", name="bench",
        management=("gm@example.com",) if management else (), authserv_ids=(), rules=None,
        templates=None, mailboxes=[mailbox], tail=smtp), encoding="utf-8")
    return work / "settings.toml"
