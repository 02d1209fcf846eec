"""Typed reading of TOML tables that collects every problem with its file and key.

Unknown keys are problems too: a typo in a policy file must not be silently ignored.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError, Problem

T = TypeVar("T")

_TYPE_NAMES = {str: "a string", int: "a whole number", bool: "true or false",
               list: "a list", dict: "a table", float: "a number"}


class TableReader:
    """Reads one TOML table; records problems instead of raising on the first one."""

    def __init__(self, file: str, data: dict[str, Any], prefix: str,
                 problems: list[Problem]) -> None:
        self.file = file
        self.data = data
        self.prefix = prefix
        self.problems = problems
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def problem(self, name: str, message: str, fix: str) -> None:
        self.problems.append(Problem(self.file, self.key(name), message, fix))

    def get(self, name: str, kind: type[T], default: T | None = None, *,
            required: bool = False, fix: str = "") -> T | None:
        self.seen.add(name)
        if name not in self.data:
            if required:
                self.problem(name, "is missing", fix or f"add {name} = … to [{self.prefix}]")
            return default
        value = self.data[name]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            self.problem(name, f"must be {_TYPE_NAMES.get(kind, kind.__name__)}, "
                               f"not {value!r}", fix or f"write {name} as {_TYPE_NAMES.get(kind)}")
            return default
        return value  # type: ignore[return-value]

    def str_list(self, name: str, default: list[str] | None = None, *,
                 required: bool = False) -> list[str]:
        value = self.get(name, list, default, required=required)
        if value is None:
            return list(default or [])
        if not all(isinstance(v, str) for v in value):
            self.problem(name, "must be a list of strings", f'write {name} = ["…", "…"]')
            return list(default or [])
        return list(value)

    def sub(self, name: str, *, required: bool = False) -> "TableReader":
        table = self.get(name, dict, {}, required=required) or {}
        return TableReader(self.file, table, self.key(name), self.problems)

    def finish(self) -> None:
        for extra in sorted(set(self.data) - self.seen):
            self.problem(extra, "is not a known key",
                         "remove it, or check its spelling against the documented keys")


def load_toml(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    """Parse a TOML file; a syntax error becomes a problem naming the line."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        problems.append(Problem(str(path), "(file)", "does not exist",
                                "create it, or point the setting that names it elsewhere "
                                "(`mailflow init` writes a starter set)"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(str(path), "(syntax)", f"is not valid TOML: {exc}",
                                "correct the line named; strings need quotes"))
    return None


def raise_if(problems: list[Problem]) -> None:
    if problems:
        raise ConfigError(problems)
