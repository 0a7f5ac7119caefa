"""Hot read statements: built once per shape, compiled once, run straight on the driver.

A search builds its SQLAlchemy statement once per shape (which filters are present) with
named parameters; `fetch` compiles it once and on PostgreSQL runs the SQL text directly on
the psycopg cursor: no per-request statement construction, cache-key walk or result
wrapping, which were most of a search's CPU in the catalog and data services. psycopg
prepares a repeated text after a few executions. SQLite runs the same statement objects
through SQLAlchemy. Lists of strings go as one array literal (`text_array`), so the text
does not change with their length.

`VersionedCache` keeps values (search totals, facet counts) that are exact for one version
of the data: a statement reads its page together with the current version (a row bumped
by a deferred trigger at the commit of every write, see the catalog's and data service's
migrations), and a value cached for that version is reused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection

V = TypeVar("V")


class _Compiled:
    __slots__ = ("defaults", "sql", "statement")

    def __init__(self, statement: Any, sql: str | None, defaults: dict[str, Any]) -> None:
        self.statement = statement
        self.sql = sql
        self.defaults = defaults


_compiled: dict[tuple[int, str], _Compiled] = {}


def fetch(
    connection: Connection, statement: Any, params: Mapping[str, Any], *, binary: bool = False
) -> list[Any]:
    """All rows (positional tuples) of a read `statement` built once and kept (its compiled
    form is cached by identity) for `params`; `binary`: rows in PostgreSQL's binary format
    (less to parse for wide rows of timestamps and integers; the same Python values)."""
    dialect = connection.dialect
    key = (id(statement), dialect.name)
    entry = _compiled.get(key)
    if entry is None or entry.statement is not statement:
        compiled = statement.compile(dialect=dialect)
        defaults = {k: v for k, v in compiled.params.items() if k not in params}
        sql = compiled.string if dialect.name == "postgresql" else None
        entry = _compiled[key] = _Compiled(statement, sql, defaults)
    if entry.sql is None:
        return list(connection.execute(statement, {**entry.defaults, **params}).all())
    values = {**entry.defaults, **params}
    for name, value in values.items():
        if type(value) is list and value and type(value[0]) is str:
            values[name] = text_array(value)
    dbapi = connection.connection
    cursor = dbapi.cursor(binary=True) if binary else dbapi.cursor()
    try:
        cursor.execute(entry.sql, values)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def text_array(values: list[str]) -> str:
    """A PostgreSQL array literal of strings, every element quoted ('{"a","b"}'); the
    statement casts the parameter (`::VARCHAR[]`). psycopg dumps a list element by element
    in Python, which cost more than the rest of a catalog Match's query handling."""
    return (
        "{"
        + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        + "}"
    )


class VersionedCache(Generic[V]):
    """Values by key, each valid for the data version it was computed at. Bounded: when
    full it starts again empty (the hot keys come back at once). Thread-safe enough for
    its use: a lost put only costs a recount."""

    def __init__(self, *, enabled: bool = True, size: int = 4096) -> None:
        self.enabled = enabled
        self.size = size
        self._values: dict[Any, tuple[int, V]] = {}

    def get(self, key: Any, version: int) -> V | None:
        hit = self._values.get(key)
        return hit[1] if hit is not None and hit[0] == version else None

    def peek(self, key: Any) -> V | None:
        """The value last computed for `key` at any version: a hint (e.g. to choose a
        plan), never an answer."""
        hit = self._values.get(key)
        return hit[1] if hit is not None else None

    def put(self, key: Any, version: int, value: V) -> None:
        if len(self._values) >= self.size:
            self._values = {}
        self._values[key] = (version, value)
