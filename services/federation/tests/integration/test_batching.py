"""The batching consumer against real Kafka and PostgreSQL: duplicates applied once, an
invalid event dead-lettered without losing the rest of its batch."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from google.protobuf import any_pb2
from sqlalchemy import func, select

from puhui.catalog.v1 import catalog_pb2
from puhui.catalog.v1 import events_pb2 as catalog_events
from puhui.events.v1 import envelope_pb2
from puhui.federation import national
from puhui.federation.adapters import db as t
from puhui.kit import kafka, migrations
from puhui.kit.batching import BatchingEventConsumer
from puhui.kit.db import Database
from puhui.kit.testing import eventually
from puhui.kit.times import to_timestamp, utcnow

pytestmark = pytest.mark.integration
NODE = "440000"


def envelope(inst_id: str, revision: int = 1, event_id: str | None = None) -> bytes:
    payload = any_pb2.Any()
    payload.Pack(
        catalog_events.InstitutionChanged(
            change="created",
            institution=catalog_pb2.Institution(
                institution_id=inst_id,
                owning_node=NODE,
                name="批处理测试",
                region_code="440100",
                status=catalog_pb2.INSTITUTION_STATUS_APPROVED,
                revision=revision,
            ),
        )
    )
    return envelope_pb2.EventEnvelope(
        event_id=event_id or str(uuid.uuid4()),
        type="puhui.catalog.v1.InstitutionChanged",
        source_node=NODE,
        source_service="catalog",
        time=to_timestamp(utcnow()),
        payload=payload,
    ).SerializeToString()


def test_batches_apply_once_and_isolate_an_invalid_event(
    database_url: str, kafka_bootstrap: str
) -> None:
    topic = f"puhui.{NODE}.catalog.events"
    migrations.upgrade("federation", database_url)
    db = Database(database_url)
    db.start()
    marker = uuid.uuid4().hex[:8]
    ids = [f"{NODE}-b{marker}{n:03d}" for n in range(50)]
    duplicate_id = str(uuid.uuid4())
    producer = kafka.make_producer(kafka_bootstrap, "batch-test")
    from puhui.federation.groups import start_groups_at_end

    group = f"test.batching.{marker}"
    start_groups_at_end(kafka_bootstrap, group, rf"^{topic.replace('.', '[.]')}$")
    sent = [
        producer.send(
            topic,
            key=inst.encode(),
            value=envelope(inst, event_id=duplicate_id if n == 7 else None),
        )
        for n, inst in enumerate(ids)
    ]
    sent.append(  # a redelivery
        producer.send(topic, key=b"dup", value=envelope(ids[7], event_id=duplicate_id))
    )
    sent.append(  # InvalidEvent: no institution id
        producer.send(topic, key=b"bad", value=envelope(""))
    )
    producer.flush()
    producer.close()
    ours: dict[int, int] = {}  # partition -> offset after our last record
    for future in sent:
        meta = future.get(timeout=10)
        ours[meta.partition] = max(ours.get(meta.partition, 0), meta.offset + 1)

    applied: list[str] = []
    consumer = BatchingEventConsumer(
        db, t.inbox, kafka_bootstrap, group=group, handler=national.apply_catalog,
        node="000000", service="federation", topics=[topic],
        on_applied=lambda e: applied.append(e.event_id),
    )  # fmt: skip

    def counts() -> tuple[int, int]:
        with db.transaction() as s:
            mine = s.execute(
                select(func.count())
                .select_from(t.national_institutions)
                .where(t.national_institutions.c.institution_id.in_(ids))
            ).scalar_one()
            dead = s.execute(
                select(func.count())
                .select_from(t.inbox)
                .where(t.inbox.c.consumer == group, t.inbox.c.outcome == "dead_lettered")
            ).scalar_one()
        return mine, dead

    def settled() -> bool:
        mine, dead = counts()
        return mine == len(ids) and dead >= 1

    consumer.start()
    try:
        with contextlib.suppress(AssertionError):  # asserted below, with the counts
            eventually(settled, 60, interval=0.3)
        mine, dead = counts()
    finally:
        consumer.stop()
        db.stop()
    assert mine == len(ids)
    assert dead == 1
    assert applied.count(duplicate_id) == 1
    # Offsets are committed asynchronously while running; a clean stop commits the last ones:
    # the group's committed position is past every record of ours (nothing redelivered).
    from kafka.structs import TopicPartition

    probe = kafka.make_consumer(kafka_bootstrap, group, "batch-test-probe")
    try:
        for partition, after_ours in ours.items():
            committed = probe.committed(TopicPartition(topic, partition))
            assert committed is not None
            assert committed >= after_ours
    finally:
        probe.close(autocommit=False)
