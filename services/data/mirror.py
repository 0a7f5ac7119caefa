"""The provincial mirror: hub data-set events applied to this node's database.

The consumer is the kit's `BatchingEventConsumer` (puhui.kit.batching): each poll's events in
one transaction. `decode_record` is its `prepare` step (envelope → record, content hash
checked, outside the database; a record that fails is dead-lettered without stopping its
batch), `apply_batch` its batch handler, and `apply_one` the one-event path a failed batch
is replayed through.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session

from puhui.data import domain
from puhui.data.adapters.store import REPOSITORIES
from puhui.data.convert import (
    gi_from_proto,
    ic_layout_from_proto,
    patent_from_proto,
    trademark_from_proto,
)
from puhui.data.v1 import events_pb2
from puhui.events.v1 import envelope_pb2
from puhui.kit.inbox import InvalidEvent
from puhui.kit.times import utcnow

logger = logging.getLogger(__name__)


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


def apply_batch(
    data_sets: domain.DataSets, session: Session, records: Sequence[domain.Record]
) -> None:
    """The batch handler: the new events' records (decoded and hash-checked by
    `decode_record` outside the database) applied in bulk per data set — one read of the
    stored versions, one save, one change-feed insert each."""
    by_set: dict[str, list[domain.Record]] = {}
    for record in records:
        by_set.setdefault(domain.data_set_of(record), []).append(record)
    now = utcnow()
    for data_set, group in by_set.items():
        data_sets.apply_mirrored_many(REPOSITORIES[data_set](session), group, now)
