"""Transactional outbox: events are rows written in the same database transaction as the
change they describe; a relay thread publishes them to Kafka and marks them published.

If Kafka is down the rows wait; nothing is lost. The relay sends in id order with an
idempotent, acks=all producer, so each event reaches the log once per successful send.
A send that fails after a later one succeeded can reorder two events on retry; consumers
are idempotent (inbox), and per-subject order only matters within one partition.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from google.protobuf import any_pb2
from google.protobuf.message import Message
from opentelemetry import trace
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from puhui.events.v1 import envelope_pb2
from puhui.kit import kafka, metrics, tracing
from puhui.kit.db import Database, is_postgresql
from puhui.kit.ids import new_id
from puhui.kit.times import aware, to_timestamp, utcnow

__all__ = ["Outbox", "OutboxItem", "OutboxRelay", "to_timestamp", "utcnow"]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_Id = BigInteger().with_variant(Integer(), "sqlite")


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "puhui_outbox",
        metadata,
        Column("id", _Id, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("topic", String(255), nullable=False),
        Column("key", String(255), nullable=False),
        Column("event_type", String(255), nullable=False),
        Column("envelope", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        Index("ix_puhui_outbox_pending", "published_at", "id"),
    )


@dataclass(frozen=True)
class OutboxItem:
    """One event for `Outbox.record_many` (the arguments of `Outbox.record`)."""

    payload: Message
    subject: str
    stream: str = "events"
    key: str | None = None


class Outbox:
    """Records events inside the caller's transaction."""

    def __init__(self, table: Table, node: str, service: str) -> None:
        self.table = table
        self.node = node
        self.service = service
        self._wake = threading.Event()

    def topic(self, stream: str = "events") -> str:
        return kafka.topic_name(self.node, self.service, stream)

    def record(
        self,
        session: Session,
        payload: Message,
        *,
        subject: str,
        stream: str = "events",
        key: str | None = None,
    ) -> envelope_pb2.EventEnvelope:
        """Add an event to the outbox in `session`'s transaction and return its envelope."""
        envelope, row = self._envelope_row(
            payload, subject, stream, key, utcnow(), tracing.inject()
        )
        session.execute(self.table.insert().values(**row))
        self._wake_after_commit(session)
        return envelope

    def record_many(
        self,
        session: Session,
        items: Sequence[OutboxItem],
    ) -> list[envelope_pb2.EventEnvelope]:
        """`record` for a batch: the same envelopes (one trace context, one time for the
        batch), inserted in one statement — COPY on PostgreSQL, executemany elsewhere."""
        if not items:
            return []
        now = utcnow()
        headers = tracing.inject()
        built = [
            self._envelope_row(item.payload, item.subject, item.stream, item.key, now, headers)
            for item in items
        ]
        rows = [row for _envelope, row in built]
        if is_postgresql(session):
            columns = list(rows[0])
            driver = session.connection().connection.driver_connection
            statement = f"COPY {self.table.name} ({', '.join(columns)}) FROM STDIN"
            with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row([row[c] for c in columns])
        else:
            session.execute(self.table.insert(), rows)
        self._wake_after_commit(session)
        return [envelope for envelope, _row in built]

    def _envelope_row(
        self,
        payload: Message,
        subject: str,
        stream: str,
        key: str | None,
        now: datetime,
        headers: dict[str, str],
    ) -> tuple[envelope_pb2.EventEnvelope, dict[str, Any]]:
        """The envelope of one event and the outbox row that carries it."""
        packed = any_pb2.Any()
        packed.Pack(payload)
        envelope = envelope_pb2.EventEnvelope(
            event_id=new_id(),
            type=payload.DESCRIPTOR.full_name,
            source_node=self.node,
            source_service=self.service,
            subject=subject,
            time=to_timestamp(now),
            schema_version=SCHEMA_VERSION,
            traceparent=headers.get("traceparent", ""),
            tracestate=headers.get("tracestate", ""),
            payload=packed,
        )
        row = {
            "event_id": envelope.event_id,
            "topic": self.topic(stream),
            "key": key or subject,
            "event_type": envelope.type,
            "envelope": envelope.SerializeToString(),
            "created_at": now,
            "attempts": 0,
        }
        return envelope, row

    def _wake_after_commit(self, session: Session) -> None:
        sa_event.listen(session, "after_commit", lambda _s: self._wake.set(), once=True)

    def wait_for_work(self, timeout: float) -> None:
        self._wake.wait(timeout)
        self._wake.clear()


