"""What every kind of mail shares: the common context, the sender, rendering and building
one mail (`outgoing`), and queuing (`queue_letters` for many, `queue_mail` for one in the
caller's transaction). Everything is queued in the outbox; nothing here talks SMTP. Each
mail's dedupe key makes queuing it again a no-op."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from . import compose
from ..delivery import outbox
from ..app import App
from ..errors import UserError
from ..records import stats
from .render import Renderer

WEEKDAYS = "一二三四五六日"
COLOURS = {"on_time": "#dafbe1", "late": "#fff8c5", "missing": "#ffebe9", "not_due": "#f6f8fa",
           "pending": "#ddf4ff", "excused": "#eef1f4"}


@dataclass(frozen=True)
class Queued:
    added: int
    existing: int
    note: str = ""


def weekday_label(day: date) -> str:
    return "周" + WEEKDAYS[day.weekday()]


def common(app: App) -> dict[str, Any]:
    hr = app.settings.company.hr[0] if app.settings.company.hr else ""
    return {"company": app.settings.company.name, "hr": hr, "title": ""}


def name_of(app: App, email: str, day: date) -> str:
    person = app.roster.person(email, day)
    return person.name if person else email


def sender(app: App) -> str:
    """The From of every mail mailflow writes; a clear error when there is no [smtp]."""
    if app.settings.smtp is None:
        raise UserError(f"{app.settings.path}: there is no [smtp] section; mailflow needs its "
                        "sender address to write mail (add [smtp] with sender = …)")
    return app.settings.smtp.sender


def queue_mail(session: Session, app: App, *, key: str, kind: str, period: str,
               to: list[tuple[str, str]], cc: list[tuple[str, str]], context: dict[str, Any],
               renderer: Renderer, attachments: tuple[compose.Attachment, ...] = ()) -> bool:
    """Render, build and queue one mail unless its key is queued already."""
    if outbox.exists(session, key):
        return False
    return outbox.queue_many(session, [outgoing(app, key=key, kind=kind, period=period, to=to,
                                                cc=cc, context=context, renderer=renderer,
                                                attachments=attachments)], app.now()) == 1


def outgoing(app: App, *, key: str, kind: str, period: str, to: list[tuple[str, str]],
             cc: list[tuple[str, str]], context: dict[str, Any], renderer: Renderer,
             attachments: tuple[compose.Attachment, ...] = (),
             expires_at: datetime | None = None) -> outbox.Outgoing:
    """Render and build one mail, ready to queue; `expires_at`: not sent after this."""
    rendered = renderer.render(kind, {**common(app), **context, "title": kind})
    mid = compose.message_id(key, sender(app))
    raw = compose.build(sender=sender(app), to=to, cc=cc, rendered=rendered, msg_id=mid,
                        date=app.now(), reply_to=common(app)["hr"], attachments=attachments)
    return outbox.Outgoing(key, kind, period, to, cc, rendered.subject, mid, raw, expires_at)


@dataclass(frozen=True)
class Letter:
    """One mail before it is rendered: to whom, with what context and attachments."""

    to: list[tuple[str, str]]
    context: dict[str, Any]
    cc: list[tuple[str, str]] = field(default_factory=list)
    attachments: tuple[compose.Attachment, ...] = ()


WRITE_EVERY = 100   # mails per write transaction when queuing many


def queue_letters(app: App, kind: str, period: str,
                  wanted: Iterable[tuple[str, Callable[[], Letter]]]) -> Queued:
    """The loop every kind of mail shares: `wanted` gives each mail's dedupe key and how to
    build it. A key queued already is counted and not built; the others are built from
    reads of the record and queued a chunk per short write, so a slow build never holds a
    write transaction and readers never wait. A second run queues nothing."""
    renderer = renderer_for(app)
    with app.read() as session:
        queued = outbox.keys_for(session, kind, period)
    ready: list[outbox.Outgoing] = []
    built = added = existing = 0

    def write() -> int:
        with app.db.begin() as session:
            n = outbox.queue_many(session, ready, app.now())
        ready.clear()
        return n

    for key, build in wanted:
        if key in queued:
            existing += 1
            continue
        letter = build()
        ready.append(outgoing(app, key=key, kind=kind, period=period, to=letter.to,
                              cc=letter.cc, context=letter.context, renderer=renderer,
                              attachments=letter.attachments))
        built += 1
        if len(ready) >= WRITE_EVERY:
            added += write()
    if ready:
        added += write()
    return Queued(added, existing + built - added)


T = TypeVar("T")
R = TypeVar("R")

def per_team(teams: Iterable[T], size: Callable[[T], int], read: Callable[[list[T]], R]
             ) -> Iterator[tuple[T, Callable[[], R]]]:
    """Each team with the reads of its chunk of teams (about stats.CHUNK people): `read`
    runs once per chunk, when the first mail of the chunk is built, so a rerun that finds
    every mail queued reads nothing."""
    chunk: list[T] = []
    people = 0
    for team in teams:
        n = size(team)
        if chunk and people + n > stats.CHUNK:
            yield from _with_reads(chunk, read)
            chunk, people = [], 0
        chunk.append(team)
        people += n
    if chunk:
        yield from _with_reads(chunk, read)


def _with_reads(chunk: list[T], read: Callable[[list[T]], R]
                ) -> Iterator[tuple[T, Callable[[], R]]]:
    reads = cache(lambda: read(chunk))
    for team in chunk:
        yield team, reads


def renderer_for(app: App) -> Renderer:
    """One renderer per templates folder for the process: a notice per judged mail must
    not recompile the templates and reread problems.toml each time."""
    return _renderer(app.settings.company.templates)


@lru_cache(maxsize=8)
def _renderer(folder: Path) -> Renderer:
    return Renderer(folder)


def money(value: float | int) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
