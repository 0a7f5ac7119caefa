"""CatalogService gRPC servicer: proto ↔ domain only."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from puhui.catalog import domain
from puhui.catalog.convert import (
    institution_to_proto,
    item_to_proto,
    new_institution_from_proto,
    new_item_from_proto,
)
from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from puhui.kit import language
from puhui.kit.auth import current_principal

Ctx: TypeAlias = grpc.ServicerContext

__all__ = ["CatalogServicer", "institution_to_proto", "item_to_proto"]


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    """Converts each request to the domain's terms and its answer back; the rules,
    transactions and reads are `domain.Catalog`'s."""

    def __init__(self, catalog: domain.Catalog) -> None:
        self.catalog = catalog

    # -- institutions ---------------------------------------------------------------------
    def CreateInstitution(
        self, request: catalog_pb2.CreateInstitutionRequest, context: Ctx
    ) -> catalog_pb2.Institution:
        created = self.catalog.create_institution(
            new_institution_from_proto(request.institution), current_principal()
        )
        return institution_to_proto(created)

    def GetInstitution(
        self, request: catalog_pb2.GetInstitutionRequest, context: Ctx
    ) -> catalog_pb2.Institution:
        found = self.catalog.get_institution(request.institution_id, current_principal())
        return institution_to_proto(found)

    def UpdateInstitution(
        self, request: catalog_pb2.UpdateInstitutionRequest, context: Ctx
    ) -> catalog_pb2.Institution:
        updated = self.catalog.update_institution(
            request.institution.institution_id,
            new_institution_from_proto(request.institution),
            request.expected_revision,
            current_principal(),
        )
        return institution_to_proto(updated)

    def _status(
        self, request: catalog_pb2.ChangeInstitutionStatusRequest, change: str
    ) -> catalog_pb2.Institution:
        changed = self.catalog.change_status(
            request.institution_id, change, request.reason, current_principal()
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
        found, total, next_token = self.catalog.search_institutions(
            domain.InstitutionQuery(
                text=request.query,
                region_code=request.region_code,
                tiers=tuple(request.tiers),
                statuses=tuple(request.statuses),
                ipc_prefix=request.ipc_prefix,
                category=request.category,
            ),
            request.page_size,
            request.page_token,
            current_principal(),
        )
        return catalog_pb2.SearchInstitutionsResponse(
            institutions=[institution_to_proto(i) for i in found],
            next_page_token=next_token,
            total_size=total,
        )

    # -- service items --------------------------------------------------------------------
    def CreateServiceItem(
        self, request: catalog_pb2.CreateServiceItemRequest, context: Ctx
    ) -> catalog_pb2.ServiceItem:
        item = self.catalog.create_item(new_item_from_proto(request.item), current_principal())
        return item_to_proto(item)

    def UpdateServiceItem(
        self, request: catalog_pb2.UpdateServiceItemRequest, context: Ctx
    ) -> catalog_pb2.ServiceItem:
        item = self.catalog.update_item(
            request.item.item_id,
            new_item_from_proto(request.item),
            request.expected_version,
            current_principal(),
        )
        return item_to_proto(item)

    def GetServiceItem(
        self, request: catalog_pb2.GetServiceItemRequest, context: Ctx
    ) -> catalog_pb2.ServiceItem:
        item = self.catalog.get_item(request.item_id, request.version, current_principal())
        return item_to_proto(item)

    def ListServiceItemVersions(
        self, request: catalog_pb2.ListServiceItemVersionsRequest, context: Ctx
    ) -> catalog_pb2.ListServiceItemVersionsResponse:
        versions, total, next_token = self.catalog.list_versions(
            request.item_id, request.page_size, request.page_token, current_principal()
        )
        return catalog_pb2.ListServiceItemVersionsResponse(
            versions=[item_to_proto(v) for v in versions],
            next_page_token=next_token,
            total_size=total,
        )

    def SearchServiceItems(
        self, request: catalog_pb2.SearchServiceItemsRequest, context: Ctx
    ) -> catalog_pb2.SearchServiceItemsResponse:
        found, total, next_token = self.catalog.search_items(
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
            ),
            request.page_size,
            request.page_token,
            current_principal(),
        )
        return catalog_pb2.SearchServiceItemsResponse(
            items=[item_to_proto(i) for i in found], next_page_token=next_token, total_size=total
        )

    # -- matching -------------------------------------------------------------------------
    def Match(self, request: catalog_pb2.MatchRequest, context: Ctx) -> catalog_pb2.MatchResponse:
        p = request.profile
        matches = self.catalog.match(
            domain.Profile(
                region_code=p.region_code,
                innovator_type=p.innovator_type,
                enterprise_size=p.enterprise_size,
                stage=p.stage,
                ipc_fields=tuple(p.ipc_fields),
                needs=tuple(p.needs),
                needs_text=p.needs_text,
            ),
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
