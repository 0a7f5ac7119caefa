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
