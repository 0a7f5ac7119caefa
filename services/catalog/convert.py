"""Proto ↔ domain conversions of the catalog's entities, shared by the servicer and the
outbox events."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from puhui.catalog import domain
from puhui.catalog.v1 import catalog_pb2
from puhui.kit.times import aware

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _seconds(moment: datetime) -> tuple[int, int]:
    """Timestamp.FromDatetime's (seconds, nanos) (a naive time taken as UTC) at a fraction
    of its cost."""
    delta = aware(moment) - _EPOCH
    return delta.days * 86400 + delta.seconds, delta.microseconds * 1000


def _set_time(target: timestamp_pb2.Timestamp, moment: datetime) -> None:
    target.seconds, target.nanos = _seconds(moment)


def institution_to_proto(i: domain.Institution) -> catalog_pb2.Institution:
    # Scalars in the constructor, sub-messages filled in place: building each Timestamp,
    # ActorStamp and Contact as its own message to have it copied in cost three times as
    # much, and searches convert twenty institutions a page.
    m = catalog_pb2.Institution(
        institution_id=i.institution_id,
        owning_node=i.owning_node,
        name=i.name,
        description=i.description,
        tier=int(i.tier),  # type: ignore[arg-type]
        region_code=i.region_code,
        service_area=i.service_area,
        ipc_fields=i.ipc_fields,
        monthly_capacity=i.monthly_capacity,
        status=int(i.status),  # type: ignore[arg-type]
        is_example=i.is_example,
        revision=i.revision,
        status_reason=i.status_reason,
    )
    for c in i.contacts:
        m.contacts.add(name=c.name, phone=c.phone, email=c.email, address=c.address)
    if i.approved_at is not None:
        m.approved.actor = i.approved_by
        _set_time(m.approved.time, i.approved_at)
    if i.status_changed_at is not None:
        m.status_changed.actor = i.status_changed_by
        _set_time(m.status_changed.time, i.status_changed_at)
    if i.created_at is not None:
        _set_time(m.created_at, i.created_at)
    if i.updated_at is not None:
        _set_time(m.updated_at, i.updated_at)
    return m


def new_institution_from_proto(src: catalog_pb2.Institution) -> domain.NewInstitution:
    return domain.NewInstitution(
        name=src.name,
        tier=src.tier,
        region_code=src.region_code,
        description=src.description,
        service_area=tuple(src.service_area),
        contacts=tuple(
            domain.Contact(name=c.name, phone=c.phone, email=c.email, address=c.address)
            for c in src.contacts
        ),
        ipc_fields=tuple(src.ipc_fields),
        monthly_capacity=src.monthly_capacity,
        is_example=src.is_example,
    )


def item_to_proto(i: domain.ServiceItem) -> catalog_pb2.ServiceItem:
    e = i.eligibility
    m = catalog_pb2.ServiceItem(
        item_id=i.item_id,
        version=i.version,
        institution_id=i.institution_id,
        service_code=i.service_code,
        name=i.name,
        description=i.description,
        category=int(i.category),  # type: ignore[arg-type]
        channel=int(i.channel),  # type: ignore[arg-type]
        cost_class=int(i.cost_class),  # type: ignore[arg-type]
        processing_days=i.processing_days,
        required_materials=i.required_materials,
        is_example=i.is_example,
        owning_node=i.owning_node,
        is_current=i.is_current,
        created_by=i.created_by,
        institution_status=int(i.institution_status),  # type: ignore[arg-type]
    )
    if e.innovator_types or e.enterprise_sizes or e.stages:
        eligibility = m.eligibility
        eligibility.innovator_types.extend(e.innovator_types)  # type: ignore[arg-type]
        eligibility.enterprise_sizes.extend(e.enterprise_sizes)  # type: ignore[arg-type]
        eligibility.stages.extend(e.stages)  # type: ignore[arg-type]
    else:
        m.eligibility.SetInParent()
    if i.created_at is not None:
        _set_time(m.created_at, i.created_at)
    return m


def new_item_from_proto(src: catalog_pb2.ServiceItem) -> domain.NewServiceItem:
    e = src.eligibility
    return domain.NewServiceItem(
        institution_id=src.institution_id,
        service_code=src.service_code,
        name=src.name,
        category=src.category,
        channel=src.channel,
        cost_class=src.cost_class,
        description=src.description,
        eligibility=domain.Eligibility(
            innovator_types=tuple(e.innovator_types),
            enterprise_sizes=tuple(e.enterprise_sizes),
            stages=tuple(e.stages),
        ),
        processing_days=src.processing_days,
        required_materials=tuple(src.required_materials),
        is_example=src.is_example,
    )
