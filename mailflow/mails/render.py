"""Jinja2 rendering of the mails mailflow writes: subject, plain text and HTML.

Report content is user input: HTML is rendered with autoescape, every template with
StrictUndefined so a misspelt name is an error at check-config, not a blank in a mail.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateError

from ..errors import ConfigError, Problem


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def one_line(value: str) -> str:
    """A header value: no CR, LF or other control characters, single spaces."""
    return " ".join("".join(ch if ch >= " " else " " for ch in value).split())


class _Environment(Environment):
    """Jinja's environment, with `row.name` on a dict read as the key at once. Jinja tries
    the attribute first and a dict has none, so each such lookup raised and caught an
    AttributeError: a third of rendering a day's digests. A key wins over a dict method
    of the same name (`row.items` is the row's items); the contexts mailflow passes have
    no such keys, and a template on a dict method still finds it."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)


class Renderer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        loader = FileSystemLoader(str(folder))
        self.text = _Environment(loader=loader, autoescape=False, undefined=StrictUndefined,
                                keep_trailing_newline=True)
        self.html = _Environment(loader=loader, autoescape=True, undefined=StrictUndefined)
        self._problems: dict[str, Any] | None = None
        self._snippets: dict[str, Template] = {}
        self._labels: dict[tuple[str, str], str] = {}

    def render(self, kind: str, context: dict[str, Any]) -> Rendered:
        try:
            subject = self.text.get_template(f"{kind}.subject.j2").render(context)
            text = self.text.get_template(f"{kind}.txt.j2").render(context)
            html = self.html.get_template(f"{kind}.html.j2").render(context)
        except TemplateError as exc:
            raise ConfigError([Problem(str(self.folder), f"{kind} templates", str(exc),
                                       "correct the template; `mailflow check-config` "
                                       "renders every one with sample data")]) from None
        return Rendered(one_line(subject), text, html)

    def _wording(self) -> dict[str, Any]:
        if self._problems is None:
            path = self.folder / "problems.toml"
            try:
                with path.open("rb") as fh:
                    self._problems = tomllib.load(fh)
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError([Problem(str(path), "(file)", str(exc),
                                           "restore the file from the project's templates/")]) from None
        return self._problems

    def label(self, code: str, detail: str = "") -> str:
        """The short name of a status or rule code (templates/problems.toml [labels])."""
        # A day's digests label 50,000 people with a handful of codes and details: each
        # pair is rendered once.
        found = self._labels.get((code, detail))
        if found is None:
            if len(self._labels) >= 10_000:
                self._labels.clear()
            text = self._wording().get("labels", {}).get(code, code)
            found = self._labels[(code, detail)] = self._compiled(text).render(detail=detail)
        return found

    def _compiled(self, source: str) -> Template:
        # A digest labels every person's status: compile each wording once, not per use.
        template = self._snippets.get(source)
        if template is None:
            template = self._snippets[source] = self.text.from_string(source)
        return template

    def problem_text(self, code: str, variant: str | None, context: dict[str, Any]) -> dict[str, str]:
        """The what/fix sentences of templates/problems.toml for one rule code."""
        entry = self._wording().get(code, {})
        if variant and variant in entry:
            entry = entry[variant]
        return {part: self._compiled(entry.get(part, code)).render(context)
                for part in ("what", "fix")}
