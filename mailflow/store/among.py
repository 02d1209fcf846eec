"""`among(column, values)`: `column IN (values)` for a long list of values.

Written as IN, SQLAlchemy renders one bind parameter per value, and psycopg re-parses
such a statement every time (it caches only short ones): for a chunk of 500 people that
was more than the query itself. On PostgreSQL the list goes as one array parameter,
`column = ANY(%(values)s)`, which PostgreSQL plans as it plans IN (the same index scans);
elsewhere it stays IN. Builds an expression; runs nothing."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, TypeVar

from sqlalchemy import Boolean, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement


class Among(ColumnElement[bool]):
    type = Boolean()
    # The values are part of the statement here, so it is compiled for each use (as an
    # IN of hundreds of values effectively was).
    inherit_cache = False

    def __init__(self, column: ColumnElement[Any], values: Iterable[Any]) -> None:
        self.column = column
        self.values = list(values)

    def self_group(self, against: Any = None) -> "Among":
        # Already a condition: without this SQLAlchemy writes `… IN (…) = 1` on SQLite,
        # which SQLite cannot answer from an index.
        return self


Q = TypeVar("Q")

# Beyond this many values a read asks for the whole range and drops the rows of others:
# one range scan beats an index probe per value, and the statement stays short.
FILTER_UP_TO = 500


def among(column: Any, values: Iterable[Any]) -> Among:
    return Among(column, values)


def narrowed(query: Q, column: Any, values: Collection[Any] | None) -> Q:
    """`query` limited to rows whose `column` is among `values` when they are few (up to
    FILTER_UP_TO); else `query` as it is, and the caller drops the rows of others."""
    if values is None or len(values) > FILTER_UP_TO:
        return query
    return query.where(among(column, values))  # type: ignore[attr-defined]


@compiles(Among)
def _as_in(element: Among, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.values), **kw)


@compiles(Among, "postgresql")
def _as_any(element: Among, compiler: SQLCompiler, **kw: Any) -> str:
    array = bindparam(None, element.values, type_=ARRAY(element.column.type))
    return compiler.process(element.column == any_(array), **kw)
