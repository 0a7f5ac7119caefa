"""Consumers apply each event once: a crash between the database commit and the offset
commit re-delivers the event, and the inbox turns the second delivery into a no-op.
Events that can never be valid go to the dead-letter topic with the reason."""

from __future__ import annotations

import secrets
import time

import pytest
from google.protobuf import wrappers_pb2
from sqlalchemy import func, select

from puhui.events.v1 import envelope_pb2
from puhui.kit import kafka
from puhui.kit.inbox import EventConsumer, InvalidEvent
from puhui.kit.outbox import OutboxRelay

from .conftest import applied_t, inbox_t

pytestmark = pytest.mark.integration


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs."""


def apply_string(session, envelope: envelope_pb2.EventEnvelope) -> None:
    value = wrappers_pb2.StringValue()
    if not envelope.payload.Unpack(value):
        raise InvalidEvent(f"unexpected payload {envelope.payload.type_url}")
    session.execute(applied_t.insert().values(event_id=envelope.event_id, subject=envelope.subject))


def applied_count(db, subject_prefix: str) -> int:
    with db.transaction() as s:
        return s.execute(
            select(func.count())
            .select_from(applied_t)
            .where(applied_t.c.subject.like(subject_prefix + "%"))
        ).scalar_one()


def run_until(consumer: EventConsumer, predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "consumer did not get there in time"
        consumer.poll_once()


def publish(db, outbox, bootstrap, *values: str, run: str) -> list[str]:
    ids = []
    with db.transaction() as s:
        for v in values:
            ids.append(
                outbox.record(s, wrappers_pb2.StringValue(value=v), subject=f"{run}/{v}").event_id
            )
    relay = OutboxRelay(db, outbox, bootstrap)
    try:
        assert relay.publish_once() == len(values)
    finally:
        relay.stop()
    return ids


def test_crash_after_apply_before_offset_commit_does_not_apply_twice(
    db, outbox_for, kafka_bootstrap
):
    run = secrets.token_hex(4)
    outbox = outbox_for(service="kittest")
    topic = kafka.topic_name("440000", "kittest", f"crash-{run}")
    outbox.topic = lambda stream="events": topic  # type: ignore[method-assign]
    publish(db, outbox, kafka_bootstrap, "a", run=run)
    group = f"kittest-{run}"

    def crash(_envelope):
        raise Crash()

    first = EventConsumer(
        db,
        inbox_t,
        kafka_bootstrap,
        group=group,
        handler=apply_string,
        node="440000",
        service="kittest",
        topics=[topic],
        on_applied=crash,
    )
    first.start()
    first._thread.join(30)
    assert isinstance(first.crashed, Crash), "the first consumer crashed after applying"
    assert applied_count(db, run) == 1  # the database transaction had committed

    second = EventConsumer(
        db,
        inbox_t,
        kafka_bootstrap,
        group=group,
        handler=apply_string,
        node="440000",
        service="kittest",
        topics=[topic],
    )
    try:
        delivered = []
        second.on_applied = delivered.append
        # The offset was never committed, so the event comes again …
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if second.poll_once() >= 1:
                break
        with db.transaction() as s:
            outcomes = (
                s.execute(select(inbox_t.c.outcome).where(inbox_t.c.consumer == group))
                .scalars()
                .all()
            )
        # … and the inbox makes it a no-op.
        assert applied_count(db, run) == 1
        assert delivered == []
        assert outcomes == ["applied"]
    finally:
        second._close()


def test_never_valid_events_are_dead_lettered_with_reason_and_the_rest_applies(
    db, outbox_for, kafka_bootstrap
):
    run = secrets.token_hex(4)
    topic = kafka.topic_name("440000", "kittest", f"dlq-{run}")
    producer = kafka.make_producer(kafka_bootstrap, "kittest")
    wrong = envelope_pb2.EventEnvelope(
        event_id="00000000-0000-7000-8000-000000000001",
        type="x",
        source_node="440000",
        subject=f"{run}/wrong",
    )
    wrong.payload.Pack(wrappers_pb2.Int64Value(value=1))
    good = envelope_pb2.EventEnvelope(
        event_id="00000000-0000-7000-8000-000000000002",
        type="y",
        source_node="440000",
        subject=f"{run}/good",
    )
    good.payload.Pack(wrappers_pb2.StringValue(value="ok"))
    producer.send(topic, key=b"k", value=b"\xff\xfe not a protobuf")
    producer.send(topic, key=b"k", value=wrong.SerializeToString())
    producer.send(topic, key=b"k", value=good.SerializeToString())
    producer.flush()
    producer.close()

    group = f"kittest-{run}"
    consumer = EventConsumer(
        db,
        inbox_t,
        kafka_bootstrap,
        group=group,
        handler=apply_string,
        node="440000",
        service="kittest",
        topics=[topic],
    )
    try:
        run_until(consumer, lambda: applied_count(db, run) == 1)
    finally:
        consumer._close()

    dlq = kafka.make_consumer(kafka_bootstrap, f"reader-{run}", "reader")
    dlq.subscribe(topics=[kafka.dlq_topic(topic)])
    letters = []
    deadline = time.monotonic() + 20
    while len(letters) < 2 and time.monotonic() < deadline:
        for records in dlq.poll(timeout_ms=500).values():
            letters += [envelope_pb2.DeadLetter.FromString(r.value) for r in records]
    dlq.close()
    assert len(letters) == 2
    assert "not an EventEnvelope" in letters[0].reason
    assert letters[0].raw
    assert "unexpected payload" in letters[1].reason
    assert letters[1].envelope.event_id == wrong.event_id
    assert letters[1].source_topic == topic
    with db.transaction() as s:
        outcomes = dict(
            s.execute(
                select(inbox_t.c.event_id, inbox_t.c.outcome).where(inbox_t.c.consumer == group)
            ).all()
        )
    assert outcomes == {wrong.event_id: "dead_lettered", good.event_id: "applied"}
