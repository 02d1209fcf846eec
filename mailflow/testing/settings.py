"""The one writer of settings.toml for tests, benchmarks and the demo: the same keys the
operator's file has (SPEC), with loopback servers and example people filled in. Returns
text; the caller writes it where its project folder is."""

from __future__ import annotations

import json
from collections.abc import Sequence

SENDER = "日报助手 <reports@example.com>"


def _list(values: Sequence[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def settings_toml(*, database: str, name: str = "示例销售有限公司",
                  timezone: str = "Asia/Shanghai", roster: str = "roster.csv",
                  hr: Sequence[str] = ("hr@example.com",),
                  management: Sequence[str] = ("gm@example.com",),
                  authserv_ids: Sequence[str] = ("mx.example.com",),
                  rules: str | None = "rules", templates: str | None = "templates",
                  mailboxes: Sequence[str] = (), tail: str = "", header: str = "") -> str:
    """[company] and [database], then the [[mailbox]] blocks and `tail` (e.g. [smtp]).
    A key given as None or empty is left out, so mailflow's default applies."""
    company = ["[company]", f'name = "{name}"', f'timezone = "{timezone}"',
               f'roster = "{roster}"', f"hr = {_list(hr)}"]
    if management:
        company.append(f"management = {_list(management)}")
    if authserv_ids:
        company.append(f"authserv_ids = {_list(authserv_ids)}")
    if rules is not None:
        company.append(f'rules = "{rules}"')
    if templates is not None:
        company.append(f'templates = "{templates}"')
    return (header + "\n".join(company) + f'\n\n[database]\nurl = "{database}"\n'
            + "".join(mailboxes) + "\n" + tail + "\n")


def mailbox_block(name: str, port: int, user: str, *, password_env: str,
                  security: str = "none", folders: Sequence[str] = ("INBOX",),
                  timeout: float | None = None, extra: str = "") -> str:
    """One [[mailbox]] on loopback; `extra` is more keys of the same table."""
    folder_list = ", ".join(f'"{f}"' for f in folders)
    timeout_line = "" if timeout is None else f"timeout = {timeout}\n"
    return f"""
[[mailbox]]
name = "{name}"
host = "127.0.0.1"
port = {port}
security = "{security}"
username = "{user}"
password_env = "{password_env}"
folders = [{folder_list}]
{timeout_line}{extra}
"""


def smtp_block(port: int, *, sender: str = SENDER, timeout: float | None = None,
               connections: int | None = None) -> str:
    """[smtp] on loopback, no login."""
    more = "".join(f"{key} = {value}\n" for key, value in
                   (("timeout", timeout), ("connections", connections)) if value is not None)
    return f"""
[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
username = ""
sender = "{sender}"
{more}"""
