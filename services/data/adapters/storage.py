"""What every data-set repository shares: bulk writes, racing writers, timestamps."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from puhui.kit.db import is_postgresql
from puhui.kit.errors import Aborted


def _is_unique_violation(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, psycopg.errors.UniqueViolation):
        return True
    # SQLite (unit runs): "UNIQUE constraint failed: …"
    return isinstance(exc, IntegrityError) and "UNIQUE" in str(orig)


@contextmanager
def racing_writers_aborted() -> Iterator[None]:
    """Two writers creating the same new record: the loser's unique violation (raised by the
    COPY, an INSERT or the commit) becomes ABORTED — re-read and retry — not INTERNAL."""
    try:
        yield
    except (IntegrityError, psycopg.errors.UniqueViolation) as exc:
        if not _is_unique_violation(exc):
            raise
        raise Aborted("a concurrent writer created the same record first; retry") from exc


MAX_PARAMS = 30_000


def chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows in chunks small enough for one multi-row INSERT (bounded bind parameters)."""
    if not rows:
        return []
    size = max(1, MAX_PARAMS // max(1, len(rows[0])))
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _driver(session: Session) -> Any:
    """The psycopg connection under the session (PostgreSQL only), same transaction."""
    return session.connection().connection.driver_connection


def insert_many(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk insert: PostgreSQL COPY inside the session's transaction; executemany elsewhere."""
    if not rows:
        return
    if not is_postgresql(session):
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with _driver(session).cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def upsert_ignore(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    keys: Sequence[str],
    update_cols: Sequence[str],
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET update_cols (PostgreSQL and SQLite)."""
    if not rows:
        return
    module: Any = postgresql if is_postgresql(session) else sqlite
    for chunk in chunks(rows):
        stmt = module.insert(table).values(chunk)
        if update_cols:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={c: stmt.excluded[c] for c in update_cols}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        session.execute(stmt)
