"""An EventConsumer that applies everything one poll returned in ONE transaction.

The kit's `EventConsumer` opens a transaction per event (inbox check, inbox row, effects,
commit) and commits offsets per partition: right for a trickle, too slow where events
converge (the hub's national models) or arrive by the million (a provincial data mirror
catching up). This subclass keeps the same guarantees — inbox rows written in the same
transaction as the effects, offsets committed after the database commit, each event applied
once — with a number of round trips per poll that does not grow with the events in it:

- every record is decoded first, outside the database; with `prepare` (a pure function of
  the envelope: no I/O) each event is also decoded and checked there. A record that can
  never be applied — not an envelope, an envelope without id/type/source, `prepare` raising
  — is *poison*: it goes to `<topic>.dlq` with the reason and gets a `dead_lettered` inbox
  row in the batch's transaction, and the rest of its batch is applied;
- one `INSERT .. ON CONFLICT DO NOTHING RETURNING` writes the inbox rows of every record
  the poll returned (all partitions) and names the ones that are new;
- the new events' effects go through `batch_handler(session, items)` — items are the
  envelopes, or what `prepare` returned for them — or, without one, through `handler` event
  by event, in the same transaction;
- one offset commit for every partition of the poll, after the database commit, sent
  asynchronously: the loop does not wait for the broker's answer (a commit lost in a crash
  only redelivers events the inbox already holds; a clean stop commits synchronously);
  the `on_applied` callbacks run before it (the effects are visible at the database commit);
- if the batch's transaction fails (a database error, a race with another member after a
  rebalance), it rolls back and each partition's records are replayed through the kit's
  one-event-at-a-time path, which retries from the failing event with backoff.

Users: the hub's national read models (puhui.federation) and the provincial data mirror
(puhui.data.mirror).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf.message import DecodeError
from kafka.structs import OffsetAndMetadata
from opentelemetry import trace
from sqlalchemy import select
from sqlalchemy.orm import Session

from puhui.events.v1 import envelope_pb2
from puhui.kit import metrics, tracing
from puhui.kit.inbox import EventConsumer, InvalidEvent
from puhui.kit.times import utcnow

logger = logging.getLogger(__name__)

# (session, items): items are the new events' envelopes, or their `prepare` results.
BatchHandler = Callable[[Session, Sequence[Any]], None]
Prepare = Callable[[envelope_pb2.EventEnvelope], Any]

# Records per poll (the kit's default is 200): a backlog after an outage is applied in
# batches this large, each costing about as many round trips as one event.
MAX_RECORDS = 1000


class BatchingEventConsumer(EventConsumer):
    """The kit's `EventConsumer`, applying each poll in one transaction (module docstring)."""

    def __init__(
        self,
        *args: Any,
        batch_handler: BatchHandler | None = None,
        prepare: Prepare | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("max_records", MAX_RECORDS)
        super().__init__(*args, **kwargs)
        if prepare is not None and batch_handler is None:
            raise ValueError("prepare needs a batch_handler to receive what it returns")
        self.batch_handler = batch_handler
        self.prepare = prepare
        # Offsets sent with commit_async and not confirmed yet: committed synchronously on
        # close, so a clean stop leaves nothing to redeliver.
        self._uncommitted: dict[Any, OffsetAndMetadata] = {}
        self._uncommitted_lock = threading.Lock()  # the callback may run on kafka's thread

    def _committed(self, offsets: dict[Any, OffsetAndMetadata], response: Any) -> None:
        if isinstance(response, Exception):
            # The events are in the database with their inbox rows: a redelivery is a no-op.
            logger.info("consumer %s: offset commit failed: %s", self.group, response)
            return
        with self._uncommitted_lock:
            for tp, offset in offsets.items():
                if self._uncommitted.get(tp) == offset:
                    del self._uncommitted[tp]

    def _close(self) -> None:
        with self._uncommitted_lock:
            last = dict(self._uncommitted)
        if self._consumer is not None and last:
            try:
                # Only partitions still ours: after a rebalance another member owns the rest.
                owned = self._consumer.assignment()
                last = {tp: offset for tp, offset in last.items() if tp in owned}
                if last:
                    self._consumer.commit(last, timeout_ms=5_000)
            except Exception:
                logger.info("consumer %s: last offset commit failed", self.group, exc_info=True)
        super()._close()

    def poll_once(self) -> int:
        consumer = self._ensure_consumer()
        polled = consumer.poll(timeout_ms=self.poll_timeout_ms, max_records=self.max_records)
        metrics.KAFKA_CONSUMER_LAST_POLL.labels(**self._labels).set_to_current_time()
        self._check_assignment(consumer)
        batches = {tp: records for tp, records in polled.items() if records}
        if not batches or self._stop.is_set():
            return 0
        records = [record for part in batches.values() for record in part]
        outcome = self._apply_batch(records)
        if outcome is None:
            return sum(self._one_by_one(consumer, tp, part) for tp, part in batches.items())
        applied, dead = outcome
        self._after(records, applied, dead)
        offsets = {
            tp: OffsetAndMetadata(part[-1].offset + 1, "", -1) for tp, part in batches.items()
        }
        with self._uncommitted_lock:
            self._uncommitted.update(offsets)
        consumer.commit_async(offsets, callback=self._committed)
        for tp in batches:
            self._report_lag(consumer, tp)
        return len(records)

    def _apply_batch(
        self, records: list[Any]
    ) -> tuple[list[tuple[Any, envelope_pb2.EventEnvelope]], list[Any]] | None:
        """Apply the records' new events in one transaction; return (record, envelope) of
        each event applied now and the records dead-lettered now, or None when the batch
        must go one by one."""
        fresh: dict[str, tuple[Any, envelope_pb2.EventEnvelope, Any]] = {}
        poison: list[tuple[Any, envelope_pb2.EventEnvelope | None, str]] = []
        for record in records:
            envelope, reason, prepared = self._decode(record)
            if reason:
                poison.append((record, envelope, reason))
            elif envelope is not None:  # a redelivery within the batch counts once
                fresh.setdefault(envelope.event_id, (record, envelope, prepared))
        try:
            with (
                self._tracer.start_as_current_span(
                    "process",
                    kind=trace.SpanKind.CONSUMER,
                    links=self._links(records),
                    attributes={
                        "puhui.node": self._labels["node"],
                        "messaging.system": "kafka",
                        "messaging.consumer.group.name": self.group,
                        "messaging.batch.message_count": len(records),
                    },
                ),
                self.db.transaction() as session,
            ):
                new_ids = self._claim(session, [e for _r, e, _p in fresh.values()], "applied")
                dead = self._dead_letter_batch(session, poison, fresh)
                applied = [(r, e, p) for r, e, p in fresh.values() if e.event_id in new_ids]
                if self.batch_handler is not None:
                    items = [p if self.prepare is not None else e for _r, e, p in applied]
                    self.batch_handler(session, items)
                else:
                    for _r, envelope, _p in applied:
                        self.handler(session, envelope)
        except Exception as exc:
            logger.info(
                "consumer %s: batch of %d replayed one by one: %s", self.group, len(records), exc
            )
            return None
        return [(r, e) for r, e, _p in applied], dead

    def _decode(self, record: Any) -> tuple[envelope_pb2.EventEnvelope | None, str, Any]:
        """(envelope, poison reason or "", prepared value) of one record, without I/O."""
        try:
            envelope = envelope_pb2.EventEnvelope.FromString(record.value or b"")
        except DecodeError as exc:
            return None, f"not an EventEnvelope: {exc}", None
        if not envelope.event_id or not envelope.type or not envelope.source_node:
            return envelope, "envelope lacks event_id, type or source_node", None
        if self.foreign(record.topic, envelope):
            return None, "", None
        if self.prepare is None:
            return envelope, "", None
        try:
            return envelope, "", self.prepare(envelope)
        except InvalidEvent as exc:
            return envelope, str(exc) or "invalid event", None
        except Exception as exc:  # prepare is pure: it would fail the same way every time
            return envelope, f"undecodable payload: {exc}"[:2000], None

    def _dead_letter_batch(
        self,
        session: Session,
        poison: list[tuple[Any, envelope_pb2.EventEnvelope | None, str]],
        fresh: dict[str, Any],
    ) -> list[Any]:
        """Publish the batch's new poison to the DLQ (before the commit: a crash re-sends,
        as the one-by-one path does) and give each poison event its inbox row."""
        if not poison:
            return []
        envelopes = {
            e.event_id: e
            for _r, e, _reason in poison
            if e is not None and e.event_id and e.event_id not in fresh
        }
        new_ids = self._claim(session, list(envelopes.values()), "dead_lettered")
        dead: list[Any] = []
        published: set[str] = set()
        for record, envelope, reason in poison:
            event_id = envelope.event_id if envelope is not None else ""
            if event_id and (event_id not in new_ids or event_id in published):
                continue  # dead-lettered before, or earlier in this batch
            self._publish_dead_letter(record, envelope, reason)
            published.add(event_id)
            dead.append(record)
        return dead

    def _links(self, records: list[Any]) -> list[trace.Link]:
        """A batch span links the producer span of each of its events (up to 128)."""
        links: list[trace.Link] = []
        for record in records[:128]:
            context = tracing.span_context_of(
                tracing.extract_kafka_headers(getattr(record, "headers", None))
            )
            if context.is_valid:
                links.append(trace.Link(context))
        return links

    def _claim(
        self, session: Session, envelopes: list[envelope_pb2.EventEnvelope], outcome: str
    ) -> set[str]:
        """Write the inbox rows of `envelopes`; return the ids that were not there yet."""
        if not envelopes:
            return set()
        t = self.inbox
        now = utcnow()
        rows = [
            {
                "consumer": self.group,
                "event_id": e.event_id,
                "event_type": e.type[:255],
                "source_node": e.source_node[:6],
                "outcome": outcome,
                "processed_at": now,
            }
            for e in envelopes
        ]
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            statement: Any = pg_insert(t).values(rows).on_conflict_do_nothing()
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            statement = sqlite_insert(t).values(rows).on_conflict_do_nothing()
        else:  # pragma: no cover - other databases
            ids = [e.event_id for e in envelopes]
            seen = set(
                session.execute(
                    select(t.c.event_id).where(t.c.consumer == self.group, t.c.event_id.in_(ids))
                ).scalars()
            )
            new = [row for row in rows if row["event_id"] not in seen]
            if new:
                session.execute(t.insert(), new)
            return {str(row["event_id"]) for row in new}
        return {str(i) for i in session.execute(statement.returning(t.c.event_id)).scalars()}

    def _after(
        self,
        records: list[Any],
        applied: list[tuple[Any, envelope_pb2.EventEnvelope]],
        dead: list[Any],
    ) -> None:
        """Outcome metrics (dead letters were counted when published), lag, callbacks."""
        per_topic: dict[str, int] = {}
        for record in records:
            per_topic[record.topic] = per_topic.get(record.topic, 0) + 1
        for record in dead:
            per_topic[record.topic] -= 1
        applied_per_topic: dict[str, int] = {}
        for record, _envelope in applied:
            applied_per_topic[record.topic] = applied_per_topic.get(record.topic, 0) + 1
        for topic, count in per_topic.items():
            done = applied_per_topic.get(topic, 0)
            if done:
                metrics.KAFKA_CONSUMED.labels(topic=topic, outcome="applied", **self._labels).inc(
                    done
                )
            if count - done:
                metrics.KAFKA_CONSUMED.labels(topic=topic, outcome="duplicate", **self._labels).inc(
                    count - done
                )
        envelopes = [envelope for _record, envelope in applied]
        self._observe_replication_lag(envelopes)
        if self.on_applied is not None:
            for envelope in envelopes:
                self.on_applied(envelope)
