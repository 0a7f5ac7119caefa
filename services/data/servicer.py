"""DataService gRPC servicer: proto ↔ domain only."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from sqlalchemy.orm import Session

from puhui.data import domain
from puhui.data.adapters.db import SqlPatentRepository, SqlTrademarkRepository
from puhui.data.v1 import data_pb2, data_pb2_grpc, events_pb2
from puhui.kit import auth
from puhui.kit.db import Database
from puhui.kit.outbox import Outbox, to_timestamp, utcnow

logger = logging.getLogger(__name__)

WRITER_ROLES = ("national_admin", "node_service")


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


class OutboxEvents:
    """The domain's EventSink: every change to the compacted mirror topic (keyed by record
    id); API changes also to the service's events topic."""

    def __init__(self, outbox: Outbox, session: Session, mirror_stream: str) -> None:
        self.outbox = outbox
        self.session = session
        self.mirror_stream = mirror_stream

    def record_changed(
        self, change: domain.Change, record: domain.Record, *, announce: bool
    ) -> None:
        event: Any
        if isinstance(record, domain.Patent):
            event = events_pb2.PatentChanged(
                change=change.change,
                patent=patent_to_proto(record),
                sequence=change.sequence,
                previous_hash=change.previous_hash,
            )
            subject = f"patent/{record.record_id}"
        else:
            event = events_pb2.TrademarkChanged(
                change=change.change,
                trademark=trademark_to_proto(record),
                sequence=change.sequence,
                previous_hash=change.previous_hash,
            )
            subject = f"trademark/{record.record_id}"
        key = f"{change.data_set}/{record.record_id}"
        self.outbox.record(self.session, event, subject=subject, stream=self.mirror_stream, key=key)
        if announce:
            self.outbox.record(self.session, event, subject=subject)


class DataServicer(data_pb2_grpc.DataServiceServicer):
    def __init__(
        self,
        data_sets: domain.DataSets,
        db: Database,
        outbox: Outbox,
        *,
        mirror_stream: str = "mirror",
    ) -> None:
        self.data_sets = data_sets
        self.db = db
        self.outbox = outbox
        self.mirror_stream = mirror_stream

    def events(self, session: Session) -> OutboxEvents:
        return OutboxEvents(self.outbox, session, self.mirror_stream)

    def PutPatent(
        self, request: data_pb2.PutPatentRequest, context: grpc.ServicerContext
    ) -> data_pb2.PutPatentResponse:
        auth.require_role(*WRITER_ROLES)
        self.data_sets.require_writable()
        patent = domain.normalise_patent(patent_from_proto(request.patent))  # before any write
        with self.db.transaction() as session:
            (result,) = self.data_sets.upsert_patents(
                SqlPatentRepository(session),
                self.events(session),
                [patent],
                utcnow(),
                source="api",
                announce=True,
            )
        return data_pb2.PutPatentResponse(
            patent=patent_to_proto(result.patent), outcome=result.outcome
        )

    def GetPatent(
        self, request: data_pb2.GetPatentRequest, context: grpc.ServicerContext
    ) -> data_pb2.Patent:
        with self.db.transaction() as session:
            found = self.data_sets.get_patent(SqlPatentRepository(session), request.number)
        return patent_to_proto(found)

    def GetTrademark(
        self, request: data_pb2.GetTrademarkRequest, context: grpc.ServicerContext
    ) -> data_pb2.Trademark:
        with self.db.transaction() as session:
            found = self.data_sets.get_trademark(SqlTrademarkRepository(session), request.number)
        return trademark_to_proto(found)


def unpack(envelope: Any, message: Any) -> Any:
    envelope.payload.Unpack(message)
    return message
