"""CatalogService gRPC servicer: proto ↔ domain only."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, TypeAlias

import grpc
from google.protobuf import timestamp_pb2

from puhui.catalog import domain
from puhui.catalog.adapters.db import (
    SqlInstitutionRepository,
    SqlMatchCandidates,
    SqlServiceItemRepository,
    TotalCache,
    sort_key,
)
from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc, events_pb2
from puhui.kit import language
from puhui.kit.auth import Principal, current_principal
from puhui.kit.db import Database
from puhui.kit.ids import new_id
from puhui.kit.outbox import Outbox, utcnow
from puhui.kit.pagination import page_request

Ctx: TypeAlias = grpc.ServicerContext


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _seconds(moment: datetime) -> tuple[int, int]:
    """Timestamp.FromDatetime's (seconds, nanos) (a naive time taken as UTC) at a fraction
    of its cost."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
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


def staff_of(p: Principal) -> list[str]:
    return [scope for role, scope in p.role_scopes if role == domain.STAFF]


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(
        self,
        catalog: domain.Catalog,
        db: Database,
        outbox: Outbox,
        totals: TotalCache | None = None,
        *,
        match_db: Database | None = None,
    ) -> None:
        self.catalog = catalog
        self.db = db
        self.outbox = outbox
        self.totals = totals
        self.match_db = match_db or db
        self._match_engine: Any = None

    # -- institutions ---------------------------------------------------------------------
    def CreateInstitution(
        self, request: catalog_pb2.CreateInstitutionRequest, context: Ctx
    ) -> catalog_pb2.Institution:
        caller = current_principal()
        new = new_institution_from_proto(request.institution)
        if domain.can_create_institution(caller, self.catalog.node):
            new = self.catalog.validate_new(new)  # reject before opening a transaction
        with self.db.transaction() as session:
            created = self.catalog.create_institution(
                SqlInstitutionRepository(session),
                OutboxEvents(self.outbox, session),
                new,
                utcnow(),
                caller,
            )
        return institution_to_proto(created)

    def GetInstitution(
        self, request: catalog_pb2.GetInstitutionRequest, context: Ctx
    ) -> catalog_pb2.Institution:
        with self.db.read() as session:
            found = self.catalog.get_institution(
                SqlInstitutionRepository(session), request.institution_id, current_principal()
            )
        return institution_to_proto(found)

    def UpdateInstitution(
        self, request: catalog_pb2.UpdateInstitutionRequest, context: Ctx
    ) -> catalog_pb2.Institution:
        with self.db.transaction() as session:
            updated = self.catalog.update_institution(
                SqlInstitutionRepository(session),
                OutboxEvents(self.outbox, session),
                request.institution.institution_id,
                new_institution_from_proto(request.institution),
                request.expected_revision,
                utcnow(),
                current_principal(),
            )
        return institution_to_proto(updated)

    def _status(
        self, request: catalog_pb2.ChangeInstitutionStatusRequest, change: str
    ) -> catalog_pb2.Institution:
        with self.db.transaction() as session:
            changed = self.catalog.change_status(
                SqlInstitutionRepository(session),
                OutboxEvents(self.outbox, session),
                request.institution_id,
                change,
                request.reason,
                utcnow(),
                current_principal(),
                SqlServiceItemRepository(session),
            )
        return institution_to_proto(changed)

    def ApproveInstitution(
        self, request: catalog_pb2.ChangeInstitutionStatusRequest, context: Ctx
    ) -> catalog_pb2.Institution:
        return self._status(request, "approved")

    def SuspendInstitution(
        self, request: catalog_pb2.ChangeInstitutionStatusRequest, context: Ctx
    ) -> catalog_pb2.Institution:
        return self._status(request, "suspended")

    def RetireInstitution(
        self, request: catalog_pb2.ChangeInstitutionStatusRequest, context: Ctx
    ) -> catalog_pb2.Institution:
        return self._status(request, "retired")

    def SearchInstitutions(
        self, request: catalog_pb2.SearchInstitutionsRequest, context: Ctx
    ) -> catalog_pb2.SearchInstitutionsResponse:
        caller = current_principal()
        query = self.catalog.validate_query(
            domain.InstitutionQuery(
                text=request.query,
                region_code=request.region_code,
                tiers=tuple(request.tiers),
                statuses=tuple(request.statuses),
                ipc_prefix=request.ipc_prefix,
                category=request.category,
            )
        )
        page = page_request(request.page_size, request.page_token, query.filters())
        query = dataclasses.replace(
            query, visibility=domain.visibility(caller, self.catalog.node, staff_of(caller))
        )
        with self.db.read() as session:
            items, total = self.catalog.search_institutions(
                SqlInstitutionRepository(session, self.totals), query, page
            )
        last = items[-1] if items else None
        next_token = (
            page.next_token(sort_key(last.name, last.institution_id))
            if last is not None and len(items) == page.size
            else ""
        )
        return catalog_pb2.SearchInstitutionsResponse(
            institutions=[institution_to_proto(i) for i in items],
            next_page_token=next_token,
            total_size=total,
        )

    # -- service items --------------------------------------------------------------------
    def CreateServiceItem(
        self, request: catalog_pb2.CreateServiceItemRequest, context: Ctx
    ) -> catalog_pb2.ServiceItem:
        with self.db.transaction() as session:
            item = self.catalog.create_item(
                SqlInstitutionRepository(session),
                SqlServiceItemRepository(session),
                OutboxEvents(self.outbox, session),
                new_item_from_proto(request.item),
                new_id(),
                utcnow(),
                current_principal(),
            )
        return item_to_proto(item)

    def UpdateServiceItem(
        self, request: catalog_pb2.UpdateServiceItemRequest, context: Ctx
    ) -> catalog_pb2.ServiceItem:
        with self.db.transaction() as session:
            item = self.catalog.update_item(
                SqlInstitutionRepository(session),
                SqlServiceItemRepository(session),
                OutboxEvents(self.outbox, session),
                request.item.item_id,
                new_item_from_proto(request.item),
                request.expected_version,
                utcnow(),
                current_principal(),
            )
        return item_to_proto(item)

    def GetServiceItem(
        self, request: catalog_pb2.GetServiceItemRequest, context: Ctx
    ) -> catalog_pb2.ServiceItem:
        with self.db.read() as session:
            item = self.catalog.get_item(
                SqlInstitutionRepository(session),
                SqlServiceItemRepository(session),
                request.item_id,
                request.version,
                current_principal(),
            )
        return item_to_proto(item)

    def ListServiceItemVersions(
        self, request: catalog_pb2.ListServiceItemVersionsRequest, context: Ctx
    ) -> catalog_pb2.ListServiceItemVersionsResponse:
        page = page_request(
            request.page_size, request.page_token, {"item": request.item_id}, numeric=True
        )
        with self.db.read() as session:
            versions, total = self.catalog.list_versions(
                SqlInstitutionRepository(session),
                SqlServiceItemRepository(session),
                request.item_id,
                page,
                current_principal(),
            )
        next_token = (
            page.next_token(str(versions[-1].version))
            if versions and len(versions) == page.size
            else ""
        )
        return catalog_pb2.ListServiceItemVersionsResponse(
            versions=[item_to_proto(v) for v in versions],
            next_page_token=next_token,
            total_size=total,
        )

    def SearchServiceItems(
        self, request: catalog_pb2.SearchServiceItemsRequest, context: Ctx
    ) -> catalog_pb2.SearchServiceItemsResponse:
        caller = current_principal()
        query = self.catalog.validate_item_query(
            domain.ItemQuery(
                text=request.query,
                region_code=request.region_code,
                categories=tuple(request.categories),
                institution_id=request.institution_id,
                channel=request.channel,
                cost_class=request.cost_class,
                ipc_prefix=request.ipc_prefix,
                tiers=tuple(request.tiers),
                service_code=request.service_code,
            )
        )
        page = page_request(request.page_size, request.page_token, query.filters())
        query = dataclasses.replace(
            query, visibility=domain.visibility(caller, self.catalog.node, staff_of(caller))
        )
        with self.db.read() as session:
            items, total = SqlServiceItemRepository(session, self.totals).search(query, page)
        last = items[-1] if items else None
        next_token = (
            page.next_token(sort_key(last.name, last.item_id))
            if last is not None and len(items) == page.size
            else ""
        )
        return catalog_pb2.SearchServiceItemsResponse(
            items=[item_to_proto(i) for i in items], next_page_token=next_token, total_size=total
        )

    # -- matching -------------------------------------------------------------------------
    def Match(self, request: catalog_pb2.MatchRequest, context: Ctx) -> catalog_pb2.MatchResponse:
        p = request.profile
        profile = domain.Profile(
            region_code=p.region_code,
            innovator_type=p.innovator_type,
            enterprise_size=p.enterprise_size,
            stage=p.stage,
            ipc_fields=tuple(p.ipc_fields),
            needs=tuple(p.needs),
            needs_text=p.needs_text,
        )
        # One statement on a Core connection of the read pool: no ORM session to set up.
        engine = self._match_engine
        if engine is None:
            with self.match_db.read() as session:
                engine = self._match_engine = session.get_bind()
        with engine.connect() as connection:
            matches = self.catalog.match(
                SqlMatchCandidates(connection),
                profile,
                request.max_results,
                language.preferred(context.invocation_metadata()),
            )
        # Up to three matches share an institution: each is converted once. Each match is
        # added to the response in place (not built apart and copied in with the list).
        institutions: dict[str, catalog_pb2.Institution] = {}
        response = catalog_pb2.MatchResponse()
        add = response.matches.add
        for m in matches:
            inst = institutions.get(m.institution.institution_id)
            if inst is None:
                inst = institutions[m.institution.institution_id] = institution_to_proto(
                    m.institution
                )
            matched = add(score=m.score, reasons=m.reasons, gaps=m.gaps)
            matched.item.MergeFrom(item_to_proto(m.item))
            matched.institution.MergeFrom(inst)
        return response
