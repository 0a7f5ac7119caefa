"""Read model of the catalog (institutions and current service items), built from the
catalog's Kafka events, for the "demand without supply" report."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from puhui.catalog.v1 import catalog_pb2, events_pb2
from puhui.events.v1 import envelope_pb2
from puhui.feedback.adapters.tables import catalog_institutions, catalog_items
from puhui.kit.inbox import InvalidEvent

CATEGORY_PREFIX = "SERVICE_CATEGORY_"


def category_name(value: int) -> str:
    try:
        return catalog_pb2.ServiceCategory.Name(value).removeprefix(CATEGORY_PREFIX)
    except ValueError:
        return ""


def apply_catalog_event(session: Session, envelope: envelope_pb2.EventEnvelope) -> None:
    """Inbox handler: keep the newest revision of each institution and item."""
    if envelope.type == "puhui.catalog.v1.InstitutionChanged":
        ic = events_pb2.InstitutionChanged()
        if not envelope.payload.Unpack(ic) or not ic.institution.institution_id:
            raise InvalidEvent("InstitutionChanged without an institution")
        inst = ic.institution
        t = catalog_institutions
        current = session.execute(
            select(t.c.revision).where(t.c.institution_id == inst.institution_id)
        ).scalar()
        values = {
            "region_code": inst.region_code,
            "service_area": json.dumps(list(inst.service_area)),
            "status": int(inst.status),
            "revision": inst.revision,
        }
        if current is None:
            session.execute(t.insert().values(institution_id=inst.institution_id, **values))
        elif inst.revision >= current:
            session.execute(
                t.update().where(t.c.institution_id == inst.institution_id).values(**values)
            )
    elif envelope.type == "puhui.catalog.v1.ServiceItemChanged":
        sc = events_pb2.ServiceItemChanged()
        if not envelope.payload.Unpack(sc) or not sc.item.item_id:
            raise InvalidEvent("ServiceItemChanged without an item")
        item = sc.item
        t = catalog_items
        current = session.execute(select(t.c.version).where(t.c.item_id == item.item_id)).scalar()
        values = {
            "institution_id": item.institution_id,
            "category": category_name(item.category),
            "version": item.version,
            # "created" and "versioned" describe the item's newest version.
            "is_current": item.is_current or sc.change in ("created", "versioned"),
        }
        if current is None:
            session.execute(t.insert().values(item_id=item.item_id, **values))
        elif item.version >= current:
            session.execute(t.update().where(t.c.item_id == item.item_id).values(**values))
    # Other catalog events do not concern the read model.
