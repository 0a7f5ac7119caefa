"""DataService gRPC servicer: proto ↔ domain only."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from sqlalchemy.orm import Session

from puhui.data import domain
from puhui.data.adapters.db import SqlPatentRepository
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


class OutboxEvents:
    """The domain's EventSink: every change to the compacted mirror topic (keyed by record
    id); API changes also to the service's events topic."""

    def __init__(self, outbox: Outbox, session: Session, mirror_stream: str) -> None:
        self.outbox = outbox
        self.session = session
        self.mirror_stream = mirror_stream

    def patent_changed(
        self, change: domain.Change, patent: domain.Patent, *, announce: bool
    ) -> None:
        event = events_pb2.PatentChanged(
            change=change.change,
            patent=patent_to_proto(patent),
            sequence=change.sequence,
            previous_hash=change.previous_hash,
        )
        key = f"{domain.PATENTS}/{patent.record_id}"
        self.outbox.record(
            self.session,
            event,
            subject=f"patent/{patent.record_id}",
            stream=self.mirror_stream,
            key=key,
        )
        if announce:
            self.outbox.record(self.session, event, subject=f"patent/{patent.record_id}")


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


def unpack(envelope: Any, message: Any) -> Any:
    envelope.payload.Unpack(message)
    return message
