"""The domain's EventSink: catalog events written to the outbox in the writing transaction."""

from __future__ import annotations

from typing import Any

from puhui.catalog import domain
from puhui.catalog.convert import institution_to_proto, item_to_proto
from puhui.catalog.v1 import events_pb2
from puhui.kit.outbox import Outbox


class OutboxEvents:
    """The domain's EventSink, writing to the outbox in the same transaction."""

    def __init__(self, outbox: Outbox, session: Any) -> None:
        self.outbox = outbox
        self.session = session

    def institution_changed(self, change: str, institution: domain.Institution) -> None:
        self.outbox.record(
            self.session,
            events_pb2.InstitutionChanged(
                change=change, institution=institution_to_proto(institution)
            ),
            subject=f"institution/{institution.institution_id}",
        )

    def item_changed(self, change: str, item: domain.ServiceItem) -> None:
        self.outbox.record(
            self.session,
            events_pb2.ServiceItemChanged(change=change, item=item_to_proto(item)),
            subject=f"item/{item.item_id}",
            # Items share their institution's key: one partition, in order with it.
            key=f"institution/{item.institution_id}",
        )
