"""`mailflow init [DIR]`: a starter configuration for a company to fill in."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from . import shipped
from ..errors import UserError

SETTINGS = """\
# mailflow settings for your company. Fill in what is marked FILL IN, then run
#   mailflow --config {path} check-config
# Secrets never go in this file: name the environment variable that holds each password.

[company]
name = "FILL IN: 公司名称"
timezone = "Asia/Shanghai"
roster = "roster.csv"              # HR's roster; relative to this file
hr = ["hr@example.com"]            # FILL IN: HR's addresses (any one in Cc satisfies the rule)
management = ["gm@example.com"]    # FILL IN: where supervisors send their weekly reports
authserv_ids = ["mx.example.com"]  # your mail server's Authentication-Results id
# it = ["it@example.com"]          # also gets the alert mails (a mailbox down, a job failed)
rules = "rules"
templates = "templates"

[database]
url = "sqlite:///mailflow.db"      # beside this file: the service's user must own this folder

# One block per mailbox to read. HR's mailbox sees every report (HR is in Cc).
[[mailbox]]
name = "hr"
host = "imap.exmail.qq.com"        # FILL IN: Tencent Exmail shown; see the README's table
port = 993
security = "ssl"
username = "hr@example.com"        # FILL IN
password_env = "MAILFLOW_HR_PASSWORD"
folders = ["INBOX"]
since = "{today}"                 # the first sync reads mail from this day on

[smtp]
host = "smtp.exmail.qq.com"        # FILL IN
port = 465
security = "ssl"
username = "reports@example.com"   # FILL IN: the account mailflow sends from
password_env = "MAILFLOW_SMTP_PASSWORD"
sender = "日报助手 <reports@example.com>"
connections = 1                    # connections to deliver on at once (your provider's limit)
"""

ROSTER = """\
email,name,role,region,supervisor,start_date,end_date,probation
hr@example.com,人事部,hr,,,2024-01-01,,no
gm@example.com,总经理,management,,,2024-01-01,,no
qian.zg@example.com,钱主管,supervisor,华东,,2024-01-01,,no
zhang.san@example.com,张三,sales,华东,qian.zg@example.com,2025-03-01,,no
li.si@example.com,李四,sales,华东,qian.zg@example.com,2026-11-02,,yes
"""


def init(folder: Path, today: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    targets = [folder / "settings.toml", folder / "roster.csv", folder / "rules",
               folder / "templates"]
    existing = [t for t in targets if t.exists()]
    if existing:
        raise UserError("not overwriting what is there: " + ", ".join(str(t) for t in existing)
                        + "; choose an empty folder")
    rules, templates = shipped.folder("rules"), shipped.folder("templates")
    (folder / "settings.toml").write_text(
        SETTINGS.format(path=folder / "settings.toml", today=today), encoding="utf-8")
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    shutil.copytree(rules, folder / "rules")
    shutil.copytree(templates, folder / "templates")
    return targets


def service_steps(folder: Path) -> str:
    """How to run `folder` as the README's systemd service, with its real paths."""
    data = folder.resolve()
    # The command beside this interpreter is the one the unit should start.
    program = Path(sys.executable).with_name("mailflow")
    command = str(program) if program.is_file() else "mailflow"
    return (f"To run it as a service (README, \"Running as a service\"): the unit's "
            f"WorkingDirectory is {data}, its ExecStart `{command} --config "
            f"{data / 'settings.toml'} run`, and the database {data / 'mailflow.db'}; create "
            f"the service's user and give it this folder: `sudo useradd --system --home-dir "
            f"{data} --shell /usr/sbin/nologin mailflow && sudo chown -R mailflow:mailflow "
            f"{data}`.")
