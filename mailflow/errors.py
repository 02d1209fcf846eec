"""Errors a user can fix. The CLI prints them without a traceback."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file the user edits: where, what, and how to fix it."""

    file: str
    key: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message} — fix: {self.fix}"


class ConfigError(Exception):
    """Settings, rules, roster or templates that cannot be used as they are."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UserError(Exception):
    """A command asked for something that cannot be done; the message says why."""
