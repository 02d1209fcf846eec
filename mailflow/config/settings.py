"""settings.toml → frozen dataclasses, validated at start.

Every problem names the file, the key and the fix; secrets are read only from the
environment variables the settings name.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError, Problem
from .tomlread import TableReader, load_toml, raise_if

SECURITY = ("ssl", "starttls", "none")
# Larger mail is fetched in part: its head holds the headers and the report text, which
# every client puts first; the scans and photos after it stay on the server. A report
# with its .xlsx is well under this; parsing a mail takes about ten times its size.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Mailbox:
    name: str
    host: str
    port: int
    security: str
    username: str
    password_env: str
    folders: tuple[str, ...]
    since: date | None = None
    timeout: float = 30.0
    max_message_bytes: int = MAX_MESSAGE_BYTES
    verify_tls: bool = True
    ca_file: str | None = None
    fetch_batch: int = 200

    def password(self) -> str:
        return read_secret(self.password_env, f"[[mailbox]] {self.name!r} password_env")


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    security: str
    username: str
    password_env: str
    sender: str
    timeout: float = 30.0
    verify_tls: bool = True
    ca_file: str | None = None
    connections: int = 1
    # A delivery whose outcome is unknown (cut after the whole message was sent): "hold"
    # reports it until someone resolves it; "resend" also sends it once more, with the
    # same Message-ID, `resend_after` seconds later.
    on_unknown: str = "hold"
    resend_after: float = 600.0


ON_UNKNOWN = ("hold", "resend")


@dataclass(frozen=True)
class Company:
    name: str
    timezone: ZoneInfo
    roster: Path
    hr: tuple[str, ...]
    management: tuple[str, ...]
    authserv_ids: tuple[str, ...]
    rules: Path
    templates: Path
    leave: Path | None = None      # HR's leave sheet (leave.csv), when kept
    it: tuple[str, ...] = ()       # also get the alert mails (a service gone dark)


@dataclass(frozen=True)
class Settings:
    path: Path
    company: Company
    database_url: str
    mailboxes: tuple[Mailbox, ...]
    smtp: Smtp | None
    warnings: tuple[str, ...] = field(default=())


def read_secret(env_name: str, where: str) -> str:
    value = os.environ.get(env_name)
    if value is None:
        raise ConfigError([Problem("(environment)", env_name, f"is not set ({where} names it)",
                                   f"export {env_name}=… before running mailflow")])
    return value


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except OSError:
            return False


def _resolve(base: Path, value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else (base / p)


def _sqlite_url(base: Path, url: str) -> str:
    """A relative SQLite path is relative to the settings file's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        rel = url[len(prefix):]
        if rel and not rel.startswith(":"):
            return prefix + str((base / rel).resolve())
    return url


def _read_server(t: TableReader, kind: str, label: str, warnings: list[str],
                 secret_hint: str) -> dict[str, object]:
    host = t.get("host", str, "", required=True) or ""
    port = t.get("port", int, 0, required=True) or 0
    security = t.get("security", str, "ssl") or "ssl"
    if security not in SECURITY:
        t.problem("security", f"is {security!r}", 'use "ssl", "starttls" or "none"')
    elif security == "none" and host and not is_loopback(host):
        t.problem("security", f'is "none" for {host}, which is not a loopback address',
                  'use "ssl" (port 993/465) or "starttls" (143/587): plaintext passwords '
                  "only ever go to this machine")
    # A port of the wrong type is said once, by get(), not a second time as out of range.
    if not (0 < port < 65536) and isinstance(t.data.get("port"), int):
        t.problem("port", f"is {port}", "use a port between 1 and 65535")
    if "password" in t.data:
        t.seen.add("password")
        t.problem("password", "holds a secret in the settings file",
                  f"delete it, put the password in an environment variable and write "
                  f'password_env = "{secret_hint}"')
    verify = t.get("verify_tls", bool, True)
    if verify is False:
        warnings.append(f"{t.file}: {t.prefix}.verify_tls = false: TLS certificates of "
                        f"{host} are not checked ({label})")
    timeout = t.get("timeout", float, 30.0) or 30.0
    ca_file = t.get("ca_file", str, None)
    if ca_file:
        ca_path = _resolve(Path(t.file).parent, ca_file)
        if not ca_path.is_file():
            t.problem("ca_file", f"{ca_path} does not exist",
                      "name the PEM file of the CA that signed the server's certificate")
        ca_file = str(ca_path)
    return {"host": host, "port": port, "security": security, "verify_tls": verify is not False,
            "timeout": timeout, "ca_file": ca_file}


def _addresses(t: TableReader, name: str) -> tuple[str, ...]:
    """An optional list of mail addresses, each checked for its @."""
    found = tuple(a.strip().lower() for a in t.str_list(name))
    for a in found:
        if a.count("@") != 1 or a.startswith("@") or a.endswith("@") or " " in a:
            t.problem(name, f"{a!r} is not a mail address",
                      f'write {name} = ["it@example.com"], or leave {name} out')
    return found


