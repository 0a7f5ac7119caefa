"""Proto ↔ domain conversions of the data records, for `servicer` (answers and outbox
events) and `mirror` (applying the hub's events)."""

from __future__ import annotations

from typing import Any

from puhui.data import domain
from puhui.data.v1 import data_pb2
from puhui.kit.times import to_timestamp


def patent_to_proto(p: domain.Patent) -> data_pb2.Patent:
    msg = data_pb2.Patent(
        application_number=p.application_number,
        publication_number=p.publication_number,
        kind=p.kind,
        office=p.office,
        title=p.title,
        abstract=p.abstract,
        applicants=[
            data_pb2.Party(name=a.name, region_code=a.region_code, country=a.country)
            for a in p.applicants
        ],
        inventors=list(p.inventors),
        ipc_codes=list(p.ipc_codes),
        filing_date=p.filing_date,
        publication_date=p.publication_date,
        grant_date=p.grant_date,
        legal_status=p.legal_status,
        content_hash=p.content_hash,
        record_id=p.record_id,
        inventors_withheld=p.inventors_withheld,
    )
    if p.updated_at is not None:
        msg.updated_at.CopyFrom(to_timestamp(p.updated_at))
    return msg


def patent_from_proto(msg: data_pb2.Patent, sequence: int = 0) -> domain.Patent:
    """A patent as written by the caller (not yet validated)."""
    return domain.Patent(
        application_number=msg.application_number,
        office=msg.office,
        publication_number=msg.publication_number,
        kind=msg.kind,
        title=msg.title,
        abstract=msg.abstract,
        applicants=tuple(domain.Party(a.name, a.region_code, a.country) for a in msg.applicants),
        inventors=tuple(msg.inventors),
        inventors_withheld=msg.inventors_withheld,
        ipc_codes=tuple(msg.ipc_codes),
        filing_date=msg.filing_date,
        publication_date=msg.publication_date,
        grant_date=msg.grant_date,
        legal_status=msg.legal_status,
        content_hash=msg.content_hash,
        sequence=sequence,
    )


def trademark_to_proto(t: domain.Trademark) -> data_pb2.Trademark:
    return data_pb2.Trademark(
        application_number=t.application_number,
        registration_number=t.registration_number,
        mark_text=t.mark_text,
        nice_classes=list(t.nice_classes),
        similar_groups=list(t.similar_groups),
        owner=data_pb2.Party(
            name=t.owner.name, region_code=t.owner.region_code, country=t.owner.country
        ),
        filing_date=t.filing_date,
        registration_date=t.registration_date,
        expiry_date=t.expiry_date,
        status=t.status,
        office=t.office,
        content_hash=t.content_hash,
        record_id=t.record_id,
    )


def trademark_from_proto(msg: data_pb2.Trademark, sequence: int = 0) -> domain.Trademark:
    return domain.Trademark(
        application_number=msg.application_number,
        office=msg.office,
        registration_number=msg.registration_number,
        mark_text=msg.mark_text,
        nice_classes=tuple(msg.nice_classes),
        similar_groups=tuple(msg.similar_groups),
        owner=domain.Party(msg.owner.name, msg.owner.region_code, msg.owner.country),
        filing_date=msg.filing_date,
        registration_date=msg.registration_date,
        expiry_date=msg.expiry_date,
        status=msg.status,
        content_hash=msg.content_hash,
        sequence=sequence,
    )


def _timestamp_of(moment: Any) -> Any:
    return to_timestamp(moment) if moment is not None else None


def gi_to_proto(g: domain.GeographicalIndication) -> data_pb2.GeographicalIndication:
    return data_pb2.GeographicalIndication(
        gi_id=g.gi_id,
        name=g.name,
        product=g.product,
        region_code=g.region_code,
        protection_type=g.protection_type,
        application_date=g.application_date,
        approval_date=g.approval_date,
        content_hash=g.content_hash,
        updated_at=_timestamp_of(g.updated_at),
    )


def gi_from_proto(
    msg: data_pb2.GeographicalIndication, sequence: int = 0
) -> domain.GeographicalIndication:
    return domain.GeographicalIndication(
        gi_id=msg.gi_id,
        name=msg.name,
        product=msg.product,
        region_code=msg.region_code,
        protection_type=msg.protection_type,
        application_date=msg.application_date,
        approval_date=msg.approval_date,
        content_hash=msg.content_hash,
        sequence=sequence,
    )


def ic_layout_to_proto(ic: domain.IcLayout) -> data_pb2.IcLayout:
    return data_pb2.IcLayout(
        registration_number=ic.registration_number,
        name=ic.name,
        owner=data_pb2.Party(
            name=ic.owner.name, region_code=ic.owner.region_code, country=ic.owner.country
        ),
        creation_date=ic.creation_date,
        filing_date=ic.filing_date,
        content_hash=ic.content_hash,
        updated_at=_timestamp_of(ic.updated_at),
    )


def ic_layout_from_proto(msg: data_pb2.IcLayout, sequence: int = 0) -> domain.IcLayout:
    return domain.IcLayout(
        registration_number=msg.registration_number,
        name=msg.name,
        owner=domain.Party(msg.owner.name, msg.owner.region_code, msg.owner.country),
        creation_date=msg.creation_date,
        filing_date=msg.filing_date,
        content_hash=msg.content_hash,
        sequence=sequence,
    )
