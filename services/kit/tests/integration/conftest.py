"""A minimal schema using the kit's event tables, for testing the kit itself."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, String, Table

from puhui.kit.db import Database, new_metadata
from puhui.kit.inbox import inbox_table
from puhui.kit.outbox import Outbox, outbox_table

metadata = new_metadata()
outbox_t = outbox_table(metadata)
inbox_t = inbox_table(metadata)
applied_t = Table(
    "applied",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("subject", String(200), nullable=False),
)


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    database.start()
    assert database.engine is not None
    metadata.create_all(database.engine)
    yield database
    database.stop()


@pytest.fixture
def outbox_for():
    def make(node: str = "440000", service: str = "kittest") -> Outbox:
        return Outbox(outbox_t, node, service)

    return make