def load_settings(path: Path) -> Settings:
    path = path.resolve()
    problems: list[Problem] = []
    data = load_toml(path, problems)
    raise_if(problems)
    assert data is not None
    file = str(path)
    base = path.parent
    root = TableReader(file, data, "", problems)
    warnings: list[str] = []

    c = root.sub("company", required=True)
    tzname = c.get("timezone", str, "Asia/Shanghai") or "Asia/Shanghai"
    try:
        tz = ZoneInfo(tzname)
    except (ZoneInfoNotFoundError, ValueError):
        c.problem("timezone", f"{tzname!r} is not a known time zone",
                  'use an IANA name such as "Asia/Shanghai"')
        tz = ZoneInfo("Asia/Shanghai")
    hr = tuple(a.lower() for a in c.str_list("hr", required=True))
    if "hr" in c.data and not hr:
        c.problem("hr", "is empty", 'list at least one HR address: hr = ["hr@…"]')
    company = Company(
        name=c.get("name", str, "") or "",
        timezone=tz,
        roster=_resolve(base, c.get("roster", str, "roster.csv") or "roster.csv"),
        hr=hr,
        management=tuple(a.lower() for a in c.str_list("management")),
        authserv_ids=tuple(a.lower() for a in c.str_list("authserv_ids")),
        rules=_resolve(base, c.get("rules", str, "rules") or "rules"),
        templates=_resolve(base, c.get("templates", str, "templates") or "templates"),
        leave=_resolve(base, sheet) if (sheet := c.get("leave", str, "") or "") else None,
        it=_addresses(c, "it"),
    )
    c.finish()

    d = root.sub("database")
    url = _sqlite_url(base, d.get("url", str, "sqlite:///mailflow.db") or "sqlite:///mailflow.db")
    d.finish()

    mailboxes: list[Mailbox] = []
    raw_boxes = root.get("mailbox", list, []) or []
    names: set[str] = set()
    for i, box in enumerate(raw_boxes):
        if not isinstance(box, dict):
            root.problem(f"mailbox[{i}]", "must be a table", "write it as [[mailbox]] with keys")
            continue
        t = TableReader(file, box, f"mailbox[{i}]", problems)
        name = t.get("name", str, f"mailbox{i}", required=True) or f"mailbox{i}"
        if name in names:
            t.problem("name", f"{name!r} is used twice", "give every [[mailbox]] its own name")
        names.add(name)
        server = _read_server(t, "imap", f"mailbox {name}", warnings,
                              f"MAILFLOW_{name.upper()}_PASSWORD")
        since_s = t.get("since", str, None)
        since = None
        if since_s:
            try:
                since = date.fromisoformat(since_s)
            except ValueError:
                t.problem("since", f"{since_s!r} is not a date", 'write since = "YYYY-MM-DD"')
        folders = tuple(t.str_list("folders", ["INBOX"]))
        max_bytes = t.get("max_message_bytes", int, MAX_MESSAGE_BYTES) or MAX_MESSAGE_BYTES
        fetch_batch = t.get("fetch_batch", int, 200) or 200
        if fetch_batch < 1 or fetch_batch > 5000:
            t.problem("fetch_batch", f"is {fetch_batch}", "use 1 to 5000 messages per FETCH")
            fetch_batch = 200
        mailboxes.append(Mailbox(
            name=name, username=t.get("username", str, "", required=True) or "",
            password_env=t.get("password_env", str, "", required=True) or "",
            folders=folders or ("INBOX",), since=since, max_message_bytes=max_bytes,
            fetch_batch=fetch_batch,
            **server))  # type: ignore[arg-type]
        t.finish()

    smtp = None
    if "smtp" in data:
        s = root.sub("smtp")
        server = _read_server(s, "smtp", "smtp", warnings, "MAILFLOW_SMTP_PASSWORD")
        username = s.get("username", str, "") or ""
        password_env = s.get("password_env", str, "") or ""
        if username and not password_env:
            s.problem("password_env", "is missing while username is set",
                      'name the environment variable that holds the password: '
                      'password_env = "MAILFLOW_SMTP_PASSWORD"')
        connections = s.get("connections", int, 1) or 1
        if not 1 <= connections <= 16:
            s.problem("connections", f"is {connections}",
                      "use 1 to 16 (providers such as Exmail and QQ limit how many a sender "
                      "may hold open)")
            connections = 1
        on_unknown = s.get("on_unknown", str, "hold") or "hold"
        if on_unknown not in ON_UNKNOWN:
            s.problem("on_unknown", f"is {on_unknown!r}",
                      'use "hold" (report it until someone resolves it with mailflow outbox) '
                      'or "resend" (also send it once more with the same Message-ID)')
            on_unknown = "hold"
        resend_after = s.get("resend_after_minutes", int, 10)
        if resend_after is None or not 1 <= resend_after <= 24 * 60:
            s.problem("resend_after_minutes", f"is {resend_after}",
                      "use whole minutes from 1 to 1440 (default 10)")
            resend_after = 10
        smtp = Smtp(username=username, password_env=password_env,
                    sender=s.get("sender", str, "", required=True) or "",
                    connections=connections, on_unknown=on_unknown,
                    resend_after=resend_after * 60.0, **server)  # type: ignore[arg-type]
        s.finish()
    root.finish()
    raise_if(problems)
    return Settings(path=path, company=company, database_url=url,
                    mailboxes=tuple(mailboxes), smtp=smtp, warnings=tuple(warnings))
