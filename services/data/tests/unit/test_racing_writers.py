"""A unique violation (two writers creating the same record) becomes ABORTED; other
integrity errors stay what they are."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert
from sqlalchemy.exc import IntegrityError

from puhui.data.adapters.storage import racing_writers_aborted
from puhui.kit.errors import Aborted

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", String(10), primary_key=True),
    Column("name", String(10), nullable=False),
)


@pytest.fixture
def engine():
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    return engine


def test_unique_violation_is_aborted(engine):
    with engine.begin() as conn:
        conn.execute(insert(things).values(id="a", name="first"))
    with pytest.raises(Aborted), racing_writers_aborted(), engine.begin() as conn:
        conn.execute(insert(things).values(id="a", name="second"))


def test_other_integrity_errors_are_not_aborted(engine):
    with pytest.raises(IntegrityError), racing_writers_aborted(), engine.begin() as conn:
        conn.execute(insert(things).values(id="b", name=None))