class OutboxRelay:
    """Background thread: outbox rows → Kafka → marked published."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        bootstrap: str,
        *,
        batch_size: int = 500,
        idle_poll_seconds: float = 0.2,
        retention: timedelta = timedelta(hours=24),
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.table = outbox.table
        self.bootstrap = bootstrap
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.retention = retention
        self._producer = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._labels = {"node": outbox.node, "service": outbox.service}
        self._last_gauges = 0.0
        self._last_prune = 0.0
        self._tracer = tracing.tracer(__name__)

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.outbox._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._producer is not None:
            try:
                self._producer.close(timeout=2)
            except Exception:  # closing a producer of an unreachable broker may raise
                logger.warning("outbox relay: producer close failed", exc_info=True)
            self._producer = None

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                sent = self.publish_once()
                backoff = 0.5
                self._update_gauges()
                if sent < self.batch_size:
                    self.outbox.wait_for_work(self.idle_poll_seconds)
            except Exception:
                logger.warning(
                    "outbox relay: publish failed; retrying in %.1fs", backoff, exc_info=True
                )
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    # work --------------------------------------------------------------------------------
    def _ensure_producer(self):  # type: ignore[no-untyped-def]
        if self._producer is None:
            self._producer = kafka.make_producer(
                self.bootstrap, f"puhui-{self.outbox.service}-{self.outbox.node}-relay"
            )
        return self._producer

    def _discard_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=0)
            except Exception:  # unflushed records: close refuses politely, then we let go
                logger.debug("outbox relay: discarded producer with unsent records", exc_info=True)

    def publish_once(self) -> int:
        """Publish one batch of pending events; return how many Kafka acknowledged."""
        t = self.table
        with self.db.transaction() as session:
            query = (
                select(t.c.id, t.c.topic, t.c.key, t.c.envelope, t.c.event_type)
                .where(t.c.published_at.is_(None))
                .order_by(t.c.id)
                .limit(self.batch_size)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = session.execute(query).all()
            if not rows:
                return 0
            producer = self._ensure_producer()
            futures = []
            for row in rows:
                # A PRODUCER span per record, child of the context the envelope carries;
                # its own context goes in the Kafka headers (docs/tracing.md).
                span = self._producer_span(row)
                futures.append(
                    (
                        row,
                        span,
                        producer.send(
                            row.topic,
                            key=row.key.encode(),
                            value=row.envelope,
                            headers=[
                                ("event_type", row.event_type.encode()),
                                *tracing.kafka_headers(trace.set_span_in_context(span)),
                            ],
                        ),
                    )
                )
            try:
                producer.flush(timeout=kafka.DELIVERY_TIMEOUT_MS / 1000 + 5)
            except Exception:
                # Records may still sit in the producer's buffer: drop the producer so they
                # cannot be delivered behind the retry's back.
                for _row, span, _future in futures:
                    span.end()
                self._discard_producer()
                raise
            done: list[int] = []
            failed: list[tuple[int, str]] = []
            for row, span, future in futures:
                try:
                    future.get(timeout=0)
                    done.append(row.id)
                    metrics.KAFKA_PRODUCED.labels(topic=row.topic, **self._labels).inc()
                except Exception as exc:
                    failed.append((row.id, repr(exc)[:500]))
                    metrics.KAFKA_PRODUCE_FAILED.labels(topic=row.topic, **self._labels).inc()
                    span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
                span.end()
            now = utcnow()
            if done:
                session.execute(update(t).where(t.c.id.in_(done)).values(published_at=now))
            for row_id, error in failed:
                session.execute(
                    update(t)
                    .where(t.c.id == row_id)
                    .values(attempts=t.c.attempts + 1, last_error=error)
                )
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(rows)} events not acknowledged by Kafka")
        return len(done)

    def _producer_span(self, row) -> trace.Span:  # type: ignore[no-untyped-def]
        envelope = envelope_pb2.EventEnvelope.FromString(row.envelope)
        parent = tracing.extract(
            {"traceparent": envelope.traceparent, "tracestate": envelope.tracestate}
        )
        return self._tracer.start_span(
            f"{row.topic} publish",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.destination.name": row.topic,
                "messaging.message.id": envelope.event_id,
                "puhui.node": self.outbox.node,
            },
        )

    def backlog(self) -> tuple[int, float]:
        """(unpublished events, age in seconds of the oldest)."""
        t = self.table
        with self.db.transaction() as session:
            count, oldest = session.execute(
                select(func.count(), func.min(t.c.created_at)).where(t.c.published_at.is_(None))
            ).one()
        if oldest is None:
            return count, 0.0
        return count, max(0.0, (utcnow() - aware(oldest)).total_seconds())

    def _update_gauges(self) -> None:
        now = time.monotonic()
        if now - self._last_gauges < 2.0:
            return
        self._last_gauges = now
        count, age = self.backlog()
        metrics.OUTBOX_BACKLOG.labels(**self._labels).set(count)
        metrics.OUTBOX_OLDEST_AGE.labels(**self._labels).set(age)
        if now - self._last_prune > 60.0:
            self._last_prune = now
            cutoff = utcnow() - self.retention
            with self.db.transaction() as session:
                session.execute(delete(self.table).where(self.table.c.published_at < cutoff))
