"""Alembic migrations, one history per service.

Each service has a `migrations/` package (env.py, script.py.mako, versions/). Its env.py
is two lines: it imports the service's metadata and calls `run_env(metadata)`. Migrations
run on start-up (PUHUI_MIGRATE_ON_START) or by `puhui migrate <service>`.
"""

from __future__ import annotations

import logging
from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import create_engine

from puhui.kit.db import normalise_url

logger = logging.getLogger(__name__)


def alembic_config(service: str, database_url: str) -> Config:
    location = resources.files(f"puhui.{service}") / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    cfg.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, database_url), revision)


def downgrade(service: str, database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(service, database_url), revision)


def current(service: str, database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(normalise_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's migrations/env.py (online mode; offline emits SQL)."""
    from alembic import context

    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connectable = cfg.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url or "", poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            context.configure(
                connection=conn,
                target_metadata=target_metadata,
                render_as_batch=conn.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def has_history(service: str) -> bool:
    """Whether `puhui.<service>` ships an Alembic history (test apps do not)."""
    try:
        return (resources.files(f"puhui.{service}") / "migrations" / "env.py").is_file()
    except ModuleNotFoundError:
        return False


def schema_mismatch(service: str, database_url: str) -> str | None:
    """Why this code must not serve on the database's schema, or None when it matches.

    Behind: the database lacks revisions of this code (run the migrations first). Ahead: the
    database carries a revision this code does not know (a newer release migrated it)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = alembic_config(service, database_url)
    script = ScriptDirectory.from_config(cfg)
    heads = tuple(sorted(script.get_heads()))
    engine = create_engine(normalise_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            found = tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    finally:
        engine.dispose()
    if found == heads:
        return None
    shown = ", ".join(found) or "none"
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = [rev for rev in found if rev not in known]
    if unknown:
        return (
            f"schema ahead of the code: the database is at revision {shown}, "
            f"unknown to this release (its head is {', '.join(heads)})"
        )
    return (
        f"schema behind the code: the database is at revision {shown}, this release needs "
        f"{', '.join(heads)} (run `puhui migrate {service}` first)"
    )


def heads(service: str) -> tuple[str, ...]:
    """The head revisions of this code's history for `service`."""
    from alembic.script import ScriptDirectory

    return tuple(
        sorted(ScriptDirectory.from_config(alembic_config(service, "sqlite://")).get_heads())
    )
