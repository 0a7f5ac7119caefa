"""A catalog rebuilt from events alone: what the hub does with every province's stream.

Events carry complete entities (`InstitutionChanged.institution`, `ServiceItemChanged.item`),
so applying them in any order gives the same catalog: an institution keeps its highest
revision, an item keeps every version and the highest is current, and every item carries its
institution's latest status. Applying an event twice changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from puhui.catalog.v1 import catalog_pb2, events_pb2
from puhui.events.v1 import envelope_pb2

logger = logging.getLogger(__name__)


@dataclass
class CatalogReplica:
    institutions: dict[str, catalog_pb2.Institution] = field(default_factory=dict)
    items: dict[tuple[str, int], catalog_pb2.ServiceItem] = field(default_factory=dict)

    def apply(self, envelope: envelope_pb2.EventEnvelope) -> bool:
        """Apply one catalog event; False if it is not one."""
        changed = events_pb2.InstitutionChanged()
        if envelope.payload.Unpack(changed):
            inst = changed.institution
            known = self.institutions.get(inst.institution_id)
            if known is None or known.revision < inst.revision:
                self.institutions[inst.institution_id] = inst
                for item in self.items.values():
                    if item.institution_id == inst.institution_id:
                        item.institution_status = inst.status
            return True
        item_changed = events_pb2.ServiceItemChanged()
        if envelope.payload.Unpack(item_changed):
            item = item_changed.item
            owner = self.institutions.get(item.institution_id)
            if owner is not None:  # the institution's latest status wins over the item's copy
                item.institution_status = owner.status
            self.items[(item.item_id, item.version)] = item
            return True
        return False

    def item_versions(self, item_id: str) -> list[catalog_pb2.ServiceItem]:
        """Every version of an item, oldest first, only the newest marked current."""
        versions = sorted(
            (v for (iid, _), v in self.items.items() if iid == item_id), key=lambda v: v.version
        )
        out = []
        for n, v in enumerate(versions):
            copy = catalog_pb2.ServiceItem()
            copy.CopyFrom(v)
            copy.is_current = n == len(versions) - 1
            out.append(copy)
        return out
