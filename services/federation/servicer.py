"""FederationService: proto ↔ registry / national read models only."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

import grpc

from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.federation import domain, national
from puhui.federation.registry import NodeRecord, Registry
from puhui.federation.v1 import federation_pb2 as pb
from puhui.federation.v1 import federation_pb2_grpc
from puhui.kit import trust
from puhui.kit.auth import current_principal
from puhui.kit.db import Database
from puhui.kit.errors import Violations
from puhui.kit.outbox import to_timestamp
from puhui.kit.pagination import page_request
from puhui.kit.tokens import ROLE_NATIONAL_ADMIN, authorize, holds

logger = logging.getLogger(__name__)

STATUS = {
    domain.STATUS_ACTIVE: pb.NODE_STATUS_ACTIVE,
    domain.STATUS_REMOVED: pb.NODE_STATUS_REMOVED,
}


def node_to_proto(node: NodeRecord) -> pb.Node:
    return pb.Node(
        node_id=node.node_id,
        name=node.name,
        endpoints=[pb.Endpoint(service=s, address=a) for s, a in node.endpoints],
        jwks_json=json.dumps(node.jwks, ensure_ascii=False),
        status=STATUS.get(node.status, pb.NODE_STATUS_UNSPECIFIED),
        revision=node.revision,
        joined_at=to_timestamp(node.joined_at),
        updated_at=to_timestamp(node.updated_at),
        signed_key_set=node.statement,
    )


def figures_to_proto(f: domain.Figures) -> pb.ProvinceStatistics:
    return pb.ProvinceStatistics(
        node_id=f.node_id,
        approved_institutions=f.approved_institutions,
        institutions=f.institutions,
        current_service_items=f.current_service_items,
        service_cases=f.service_cases,
        ratings=f.ratings,
        rating_level_sum=f.score_sum,
        satisfaction=f.satisfaction,
        tickets_opened=f.tickets_opened,
        tickets_closed=f.tickets_closed,
        tickets_breached=f.tickets_breached,
    )


MirrorProbe = Callable[[str], "data_pb2.MirrorStatus | None"]


def grpc_mirror_probe(timeout: float) -> MirrorProbe:
    def probe(address: str) -> data_pb2.MirrorStatus | None:
        try:
            with grpc.insecure_channel(address) as channel:
                return data_pb2_grpc.DataServiceStub(channel).GetMirrorStatus(
                    data_pb2.GetMirrorStatusRequest(), timeout=timeout
                )
        except grpc.RpcError as exc:
            logger.info("mirror status of %s unavailable: %s", address, exc.code())
            return None

    return probe


def _records(status: data_pb2.MirrorStatus | None) -> int:
    return sum(ds.record_count for ds in status.data_sets) if status is not None else 0


def _contents(status: data_pb2.MirrorStatus) -> dict[int, tuple[int, str]]:
    """Data set -> (record count, content hash), leaving out empty data sets."""
    return {
        ds.data_set: (ds.record_count, ds.content_hash)
        for ds in status.data_sets
        if ds.record_count
    }


class FederationServicer(federation_pb2_grpc.FederationServiceServicer):
    def __init__(
        self,
        registry: Registry,
        db: Database,
        *,
        mirror_probe: MirrorProbe | None = None,
        hub_data_address: Callable[[], str | None] = lambda: None,
        keys_topic: str = trust.KEYS_TOPIC,
        lags: national.LagTracker | None = None,
        model_consumers: list[str] | None = None,
    ) -> None:
        self.keys_topic = keys_topic
        self.lags = lags or national.LagTracker()
        self.model_consumers = model_consumers or []
        self.registry = registry
        self.db = db
        self.mirror_probe = mirror_probe
        self.hub_data_address = hub_data_address

    # -- registry ----------------------------------------------------------------------------
    def JoinNode(self, request: pb.JoinNodeRequest, context: grpc.ServicerContext) -> pb.Node:
        principal = current_principal()
        admin = not principal.is_anonymous and holds(principal, ROLE_NATIONAL_ADMIN)
        node = self.registry.join(
            domain.JoinRequest(
                node_id=request.node_id,
                name=request.name,
                endpoints=[(e.service, e.address) for e in request.endpoints],
                jwks_json=request.jwks_json,
                join_code=request.join_code,
            ),
            admin=admin,
        )
        return node_to_proto(node)

    def GetNode(self, request: pb.GetNodeRequest, context: grpc.ServicerContext) -> pb.Node:
        v = Violations()
        v.require(request.node_id, "node_id")
        v.raise_if_any()
        return node_to_proto(self.registry.get(request.node_id))

    def ListNodes(
        self, request: pb.ListNodesRequest, context: grpc.ServicerContext
    ) -> pb.ListNodesResponse:
        page = page_request(
            request.page_size, request.page_token, {"removed": request.show_removed}
        )
        nodes = self.registry.list(show_removed=request.show_removed)
        after = [n for n in nodes if n.node_id > page.after]
        chosen = after[: page.size]
        more = len(after) > page.size
        return pb.ListNodesResponse(
            nodes=[node_to_proto(n) for n in chosen],
            next_page_token=page.next_token(chosen[-1].node_id) if more and chosen else "",
            total_size=len(nodes),
        )

    def RemoveNode(self, request: pb.RemoveNodeRequest, context: grpc.ServicerContext) -> pb.Node:
        authorize(roles=[ROLE_NATIONAL_ADMIN])
        return node_to_proto(self.registry.remove(request.node_id, request.reason))

    def CreateJoinCode(
        self, request: pb.CreateJoinCodeRequest, context: grpc.ServicerContext
    ) -> pb.CreateJoinCodeResponse:
        authorize(roles=[ROLE_NATIONAL_ADMIN])
        code, expires = self.registry.create_join_code(request.node_id, request.valid_hours)
        return pb.CreateJoinCodeResponse(
            node_id=request.node_id, join_code=code, expires_at=to_timestamp(expires)
        )

    def GetTrustAnchor(
        self, request: pb.GetTrustAnchorRequest, context: grpc.ServicerContext
    ) -> pb.GetTrustAnchorResponse:
        return pb.GetTrustAnchorResponse(
            jwks_json=json.dumps(self.registry.anchor.public_jwks()), keys_topic=self.keys_topic
        )

    # -- national read models ------------------------------------------------------------------
    def SearchNationalCatalog(
        self, request: pb.SearchNationalCatalogRequest, context: grpc.ServicerContext
    ) -> pb.SearchNationalCatalogResponse:
        v = Violations()
        for i, node in enumerate(request.node_ids):
            if domain.province_name(node) is None:
                v.add(f"node_ids[{i}]", "not a node id (GB/T 2260 province code)")
        if request.region_code and (
            len(request.region_code) != 6 or not request.region_code.isdigit()
        ):
            v.add("region_code", "a 6-digit GB/T 2260 code")
        v.check(len(request.query) <= 100, "query", "at most 100 characters")
        v.raise_if_any()
        filters = {
            "q": request.query,
            "region": request.region_code,
            "nodes": sorted(request.node_ids),
            "ipc": request.ipc_prefix,
            "all": request.include_unapproved,
        }
        page = page_request(request.page_size, request.page_token, filters)
        found, total = national.search(
            self.db,
            query=request.query.strip(),
            region_code=request.region_code,
            node_ids=list(request.node_ids),
            ipc_prefix=request.ipc_prefix.strip().upper(),
            include_unapproved=request.include_unapproved,
            limit=page.size + 1,
            after=page.after,
        )
        chosen = found[: page.size]
        return pb.SearchNationalCatalogResponse(
            institutions=chosen,
            next_page_token=page.next_token(chosen[-1].institution_id)
            if len(found) > page.size
            else "",
            total_size=total,
        )

    def GetNationalStatistics(
        self, request: pb.GetNationalStatisticsRequest, context: grpc.ServicerContext
    ) -> pb.NationalStatistics:
        provinces = national.figures(self.db)
        return pb.NationalStatistics(
            national=figures_to_proto(domain.national_total(provinces)),
            provinces=[figures_to_proto(f) for f in provinces],
        )

    def GetFederationStatus(
        self, request: pb.GetFederationStatusRequest, context: grpc.ServicerContext
    ) -> pb.FederationStatus:
        progress = national.progress(self.db, self.model_consumers)
        hub_records = 0
        hub_contents: dict[int, tuple[int, str]] | None = None
        hub_address = self.hub_data_address()
        if self.mirror_probe is not None and hub_address:
            hub_status = self.mirror_probe(hub_address)
            hub_records = _records(hub_status)
            if hub_status is not None:
                hub_contents = _contents(hub_status)
        out = pb.FederationStatus(hub_data_records=hub_records)
        for node in self.registry.list(show_removed=True):
            applied, last_at = progress.get(node.node_id, (0, None))
            lag = self.lags.last.get(node.node_id, (0.0, None))[0]
            status = pb.ProvinceStatus(
                node_id=node.node_id,
                name=node.name,
                status=STATUS.get(node.status, pb.NODE_STATUS_UNSPECIFIED),
                events_applied=applied,
                last_lag_seconds=lag,
                mirror_completeness=-1.0,
            )
            if isinstance(last_at, datetime):
                status.last_event_at.CopyFrom(to_timestamp(last_at))
            address = node.endpoint("data")
            if self.mirror_probe is not None and address and node.status == domain.STATUS_ACTIVE:
                reported = self.mirror_probe(address)
                if reported is not None:
                    records = _records(reported)
                    status.mirror_records = records
                    status.mirror_completeness = (
                        min(1.0, records / hub_records)
                        if hub_records
                        else (1.0 if records == 0 else 0.0)
                    )
                    status.mirror_in_sync = (
                        hub_contents is not None and _contents(reported) == hub_contents
                    )
            out.provinces.append(status)
        return out
