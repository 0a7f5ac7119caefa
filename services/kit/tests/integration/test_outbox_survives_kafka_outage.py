"""An event recorded while Kafka is stopped is delivered after Kafka starts again, once."""

from __future__ import annotations

import time

import pytest
from google.protobuf import wrappers_pb2
from sqlalchemy import func, select

from puhui.kit.outbox import OutboxRelay
from puhui.kit.testing import eventually, free_port, load_infra, read_events

from .conftest import outbox_t

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def pending(db) -> int:
    with db.transaction() as s:
        return s.execute(
            select(func.count()).select_from(outbox_t).where(outbox_t.c.published_at.is_(None))
        ).scalar_one()


def test_event_recorded_during_outage_is_delivered_after_restart(db, outbox_for, tmp_path):
    infra = load_infra()
    port, controller = free_port(), free_port()
    broker = infra.start_kafka(tmp_path / "kafka", port, controller)
    bootstrap = f"127.0.0.1:{port}"
    outbox = outbox_for()
    relay = OutboxRelay(db, outbox, bootstrap, idle_poll_seconds=0.1)
    relay.start()
    try:
        with db.transaction() as s:
            outbox.record(s, wrappers_pb2.StringValue(value="before"), subject="thing/1")
        eventually(lambda: pending(db) == 0, 30, interval=0.2)  # the first event is published

        broker.stop()  # Kafka goes away
        with db.transaction() as s:  # the service's own transaction still commits
            during = outbox.record(s, wrappers_pb2.StringValue(value="during"), subject="thing/2")
        time.sleep(3)
        assert pending(db) == 1, "the event waits in the outbox while Kafka is down"

        broker = infra.start_kafka(tmp_path / "kafka", port, controller)  # same data dir
        eventually(lambda: pending(db) == 0, 60, interval=0.2)  # published after the restart

        topic = outbox.topic()
        events = read_events(bootstrap, topic, lambda e: True, count=3, timeout=10)
        subjects = sorted(e.subject for e in events)
        assert subjects == ["thing/1", "thing/2"], "each event exactly once, none lost"
        assert any(e.event_id == during.event_id for e in events)
    finally:
        relay.stop()
        broker.stop()
