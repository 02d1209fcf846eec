"""A mailflow project folder for a benchmark: roster, rules, templates, settings."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROSTER_HEADER = "email,name,role,region,supervisor,start_date,end_date,probation"


def write_project(work: Path, roster: list[str], *, database: str,
                  smtp_port: int | None = None, connections: int = 1,
                  management: bool = False, mailbox: str = "") -> Path:
    """Write the folder; `roster` is the CSV's rows without its header, `mailbox` a
    [[mailbox]] block. Returns the settings file."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "roster.csv").write_text("\n".join([ROSTER_HEADER, *roster]) + "\n",
                                     encoding="utf-8")
    shutil.copytree(ROOT / "rules", work / "rules", dirs_exist_ok=True)
    shutil.copytree(ROOT / "templates", work / "templates", dirs_exist_ok=True)
    smtp = "" if smtp_port is None else f"""
[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
username = ""
sender = "日报助手 <reports@example.com>"
connections = {connections}
"""
    (work / "settings.toml").write_text(f"""
[company]
name = "bench"
timezone = "Asia/Shanghai"
roster = "roster.csv"
hr = ["hr@example.com"]
{'management = ["gm@example.com"]' if management else ""}
[database]
url = "sqlite:///{database}"
{mailbox}
{smtp}""", encoding="utf-8")
    return work / "settings.toml"
