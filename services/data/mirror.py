"""The provincial mirror's consumer: each polled batch of a partition applied in ONE transaction.

The kit's `EventConsumer` opens a transaction per event (inbox check, inbox row, effects,
commit): a mirror catching up on a million records would take hours. This consumer keeps the
kit's guarantees — every event's inbox row in the same transaction as its effects, offsets
committed only after that transaction commits, each event applied once — per polled batch:

1. every record of the batch is decoded and checked without the database (envelope, event
   type, payload, content hash); a record that can never be applied is *poison*;
2. one transaction: one query for the batch's event ids the inbox already holds; the new
   events' records applied in bulk per data set (`DataSets.apply_mirrored_many`: one read of
   the stored versions, one save, one change-feed insert); poison events not seen before sent
   to `<topic>.dlq` (before the commit: a crash re-sends, as the kit does) and given a
   `dead_lettered` inbox row; the inbox rows of the whole batch in one statement;
3. the partition's offset committed after the commit.

A poison event therefore goes to the DLQ without losing the rest of its batch. If the batch
transaction itself fails (a database error, a race with another member after a rebalance),
it rolls back and the batch is replayed through the kit's one-event-at-a-time path, which
retries from the failing event with backoff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError
from kafka.structs import OffsetAndMetadata
from opentelemetry import trace
from sqlalchemy import select
from sqlalchemy.orm import Session

from puhui.data import domain
from puhui.data.adapters.db import (
    SqlGiRepository,
    SqlIcLayoutRepository,
    SqlPatentRepository,
    SqlTrademarkRepository,
)
from puhui.data.servicer import (
    gi_from_proto,
    ic_layout_from_proto,
    patent_from_proto,
    trademark_from_proto,
)
from puhui.data.v1 import events_pb2
from puhui.events.v1 import envelope_pb2
from puhui.kit import metrics, tracing
from puhui.kit.inbox import EventConsumer, InvalidEvent
from puhui.kit.outbox import utcnow

logger = logging.getLogger(__name__)

REPOSITORIES: dict[str, Any] = {
    domain.PATENTS: SqlPatentRepository,
    domain.TRADEMARKS: SqlTrademarkRepository,
    domain.GEOGRAPHICAL_INDICATIONS: SqlGiRepository,
    domain.IC_LAYOUTS: SqlIcLayoutRepository,
}


def decode_record(envelope: envelope_pb2.EventEnvelope) -> domain.Record:
    """The record a mirror event carries, its content hash checked; InvalidEvent if none."""
    record: domain.Record
    if envelope.type == events_pb2.PatentChanged.DESCRIPTOR.full_name:
        patent_event = events_pb2.PatentChanged()
        envelope.payload.Unpack(patent_event)
        record = patent_from_proto(patent_event.patent, sequence=patent_event.sequence)
    elif envelope.type == events_pb2.TrademarkChanged.DESCRIPTOR.full_name:
        tm_event = events_pb2.TrademarkChanged()
        envelope.payload.Unpack(tm_event)
        record = trademark_from_proto(tm_event.trademark, sequence=tm_event.sequence)
    elif envelope.type == events_pb2.GeographicalIndicationChanged.DESCRIPTOR.full_name:
        gi_event = events_pb2.GeographicalIndicationChanged()
        envelope.payload.Unpack(gi_event)
        record = gi_from_proto(gi_event.indication, sequence=gi_event.sequence)
    elif envelope.type == events_pb2.IcLayoutChanged.DESCRIPTOR.full_name:
        ic_event = events_pb2.IcLayoutChanged()
        envelope.payload.Unpack(ic_event)
        record = ic_layout_from_proto(ic_event.layout, sequence=ic_event.sequence)
    else:
        raise InvalidEvent(f"unexpected event type {envelope.type}")
    try:
        domain.DataSets.check_mirrored(record)
    except domain.InvalidArgument as exc:
        raise InvalidEvent(str(exc)) from None
    return record


def apply_one(
    data_sets: domain.DataSets, session: Session, envelope: envelope_pb2.EventEnvelope
) -> None:
    """The kit handler (one event in its transaction): the replay path of a failed batch."""
    record = decode_record(envelope)
    repo = REPOSITORIES[domain.data_set_of(record)](session)
    try:
        data_sets.apply_mirrored(repo, record, utcnow())
    except domain.InvalidArgument as exc:
        raise InvalidEvent(str(exc)) from None


@dataclass
class _Item:
    record: Any  # the Kafka record
    envelope: envelope_pb2.EventEnvelope | None
    data: domain.Record | None = None
    poison: str = ""


class MirrorConsumer(EventConsumer):
    """The kit `EventConsumer` applying each polled batch of a partition in one transaction.
    `data_sets` applies the records; `handler` (kit path) must be `apply_one` bound to it."""

    def __init__(self, *args: Any, data_sets: domain.DataSets, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.data_sets = data_sets
        self._dead_in_batch = 0

    def poll_once(self) -> int:
        consumer = self._ensure_consumer()
        batches = consumer.poll(timeout_ms=self.poll_timeout_ms, max_records=self.max_records)
        metrics.KAFKA_CONSUMER_LAST_POLL.labels(**self._labels).set_to_current_time()
        processed = 0
        for tp, records in batches.items():
            if not records or self._stop.is_set():
                continue
            try:
                applied = self._apply_batch(tp.topic, records)
            except Exception as exc:
                logger.info(
                    "consumer %s: batch of %d replayed one by one: %s",
                    self.group,
                    len(records),
                    exc,
                )
                processed += self._one_by_one(consumer, tp, records)
                continue
            consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, "", -1)})
            processed += len(records)
            self._after(tp.topic, records, applied)
            self._report_lag(consumer, tp)
        return processed

    # -- the batch ---------------------------------------------------------------------------
    def _decode(self, record: Any) -> _Item:
        try:
            envelope = envelope_pb2.EventEnvelope.FromString(record.value or b"")
        except DecodeError as exc:
            return _Item(record, None, poison=f"not an EventEnvelope: {exc}")
        if not envelope.event_id or not envelope.type or not envelope.source_node:
            return _Item(record, envelope, poison="envelope lacks event_id, type or source_node")
        try:
            return _Item(record, envelope, data=decode_record(envelope))
        except InvalidEvent as exc:
            return _Item(record, envelope, poison=str(exc))
        except Exception as exc:  # a payload that does not unpack, a malformed field
            return _Item(record, envelope, poison=f"undecodable payload: {exc}"[:2000])

    def _apply_batch(self, topic: str, records: list[Any]) -> list[envelope_pb2.EventEnvelope]:
        items = [self._decode(r) for r in records]
        with self._tracer.start_as_current_span(
            f"{topic} process",
            kind=trace.SpanKind.CONSUMER,
            links=self._links(items),
            attributes={
                "puhui.node": self._labels["node"],
                "messaging.system": "kafka",
                "messaging.destination.name": topic,
                "messaging.consumer.group.name": self.group,
                "messaging.batch.message_count": len(records),
            },
        ):
            return self._write(items)

    def _write(self, items: list[_Item]) -> list[envelope_pb2.EventEnvelope]:
        t = self.inbox
        applied: list[envelope_pb2.EventEnvelope] = []
        self._dead_in_batch = 0
        with self.db.transaction() as session:
            ids = [i.envelope.event_id for i in items if i.envelope is not None]
            seen = set(
                session.execute(
                    select(t.c.event_id).where(t.c.consumer == self.group, t.c.event_id.in_(ids))
                ).scalars()
            )
            now = utcnow()
            rows: list[dict[str, Any]] = []
            by_set: dict[str, list[domain.Record]] = {}
            for item in items:
                envelope = item.envelope
                if envelope is not None and envelope.event_id in seen:
                    continue  # a duplicate delivery (or twice in this batch)
                if item.poison:
                    self._publish_dead_letter(item.record, envelope, item.poison)
                    self._dead_in_batch += 1
                    if envelope is None or not envelope.event_id:
                        continue
                    outcome = "dead_lettered"
                else:
                    assert envelope is not None
                    assert item.data is not None
                    by_set.setdefault(domain.data_set_of(item.data), []).append(item.data)
                    applied.append(envelope)
                    outcome = "applied"
                seen.add(envelope.event_id)
                rows.append(
                    {
                        "consumer": self.group,
                        "event_id": envelope.event_id,
                        "event_type": envelope.type[:255],
                        "source_node": envelope.source_node[:6],
                        "outcome": outcome,
                        "processed_at": now,
                    }
                )
            for data_set, group in by_set.items():
                repo = REPOSITORIES[data_set](session)
                self.data_sets.apply_mirrored_many(repo, group, now)
            if rows:  # the inbox rows of the whole batch in one statement
                session.execute(t.insert(), rows)
        return applied

    def _links(self, items: list[_Item]) -> list[trace.Link]:
        """A batch span links every producer span of its events (messaging conventions)."""
        links: list[trace.Link] = []
        for item in items[:128]:
            envelope = item.envelope
            parent, _ = tracing.consumer_parent(
                item.record.headers,
                envelope.traceparent if envelope else "",
                envelope.tracestate if envelope else "",
            )
            context = trace.get_current_span(parent).get_span_context()
            if context.is_valid:
                links.append(trace.Link(context))
        return links

    def _after(
        self, topic: str, records: list[Any], applied: list[envelope_pb2.EventEnvelope]
    ) -> None:
        if applied:
            metrics.KAFKA_CONSUMED.labels(topic=topic, outcome="applied", **self._labels).inc(
                len(applied)
            )
        duplicates = len(records) - len(applied) - self._dead_in_batch
        if duplicates > 0:
            metrics.KAFKA_CONSUMED.labels(topic=topic, outcome="duplicate", **self._labels).inc(
                duplicates
            )
        self._observe_replication_lag(applied)
        if self.on_applied is not None:
            for envelope in applied:
                self.on_applied(envelope)
