"""Outbox.record_many writes the same rows Outbox.record writes, in one COPY (PostgreSQL)."""

from __future__ import annotations

import pytest
from google.protobuf import wrappers_pb2
from sqlalchemy import select

from puhui.events.v1 import envelope_pb2
from puhui.kit.outbox import OutboxItem

from .conftest import outbox_t

pytestmark = pytest.mark.integration


def _rows(db):
    with db.transaction() as s:
        return {r.event_id: r for r in s.execute(select(outbox_t)).all()}


def test_record_many_matches_record(db, outbox_for):
    outbox = outbox_for()
    with db.transaction() as s:
        single = outbox.record(s, wrappers_pb2.StringValue(value="one"), subject="thing/1")
        many = outbox.record_many(
            s,
            [
                OutboxItem(wrappers_pb2.StringValue(value="two"), "thing/2"),
                OutboxItem(wrappers_pb2.StringValue(value="three"), "thing/3", "mirror", "k3"),
            ],
        )
    assert outbox.record_many(s, []) == []
    rows = _rows(db)
    assert len(rows) == 3
    by_subject = {}
    for envelope in [single, *many]:
        row = rows[envelope.event_id]
        stored = envelope_pb2.EventEnvelope.FromString(row.envelope)
        assert stored == envelope
        assert row.event_type == "google.protobuf.StringValue" == envelope.type
        assert (stored.source_node, stored.source_service) == ("440000", "kittest")
        assert stored.schema_version == single.schema_version
        assert row.attempts == 0
        assert row.published_at is None
        value = wrappers_pb2.StringValue()
        stored.payload.Unpack(value)
        by_subject[stored.subject] = (row.topic, row.key, value.value)
    assert by_subject == {
        "thing/1": ("puhui.440000.kittest.events", "thing/1", "one"),
        "thing/2": ("puhui.440000.kittest.events", "thing/2", "two"),
        "thing/3": ("puhui.440000.kittest.mirror", "k3", "three"),
    }


def test_record_many_wakes_the_relay_after_commit(db, outbox_for):
    outbox = outbox_for()
    outbox._wake.clear()
    with db.transaction() as s:
        outbox.record_many(s, [OutboxItem(wrappers_pb2.StringValue(value="x"), "thing/x")])
        assert not outbox._wake.is_set()
    assert outbox._wake.is_set()


def test_record_many_rolls_back_with_the_transaction(db, outbox_for):
    outbox = outbox_for()

    def failing_caller() -> None:
        with db.transaction() as s:
            outbox.record_many(s, [OutboxItem(wrappers_pb2.StringValue(value="y"), "thing/y")])
            raise RuntimeError("caller failed")

    with pytest.raises(RuntimeError):
        failing_caller()
    assert _rows(db) == {}
