"""`mailflow check-config`: every problem in settings, rules, roster and templates; with
--connect, a login to every mailbox and to the SMTP server (`connect_all`)."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, TemplateError, TemplateSyntaxError

from ..errors import ConfigError, Problem, UserError
from ..config.leavesheet import load_leave_sheet
from ..config.policy import Policy, load_policy
from ..config.roster import Roster, load_roster
from ..config.settings import Settings, load_settings


def _render_samples(folder: Path) -> list[Problem]:
    """Every mail kind rendered with sample data, and every wording entry."""
    from ..mails.kinds import KINDS, sample_contexts
    from ..mails.render import Renderer

    problems: list[Problem] = []
    renderer = Renderer(folder)
    samples = sample_contexts()
    for kind in KINDS:
        try:
            renderer.render(kind, samples[kind])
        except ConfigError as exc:
            problems.extend(exc.problems)
    try:
        for code, variant in (("hr_not_cc", "in_to"), ("hr_not_cc", "missing"),
                              ("not_to_supervisor", None), ("missing_section", None),
                              ("date_mismatch", "future"), ("date_mismatch", "too_old")):
            renderer.problem_text(code, variant, {**samples["notice"], "detail": "明日计划"})
        renderer.label("missing_section", "明日计划")
    except ConfigError as exc:
        problems.extend(exc.problems)
    except TemplateError as exc:
        problems.append(Problem(str(folder / "problems.toml"), "(wording)", str(exc),
                                "correct the Jinja2 in that entry"))
    return problems


def _templates(folder: Path) -> list[Problem]:
    if not folder.is_dir():
        return [Problem(str(folder), "(folder)", "does not exist",
                        "point [company] templates at the templates folder")]
    env = Environment(loader=FileSystemLoader(str(folder)), autoescape=True)
    problems = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".j2", ".html", ".txt", ".jinja"):
            continue
        name = str(path.relative_to(folder))
        try:
            env.get_template(name)
        except TemplateSyntaxError as exc:
            problems.append(Problem(str(path), f"line {exc.lineno}", exc.message or "syntax error",
                                    "correct the Jinja2 syntax ({{ … }}, {% … %})"))
    return problems or _render_samples(folder)


def _secrets(settings: Settings) -> list[Problem]:
    problems = []
    for box in settings.mailboxes:
        if box.password_env and box.password_env not in os.environ:
            problems.append(Problem(str(settings.path), f"mailbox {box.name!r}.password_env",
                                    f"environment variable {box.password_env} is not set",
                                    f"export {box.password_env}=… (the mailbox password or 授权码)"))
    smtp = settings.smtp
    if smtp and smtp.username and smtp.password_env not in os.environ:
        problems.append(Problem(str(settings.path), "smtp.password_env",
                                f"environment variable {smtp.password_env} is not set",
                                f"export {smtp.password_env}=…"))
    return problems


def _placeholders(settings: Settings) -> tuple[list[Problem], list[str]]:
    """What `mailflow init` left to fill in."""
    problems: list[Problem] = []
    warnings: list[str] = []
    file = str(settings.path)
    if "FILL IN" in settings.company.name:
        problems.append(Problem(file, "company.name", "still says FILL IN",
                                "write the company's name, as it should appear in mails"))
    addresses = [("company.hr", a) for a in settings.company.hr]
    addresses += [(f"mailbox {b.name!r}.username", b.username) for b in settings.mailboxes]
    if settings.smtp:
        addresses.append(("smtp.sender", settings.smtp.sender))
    for key, value in addresses:
        if value.lower().rstrip(">").endswith("@example.com"):
            warnings.append(f"{file}: {key} is {value}, a placeholder address (example.com)")
    return problems, warnings


def _calendar(policy: Policy, settings: Settings, now: str | None) -> list[str]:
    """This year's and, from 1 December, next year's 调休 when not entered yet."""
    from ..app import parse_now
    from ..dates.workdays import Workdays

    tz = settings.company.timezone
    today = (parse_now(now, tz) or datetime.now(timezone.utc)).astimezone(tz).date()
    workdays = Workdays(policy.workdays)
    return [workdays.unentered_warning(year) for year in workdays.unentered(today)]


def _kept_regions(settings: Settings, roster: Roster | None) -> list[str]:
    """A region in [hr_assist] keep that no one on the roster is in keeps nothing."""
    try:
        notify = load_policy(settings.company.rules).notify
    except ConfigError:
        return []   # reported with the rules' other problems
    regions = {p.region for p in roster.people} if roster is not None else set()
    return [f"{settings.company.rules / 'notify.toml'}: hr_assist.keep names {region!r}, a "
            f"region no one on the roster is in (regions: {', '.join(sorted(regions))})"
            for region in notify.hr_assist_keep if roster is not None and region not in regions]


def check_config(path: Path, now: str | None = None) -> tuple[list[Problem], list[str]]:
    """All problems (errors) and warnings; an empty problem list means ready to run.
    `now` (ISO-8601, as --now) is the day the calendar warnings are for."""
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        return exc.problems, []
    problems: list[Problem] = []
    roster = None
    calendar: list[str] = []
    try:
        calendar = _calendar(load_policy(settings.company.rules), settings, now)
    except ConfigError as exc:
        problems.extend(exc.problems)
    try:
        roster = load_roster(settings.company.roster)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if settings.company.leave is not None and roster is not None:
        try:
            policy = load_policy(settings.company.rules)
            load_leave_sheet(settings.company.leave, policy.leave, roster)
        except ConfigError as exc:
            problems.extend(p for p in exc.problems if p not in problems)
    problems.extend(_templates(settings.company.templates))
    problems.extend(_secrets(settings))
    placeholder_problems, warnings = _placeholders(settings)
    problems.extend(placeholder_problems)
    warnings = list(settings.warnings) + warnings + calendar
    warnings += _kept_regions(settings, roster)
    hr_people = roster.emails_with_role("hr") if roster else set()
    for addr in settings.company.hr:
        if hr_people and addr not in hr_people:
            warnings.append(f"{settings.path}: company.hr lists {addr}, which is not on the "
                            "roster with role hr")
    return problems, warnings


def connect_all(path: Path) -> list[tuple[bool, str]]:
    """Log in to every [[mailbox]] (IMAP) and to [smtp]; per server, whether it worked and
    what to say (the same messages the service gives, with the fix)."""
    import asyncio

    from ..inbound import imap
    from ..delivery.smtp import ServerUnusable, connect
    from ..config.tlsfix import IMAP_PORTS, tls_fix

    settings = load_settings(path)
    out: list[tuple[bool, str]] = []
    for box in settings.mailboxes:
        where = f"mailbox {box.name!r} ({box.username} at {box.host}:{box.port})"
        try:
            client = imap.connect(box, box.password())
        except (imap.ImapError, UserError, ConfigError) as exc:
            # `where` names the mailbox already
            text = str(exc).removeprefix(f"mailbox {box.name}: ")
            fix = tls_fix(f"[[mailbox]] {box.name!r}", box.security, box.port, text,
                          IMAP_PORTS)
            out.append((False, f"{where}: {text}" + (f"; {fix}" if fix else "")))
            continue
        problems = []
        for folder in box.folders:   # each folder opened read-only, as the service will
            try:
                client.examine(box, folder)
            except (imap.ImapError, OSError) as exc:
                problems.append(str(exc).removeprefix(f"mailbox {box.name}: "))
        try:
            client.logout()
        except Exception:  # the login worked, which is what was asked
            pass
        if problems:
            out.append((False, f"{where}: logged in, but " + "; ".join(problems)))
        else:
            out.append((True, f"{where}: logged in, folders {', '.join(box.folders)} open"))
    smtp = settings.smtp
    if smtp is not None:
        where = f"SMTP server {smtp.host}:{smtp.port}"

        async def attempt() -> None:
            client = await connect(smtp)
            try:
                await asyncio.wait_for(client.quit(), 5)
            except Exception:  # the login worked, which is what was asked
                client.close()

        try:
            asyncio.run(attempt())
        except ServerUnusable as exc:
            out.append((False, str(exc)))
        else:
            login = f"logged in as {smtp.username}" if smtp.username else "connected (no login)"
            out.append((True, f"{where}: {login}"))
    return out
