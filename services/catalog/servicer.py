"""CatalogService gRPC servicer: proto ↔ domain only."""

from __future__ import annotations

from datetime import datetime

import grpc

from puhui.catalog import domain
from puhui.catalog.adapters.db import SqlInstitutionRepository, sort_key
from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc, events_pb2
from puhui.common.v1 import common_pb2
from puhui.kit.db import Database
from puhui.kit.outbox import Outbox, to_timestamp, utcnow
from puhui.kit.pagination import page_request


def institution_to_proto(i: domain.Institution) -> catalog_pb2.Institution:
    msg = catalog_pb2.Institution(
        institution_id=i.institution_id,
        owning_node=i.owning_node,
        name=i.name,
        description=i.description,
        tier=int(i.tier),
        region_code=i.region_code,
        service_area=list(i.service_area),
        contacts=[catalog_pb2.Contact(**c.__dict__) for c in i.contacts],
        ipc_fields=list(i.ipc_fields),
        monthly_capacity=i.monthly_capacity,
        status=int(i.status),
        is_example=i.is_example,
        revision=i.revision,
    )
    if i.approved_at is not None:
        msg.approved.CopyFrom(common_pb2.ActorStamp(actor=i.approved_by, time=_ts(i.approved_at)))
    if i.created_at is not None:
        msg.created_at.CopyFrom(_ts(i.created_at))
    if i.updated_at is not None:
        msg.updated_at.CopyFrom(_ts(i.updated_at))
    return msg


def _ts(moment: datetime):  # type: ignore[no-untyped-def]
    return to_timestamp(moment)


class OutboxEvents:
    """The domain's EventSink, writing to the outbox in the same transaction."""

    def __init__(self, outbox: Outbox, session) -> None:  # type: ignore[no-untyped-def]
        self.outbox = outbox
        self.session = session

    def institution_changed(self, change: str, institution: domain.Institution) -> None:
        self.outbox.record(
            self.session,
            events_pb2.InstitutionChanged(change=change, institution=institution_to_proto(institution)),
            subject=f"institution/{institution.institution_id}",
        )


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self, catalog: domain.Catalog, db: Database, outbox: Outbox) -> None:
        self.catalog = catalog
        self.db = db
        self.outbox = outbox

    def CreateInstitution(self, request: catalog_pb2.CreateInstitutionRequest, context: grpc.ServicerContext) -> catalog_pb2.Institution:
        src = request.institution
        new = domain.NewInstitution(
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
        new = self.catalog.validate_new(new)  # reject before opening a transaction
        with self.db.transaction() as session:
            created = self.catalog.create_institution(
                SqlInstitutionRepository(session), OutboxEvents(self.outbox, session), new, utcnow()
            )
        return institution_to_proto(created)

    def GetInstitution(self, request: catalog_pb2.GetInstitutionRequest, context: grpc.ServicerContext) -> catalog_pb2.Institution:
        with self.db.transaction() as session:
            found = self.catalog.get_institution(SqlInstitutionRepository(session), request.institution_id)
        return institution_to_proto(found)

    def SearchInstitutions(self, request: catalog_pb2.SearchInstitutionsRequest, context: grpc.ServicerContext) -> catalog_pb2.SearchInstitutionsResponse:
        query = self.catalog.validate_query(
            domain.InstitutionQuery(
                text=request.query,
                region_code=request.region_code,
                tiers=tuple(request.tiers),
                statuses=tuple(request.statuses),
                ipc_prefix=request.ipc_prefix,
            )
        )
        page = page_request(request.page_size, request.page_token, query.filters())
        with self.db.transaction() as session:
            items, total = SqlInstitutionRepository(session).search(query, page)
        next_token = page.next_token(sort_key(items[-1])) if len(items) == page.size else ""
        return catalog_pb2.SearchInstitutionsResponse(
            institutions=[institution_to_proto(i) for i in items],
            next_page_token=next_token,
            total_size=total,
        )
