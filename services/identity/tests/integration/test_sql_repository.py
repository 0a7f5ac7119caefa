"""The SQL repository on PostgreSQL against the shared repository contract; migrations
match the tables."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from puhui.identity.adapters.db import SqlUnitOfWork, metadata
from puhui.identity.tests.fakes import FakeEvents
from puhui.identity.tests.repository_contract import CHECKS
from puhui.kit import migrations
from puhui.kit.db import Database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def db(postgres_admin_url):
    from puhui.kit.testing import temporary_database

    with temporary_database(postgres_admin_url, "identity_repo") as url:
        migrations.upgrade("identity", url)
        database = Database(url)
        database.start()
        yield database
        database.stop()


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_sql_repository(check, db):
    check(SqlUnitOfWork(db, lambda session: FakeEvents()))


def test_migrations_match_the_tables(db):
    assert db.engine is not None
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
