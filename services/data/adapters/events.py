"""The domain's EventSink on the outbox: record changes as the service's proto events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from puhui.data import domain
from puhui.data.convert import gi_to_proto, ic_layout_to_proto, patent_to_proto, trademark_to_proto
from puhui.data.v1 import events_pb2
from puhui.kit.outbox import Outbox, OutboxItem


class OutboxEvents:
    """The domain's EventSink: every change to the compacted mirror topic (keyed by record
    id); API changes also to the service's events topic."""

    def __init__(self, outbox: Outbox, session: Session, mirror_stream: str) -> None:
        self.outbox = outbox
        self.session = session
        self.mirror_stream = mirror_stream

    def records_changed(
        self, changes: Sequence[tuple[domain.Change, domain.Record]], *, announce: bool
    ) -> None:
        events = [
            (_event(change, record), *_subject_key(change, record)) for change, record in changes
        ]
        if not events:
            return
        items = [
            OutboxItem(event, subject, self.mirror_stream, key) for event, subject, key in events
        ]
        if announce:
            items += [OutboxItem(event, subject, "events") for event, subject, _ in events]
        self.outbox.record_many(self.session, items)


def _event(change: domain.Change, record: domain.Record) -> Any:
    if isinstance(record, domain.Patent):
        return events_pb2.PatentChanged(
            change=change.change,
            patent=patent_to_proto(record),
            sequence=change.sequence,
            previous_hash=change.previous_hash,
        )
    if isinstance(record, domain.GeographicalIndication):
        return events_pb2.GeographicalIndicationChanged(
            change=change.change,
            indication=gi_to_proto(record),
            sequence=change.sequence,
            previous_hash=change.previous_hash,
        )
    if isinstance(record, domain.IcLayout):
        return events_pb2.IcLayoutChanged(
            change=change.change,
            layout=ic_layout_to_proto(record),
            sequence=change.sequence,
            previous_hash=change.previous_hash,
        )
    return events_pb2.TrademarkChanged(
        change=change.change,
        trademark=trademark_to_proto(record),
        sequence=change.sequence,
        previous_hash=change.previous_hash,
    )


SUBJECT_KINDS = {
    domain.PATENTS: "patent",
    domain.TRADEMARKS: "trademark",
    domain.GEOGRAPHICAL_INDICATIONS: "geographical_indication",
    domain.IC_LAYOUTS: "ic_layout",
}


def _subject_key(change: domain.Change, record: domain.Record) -> tuple[str, str]:
    kind = SUBJECT_KINDS[domain.data_set_of(record)]
    return f"{kind}/{record.record_id}", f"{change.data_set}/{record.record_id}"
