"""Database access: SQLAlchemy 2 engines for PostgreSQL (tests, production) and SQLite
(the embedded default of a local run). Each service owns its database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, MetaData, create_engine, event, make_url, text
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import Pool

logger = logging.getLogger(__name__)

# One naming convention so Alembic migrations name constraints the same on every dialect.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs (as libpq writes them) and use psycopg 3."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _UtcSqliteDateTime(sqlite.DATETIME):
    """SQLite's DATETIME storing UTC: SQLAlchemy writes an aware datetime's wall-clock
    digits and drops its offset, so a China-time value came back 8 hours off. Aware values
    are converted to UTC before they are written; `DateTime(timezone=True)` columns read
    back as aware UTC (PostgreSQL's timestamptz needs neither)."""

    cache_ok = True

    def bind_processor(self, dialect: Any) -> Any:
        inner = super().bind_processor(dialect)

        def process(value: Any) -> Any:
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            return inner(value) if inner is not None else value

        return process

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        inner = super().result_processor(dialect, coltype)
        aware = bool(self.timezone)

        def process(value: Any) -> Any:
            value = inner(value) if inner is not None else value
            if aware and isinstance(value, datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            return value

        return process


def store_utc(engine: Engine) -> None:
    """Make a SQLite engine store datetimes as UTC (see `_UtcSqliteDateTime`)."""
    if engine.dialect.name == "sqlite":
        colspecs = dict(engine.dialect.colspecs)
        colspecs[sqltypes.DateTime] = _UtcSqliteDateTime
        engine.dialect.colspecs = colspecs  # type: ignore[misc]


def custom_plans(url: str) -> str:
    """The database URL with PostgreSQL sessions set to plan each execution of a prepared
    statement for its parameter values (`plan_cache_mode=force_custom_plan`).

    psycopg prepares a statement after a few executions and PostgreSQL may then switch to a
    generic plan, blind to the values: a two-character LIKE pattern (no trigrams) or a
    region's id array of 3 or 3,000 entries need different plans. Statements still parse
    once; planning these small queries costs far less than a wrong plan. SQLite URLs are
    returned unchanged."""
    return plan_cache_mode(url, "force_custom_plan")


def plan_cache_mode(url: str, mode: str) -> str:
    """The PostgreSQL URL with sessions set to `plan_cache_mode=<mode>` (unless the URL sets
    one already); other URLs unchanged."""
    return session_settings(url, plan_cache_mode=mode)


def session_settings(url: str, **settings: str | int) -> str:
    """The PostgreSQL URL with every session started with these settings (`-c name=value`
    in the connection's options), each unless the URL sets it already; other URLs
    unchanged. `session_settings(url, statement_timeout=5000)`: statements cancelled after
    5 s (`is_statement_timeout`)."""
    if not is_postgresql_url(url):
        return url
    parsed = make_url(url)
    existing = parsed.query.get("options", "")
    if isinstance(existing, tuple):
        existing = " ".join(existing)
    options = existing
    for name, value in settings.items():
        if name not in existing:
            options = f"{options} -c {name}={value}"
    if options == existing:
        return url
    return parsed.update_query_dict({"options": options.strip()}).render_as_string(
        hide_password=False
    )


def is_statement_timeout(exc: BaseException) -> bool:
    """Whether `exc` (a driver error, or SQLAlchemy's wrapping of one) is PostgreSQL
    cancelling a statement (SQLSTATE 57014: `statement_timeout`, or a cancel request)."""
    orig = getattr(exc, "orig", exc)
    return isinstance(orig, psycopg.errors.QueryCanceled)


def is_postgresql_url(url: str) -> bool:
    return make_url(url).drivername.startswith("postgres")


def is_postgresql(bind: Session | Connection | Engine) -> bool:
    """Whether `bind` (a session, connection or engine) talks to PostgreSQL: the one
    spelling of the question for code that holds a database handle rather than a URL."""
    engine_or_connection = bind.get_bind() if isinstance(bind, Session) else bind
    return engine_or_connection.dialect.name == "postgresql"


# The escape character of every LIKE pattern the services build: pass it as
# `column.like(pattern, escape=LIKE_ESCAPE)`, or bind it as the ESCAPE parameter of SQL text.
LIKE_ESCAPE = "\\"


def like_escape(text: str) -> str:
    """`text` with LIKE's wildcards (`%`, `_`) and LIKE_ESCAPE itself escaped, so it
    matches literally inside a pattern (`f"%{like_escape(q)}%"`)."""
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


class Database:
    """An engine plus a session factory; `transaction()` is the unit of work."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.engine: Engine | None = None
        self._reader: Engine | None = None
        self._pool_size = pool_size
        self._echo = echo
        self._sessions: sessionmaker[Session] | None = None
        self._read_sessions: sessionmaker[Session] | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def start(self) -> None:
        if self.engine is not None:
            return
        if self.is_sqlite:
            path = self.url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                self.url,
                echo=self._echo,
                connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=self._pool_size,
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            store_utc(self.engine)
        else:
            self.engine = create_engine(
                self.url,
                echo=self._echo,
                pool_size=self._pool_size,
                max_overflow=self._pool_size,
                # No pre-ping: it costs a round trip per checkout. A connection broken by a
                # database restart fails one request and the pool is invalidated.
                pool_recycle=1800,
            )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if self.is_sqlite:
            self._reader = self.engine
        else:
            # Reads get their own pool of autocommit connections: one round trip per query,
            # no BEGIN/COMMIT and no reset on return.
            self._reader = create_engine(
                self.url,
                echo=self._echo,
                pool_size=self._pool_size,
                max_overflow=self._pool_size,
                pool_recycle=1800,
                isolation_level="AUTOCOMMIT",
                pool_reset_on_return=None,
            )
        self._read_sessions = sessionmaker(self._reader, expire_on_commit=False)

    def stop(self) -> None:
        if self._reader is not None and self._reader is not self.engine:
            self._reader.dispose()
        self._reader = None
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
            self._sessions = None
            self._read_sessions = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        if self._sessions is None:
            raise RuntimeError("Database.start() was not called")
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads only, without BEGIN/COMMIT round trips (PostgreSQL autocommit).

        Each statement sees the latest committed data; use `transaction()` when several
        reads must agree with each other or anything is written.
        """
        if self._read_sessions is None:
            raise RuntimeError("Database.start() was not called")
        with self._read_sessions() as session:
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """`read()` as a Core connection: for hot read paths that run Core statements only
        (no ORM session to set up and close, about a tenth of a search's CPU)."""
        if self._reader is None:
            raise RuntimeError("Database.start() was not called")
        with self._reader.connect() as connection:
            yield connection

    def ping(self) -> None:
        if self.engine is None:
            raise RuntimeError("Database.start() was not called")
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    @property
    def pool(self) -> Pool | None:
        return self.engine.pool if self.engine is not None else None
