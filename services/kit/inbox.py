"""Consuming events exactly once in effect: an inbox table keyed by (consumer, event id)
is written in the same transaction as the event's effects, and Kafka offsets are
committed only after that transaction commits.

A crash between the database commit and the offset commit re-delivers the event; the
inbox row makes the second delivery a no-op. Handlers raise `InvalidEvent` for events that
can never be applied (they go to `<topic>.dlq` with the reason) and any other exception
for "retry later" (the partition is rewound and retried with backoff).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import DecodeError
from kafka.structs import OffsetAndMetadata, TopicPartition
from opentelemetry import trace
from sqlalchemy import Column, DateTime, MetaData, String, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from puhui.events.v1 import envelope_pb2
from puhui.kit import kafka, metrics, tracing
from puhui.kit.db import Database
from puhui.kit.times import to_timestamp, utcnow

logger = logging.getLogger(__name__)

# Pattern subscriptions check their share of every subscribed topic this often; a topic
# without any partition assigned for ASSIGNMENT_GRACE seconds makes the member rejoin, at
# most once per ASSIGNMENT_REJOIN_INTERVAL (see EventConsumer._check_assignment).
ASSIGNMENT_CHECK_INTERVAL = 5.0
ASSIGNMENT_GRACE = 15.0
ASSIGNMENT_REJOIN_INTERVAL = 60.0

Handler = Callable[[Session, envelope_pb2.EventEnvelope], None]


class InvalidEvent(Exception):
    """The event can never be applied: dead-letter it with this reason."""


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "puhui_inbox",
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(255), nullable=False),
        Column("source_node", String(6), nullable=False),
        # applied | dead_lettered
        Column("outcome", String(20), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )


class EventConsumer:
    """A consumer-group member that applies events to the service's database once each."""

    def __init__(
        self,
        db: Database,
        inbox: Table,
        bootstrap: str,
        *,
        group: str,
        handler: Handler,
        node: str,
        service: str,
        topics: Sequence[str] = (),
        pattern: str | None = None,
        on_applied: Callable[[envelope_pb2.EventEnvelope], None] | None = None,
        poll_timeout_ms: int = 500,
        max_records: int = 200,
    ) -> None:
        if bool(topics) == bool(pattern):
            raise ValueError("give exactly one of topics or pattern")
        self.db = db
        self.inbox = inbox
        self.bootstrap = bootstrap
        self.group = group
        self.handler = handler
        self.topics = list(topics)
        self.pattern = pattern
        self.on_applied = on_applied
        self.poll_timeout_ms = poll_timeout_ms
        self.max_records = max_records
        self._labels = {"node": node, "service": service, "group": group}
        self._consumer = None
        self._dlq_producer = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tracer = tracing.tracer(__name__)
        self.crashed: BaseException | None = None
        self._unassigned_since: dict[str, float] = {}
        self._next_assignment_check = 0.0
        self._last_forced_rejoin = -ASSIGNMENT_REJOIN_INTERVAL

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"consumer-{self.group}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close(autocommit=False)
            except Exception:
                logger.warning("consumer %s: close failed", self.group, exc_info=True)
            self._consumer = None
        if self._dlq_producer is not None:
            try:
                self._dlq_producer.close(timeout=2)
            except Exception:
                logger.warning("consumer %s: DLQ producer close failed", self.group, exc_info=True)
            self._dlq_producer = None

    def _run(self) -> None:
        backoff = 0.5
        try:
            while not self._stop.is_set():
                try:
                    self.poll_once()
                    backoff = 0.5
                except Exception:
                    logger.warning(
                        "consumer %s: poll failed; retrying in %.1fs",
                        self.group,
                        backoff,
                        exc_info=True,
                    )
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
        except BaseException as exc:  # a crash: leave without committing anything more
            self.crashed = exc
        finally:
            self._close()

    # work --------------------------------------------------------------------------------
    def _ensure_consumer(self):  # type: ignore[no-untyped-def]
        if self._consumer is None:
            consumer = kafka.make_consumer(self.bootstrap, self.group, f"{self.group}-consumer")
            if self.pattern:
                consumer.subscribe(pattern=self.pattern)
            else:
                consumer.subscribe(topics=self.topics)
            self._consumer = consumer
        return self._consumer

    def _check_assignment(self, consumer: Any) -> None:
        """Pattern subscriptions: rejoin the group when a subscribed topic with known
        partitions has stayed without any assigned to this member.

        kafka-python can end a rebalance with a new topic's partitions assigned to nobody
        and never notice: the leader assigned while the topic's partition metadata was
        briefly missing (the assignor logs "No partition metadata for topic …"), and the
        metadata it compares later is the same as before (dpkp/kafka-python#1237). Seen
        here: the hub never consumed a province's fresh topics. With the range assignor and
        no more members than a topic's partitions every member holds one of each topic, so
        an empty share means the assignment went wrong; with more members than partitions
        this costs a rebalance at most every ASSIGNMENT_REJOIN_INTERVAL seconds."""
        now = time.monotonic()
        if not self.pattern or now < self._next_assignment_check:
            return
        self._next_assignment_check = now + ASSIGNMENT_CHECK_INTERVAL
        held = {tp.topic for tp in consumer.assignment()}
        subscribed = consumer.subscription() or set()
        missing = {t for t in subscribed if t not in held and consumer.partitions_for_topic(t)}
        self._unassigned_since = {t: self._unassigned_since.get(t, now) for t in missing}
        stuck = sorted(
            t for t, since in self._unassigned_since.items() if now - since >= ASSIGNMENT_GRACE
        )
        if not stuck or now - self._last_forced_rejoin < ASSIGNMENT_REJOIN_INTERVAL:
            return
        logger.warning(
            "consumer %s: no partitions of %s assigned after %.0fs; rejoining the group",
            self.group,
            ", ".join(stuck),
            ASSIGNMENT_GRACE,
        )
        self._last_forced_rejoin = now
        self._unassigned_since = {}
        consumer.unsubscribe()
        consumer.subscribe(pattern=self.pattern)

    def poll_once(self) -> int:
        """Poll once, apply what arrived, commit offsets of what was applied; return count."""
        consumer = self._ensure_consumer()
        batches = consumer.poll(timeout_ms=self.poll_timeout_ms, max_records=self.max_records)
        metrics.KAFKA_CONSUMER_LAST_POLL.labels(**self._labels).set_to_current_time()
        self._check_assignment(consumer)
        return sum(self._one_by_one(consumer, tp, records) for tp, records in batches.items())

    def _one_by_one(self, consumer: Any, tp: TopicPartition, records: Sequence[Any]) -> int:
        """Apply a partition's records each in its own transaction, in order; at a failure
        to retry, rewind the partition to that record and stop; commit what was applied.
        Batching subclasses fall back to this when a batch cannot be applied whole."""
        next_offset = None
        processed = 0
        for record in records:
            if self._stop.is_set():
                break
            try:
                self._process(record)
            except Exception:
                logger.warning(
                    "consumer %s: %s[%d]@%d failed; will retry",
                    self.group,
                    tp.topic,
                    tp.partition,
                    record.offset,
                    exc_info=True,
                )
                metrics.KAFKA_CONSUMED.labels(
                    topic=tp.topic, outcome="retried", **self._labels
                ).inc()
                consumer.seek(tp, record.offset)
                break
            next_offset = record.offset + 1
            processed += 1
        if next_offset is not None:
            consumer.commit({tp: OffsetAndMetadata(next_offset, "", -1)})
        self._report_lag(consumer, tp)
        return processed

    def _report_lag(self, consumer, tp: TopicPartition) -> None:  # type: ignore[no-untyped-def]
        high = consumer.highwater(tp)
        if high is None:
            return
        try:
            position = consumer.position(tp, timeout_ms=1000)
        except Exception:
            return
        if position is not None:
            metrics.KAFKA_CONSUMER_LAG.labels(
                topic=tp.topic, partition=str(tp.partition), **self._labels
            ).set(max(0, high - position))

    def _process(self, record) -> None:  # type: ignore[no-untyped-def]
        topic = record.topic
        try:
            envelope = envelope_pb2.EventEnvelope.FromString(record.value)
        except DecodeError as exc:
            self._dead_letter(record, None, f"not an EventEnvelope: {exc}")
            return
        if not envelope.event_id or not envelope.type or not envelope.source_node:
            self._dead_letter(record, envelope, "envelope lacks event_id, type or source_node")
            return
        if self.foreign(topic, envelope):
            return
        parent, links = tracing.consumer_parent(
            record.headers, envelope.traceparent, envelope.tracestate
        )
        with self._tracer.start_as_current_span(
            f"{topic} process",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            links=links,
            attributes={
                "puhui.node": self._labels["node"],
                "messaging.system": "kafka",
                "messaging.destination.name": topic,
                "messaging.message.id": envelope.event_id,
                "messaging.consumer.group.name": self.group,
            },
        ):
            try:
                applied = self._apply(envelope)
            except InvalidEvent as exc:
                self._dead_letter(record, envelope, str(exc))
                return
        outcome = "applied" if applied else "duplicate"
        metrics.KAFKA_CONSUMED.labels(topic=topic, outcome=outcome, **self._labels).inc()
        if applied:
            self._observe_replication_lag((envelope,))
        if applied and self.on_applied is not None:
            self.on_applied(envelope)

    def foreign(self, topic: str, envelope: envelope_pb2.EventEnvelope) -> bool:
        """True (and counted, logged: the PuhuiForeignEvents alert) when the envelope names
        another node than the topic it came from: a node writes only its own topics, so such
        an event is forged or misrouted and is dropped, never applied nor dead-lettered."""
        node = kafka.source_node_of(topic)
        if node is None or envelope.source_node[:6] == node:
            return False
        metrics.KAFKA_CONSUMED.labels(topic=topic, outcome="foreign", **self._labels).inc()
        logger.warning(
            "consumer %s: dropped event %s on %s: its envelope names node %r",
            self.group,
            envelope.event_id,
            topic,
            envelope.source_node[:6],
        )
        return True

    def _observe_replication_lag(self, applied: Sequence[envelope_pb2.EventEnvelope]) -> None:
        """Replication lag per source node: now minus the time of its latest applied event."""
        latest: dict[str, datetime] = {}
        for envelope in applied:
            if envelope.HasField("time"):
                latest[envelope.source_node[:6]] = envelope.time.ToDatetime(UTC)
        now = utcnow()
        for source_node, sent in latest.items():
            metrics.REPLICATION_LAG.labels(
                node=self._labels["node"], service=self._labels["service"], source_node=source_node
            ).set(max(0.0, (now - sent).total_seconds()))

    def _seen(self, session: Session, event_id: str) -> bool:
        t = self.inbox
        found = session.execute(
            select(t.c.event_id).where(t.c.consumer == self.group, t.c.event_id == event_id)
        ).first()
        return found is not None

    def _mark(self, session: Session, envelope: envelope_pb2.EventEnvelope, outcome: str) -> None:
        session.execute(
            self.inbox.insert().values(
                consumer=self.group,
                event_id=envelope.event_id,
                event_type=envelope.type[:255],
                source_node=envelope.source_node[:6],
                outcome=outcome,
                processed_at=utcnow(),
            )
        )

    def _apply(self, envelope: envelope_pb2.EventEnvelope) -> bool:
        try:
            with self.db.transaction() as session:
                if self._seen(session, envelope.event_id):
                    return False
                self._mark(session, envelope, "applied")
                self.handler(session, envelope)
        except IntegrityError:
            # Another member applied it concurrently (during a rebalance): a duplicate.
            with self.db.transaction() as session:
                if self._seen(session, envelope.event_id):
                    return False
            raise
        return True

    def _dead_letter(self, record, envelope, reason: str) -> None:  # type: ignore[no-untyped-def]
        """Publish to the DLQ, then give the event a `dead_lettered` inbox row of its own."""
        self._publish_dead_letter(record, envelope, reason)
        if envelope is not None:
            with self.db.transaction() as session:
                if not self._seen(session, envelope.event_id):
                    self._mark(session, envelope, "dead_lettered")

    def _publish_dead_letter(self, record, envelope, reason: str) -> None:  # type: ignore[no-untyped-def]
        """Send `<topic>.dlq` a DeadLetter with the reason (waits for the broker's ack)."""
        producer = self._dlq_producer
        if producer is None:
            producer = self._dlq_producer = kafka.make_producer(self.bootstrap, f"{self.group}-dlq")
        letter = envelope_pb2.DeadLetter(
            reason=reason[:2000],
            consumer_group=self.group,
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            time=to_timestamp(datetime.now(UTC)),
        )
        if envelope is not None:
            letter.envelope.CopyFrom(envelope)
        else:
            letter.raw = record.value or b""
        producer.send(
            kafka.dlq_topic(record.topic),
            key=record.key,
            value=letter.SerializeToString(),
            headers=[("reason", reason[:500].encode())],
        ).get(timeout=15)
        logger.warning(
            "consumer %s: dead-lettered %s[%d]@%d: %s",
            self.group,
            record.topic,
            record.partition,
            record.offset,
            reason,
        )
        metrics.KAFKA_CONSUMED.labels(
            topic=record.topic, outcome="dead_lettered", **self._labels
        ).inc()
