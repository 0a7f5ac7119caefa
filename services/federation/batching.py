"""An EventConsumer that applies everything one poll returned in ONE transaction.

The kit's `EventConsumer` opens a transaction per event (inbox check, inbox row, effects,
commit) and commits offsets per partition. At the hub, where every province's events
converge, those round trips are the replication lag and its ceiling: each one is a wake-up
of another process (PostgreSQL, the broker), and on a busy machine every wake-up waits for
a core. This subclass keeps the same guarantees — inbox rows written in the same
transaction as the effects, offsets committed after the database commit, each event applied
once — with a number of round trips per poll that does not grow with the events in it:

- one `INSERT .. ON CONFLICT DO NOTHING RETURNING` writes the inbox rows of every record
  the poll returned (all partitions) and names the ones that are new;
- the new events' effects go through `batch_handler` (a few multi-row statements) or,
  without one, through `handler` event by event, in the same transaction;
- one offset commit for every partition of the poll, after the database commit, sent
  asynchronously: the loop does not wait for the broker's answer (a commit lost in a crash
  only redelivers events the inbox already holds; a clean stop commits synchronously);
  the `on_applied` callbacks run before it (the read model is visible at the database
  commit);
- if anything in the batch fails (an `InvalidEvent`, a database error), the transaction
  rolls back and each partition's records are replayed through the kit's
  one-event-at-a-time path, which dead-letters the bad event and applies the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf.message import DecodeError
from kafka.structs import OffsetAndMetadata
from sqlalchemy import select
from sqlalchemy.orm import Session

from puhui.events.v1 import envelope_pb2
from puhui.kit import metrics
from puhui.kit.inbox import EventConsumer
from puhui.kit.outbox import utcnow

logger = logging.getLogger(__name__)

BatchHandler = Callable[[Session, Sequence[envelope_pb2.EventEnvelope]], None]

# Records per poll (the kit's default is 200): a backlog after an outage is applied in
# batches this large, each costing about as many round trips as one event.
MAX_RECORDS = 1000


class BatchingEventConsumer(EventConsumer):
    def __init__(
        self, *args: Any, batch_handler: BatchHandler | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("max_records", MAX_RECORDS)
        super().__init__(*args, **kwargs)
        self.batch_handler = batch_handler
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
        batches = {tp: records for tp, records in polled.items() if records}
        if not batches or self._stop.is_set():
            return 0
        records = [record for part in batches.values() for record in part]
        applied = self._apply_batch(records)
        if applied is None:
            return sum(self._one_by_one(consumer, tp, part) for tp, part in batches.items())
        self._after(records, applied)
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
    ) -> list[tuple[Any, envelope_pb2.EventEnvelope]] | None:
        """Apply the records' new events in one transaction; return (record, envelope) of
        each event applied now, or None when the batch must go one by one."""
        fresh: dict[str, tuple[Any, envelope_pb2.EventEnvelope]] = {}
        for record in records:
            try:
                envelope = envelope_pb2.EventEnvelope.FromString(record.value or b"")
            except DecodeError:
                return None  # the per-event path dead-letters it
            if not envelope.event_id or not envelope.type or not envelope.source_node:
                return None
            fresh.setdefault(envelope.event_id, (record, envelope))  # a redelivery in the batch
        try:
            with self.db.transaction() as session:
                new_ids = self._claim(session, [e for _r, e in fresh.values()])
                applied = [(r, e) for r, e in fresh.values() if e.event_id in new_ids]
                envelopes = [e for _r, e in applied]
                if self.batch_handler is not None:
                    self.batch_handler(session, envelopes)
                else:
                    for envelope in envelopes:
                        self.handler(session, envelope)
        except Exception as exc:
            logger.info(
                "consumer %s: batch of %d replayed one by one: %s", self.group, len(records), exc
            )
            return None
        return applied

    def _claim(self, session: Session, envelopes: list[envelope_pb2.EventEnvelope]) -> set[str]:
        """Write the inbox rows of `envelopes`; return the ids that were not there yet."""
        t = self.inbox
        now = utcnow()
        rows = [
            {
                "consumer": self.group,
                "event_id": e.event_id,
                "event_type": e.type[:255],
                "source_node": e.source_node[:6],
                "outcome": "applied",
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
        self, records: list[Any], applied: list[tuple[Any, envelope_pb2.EventEnvelope]]
    ) -> None:
        per_topic: dict[str, int] = {}
        for record in records:
            per_topic[record.topic] = per_topic.get(record.topic, 0) + 1
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
