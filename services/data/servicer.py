"""DataService gRPC servicer: proto ↔ domain only. Writes and gets go through the domain
(`domain.DataSets`), searches, exports, the change feed and the mirror status through the
read model (`queries.ReadModel`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc

from puhui.data import domain, metrics
from puhui.data.convert import (
    gi_from_proto,
    gi_to_proto,
    ic_layout_from_proto,
    ic_layout_to_proto,
    patent_from_proto,
    patent_to_proto,
    trademark_to_proto,
)
from puhui.data.errors import TooManyExports
from puhui.data.queries import ReadModel
from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.kit import auth, tokens, validation
from puhui.kit.errors import InvalidArgument, PermissionDenied, Violations
from puhui.kit.pagination import page_request
from puhui.kit.times import to_timestamp

logger = logging.getLogger(__name__)

WRITER_ROLES = (tokens.ROLE_NATIONAL_ADMIN, tokens.ROLE_NODE_SERVICE)


DATA_SET_NAMES = {
    data_pb2.DATA_SET_UNSPECIFIED: "",
    data_pb2.DATA_SET_PATENTS: domain.PATENTS,
    data_pb2.DATA_SET_TRADEMARKS: domain.TRADEMARKS,
    data_pb2.DATA_SET_GEOGRAPHICAL_INDICATIONS: domain.GEOGRAPHICAL_INDICATIONS,
    data_pb2.DATA_SET_IC_LAYOUTS: domain.IC_LAYOUTS,
}
DATA_SET_ENUMS = {name: number for number, name in DATA_SET_NAMES.items() if name}
DEFAULT_EXPORT_CHUNK = 500


def patent_query(
    request: data_pb2.SearchPatentsRequest, max_length: int, prefix: str = ""
) -> domain.PatentQuery:
    return domain.validate_query(
        request.query,
        request.applicant,
        request.ipc_prefix,
        request.region_code,
        (getattr(request.filing_date, "from"), request.filing_date.to),
        (getattr(request.publication_date, "from"), request.publication_date.to),
        request.office,
        request.legal_status,
        max_length=max_length,
        facets=list(request.facets),
        prefix=prefix,
    )


class DataServicer(data_pb2_grpc.DataServiceServicer):
    def __init__(
        self,
        data_sets: domain.DataSets,
        reads: ReadModel,
        *,
        max_query_length: int = 200,
        quota: Any = None,
        node_id: str = "000000",
        export_streams: int = 0,
    ) -> None:
        self.data_sets = data_sets
        self.reads = reads
        self.max_query_length = max_query_length
        self.quota = quota
        self.node_id = node_id
        # Export streams open at once (0: no limit); see PUHUI_DATA_EXPORT_STREAMS
        self.export_streams = export_streams
        self._exports = threading.BoundedSemaphore(export_streams) if export_streams else None
        self._exports_open = metrics.EXPORT_STREAMS_OPEN.labels(node=node_id)
        self._exports_refused = metrics.EXPORT_STREAMS_REFUSED.labels(node=node_id)

    def _authorize_writer(self) -> None:
        """National administrators, or a service account of this node (the hub)."""
        principal = tokens.authorize(roles=WRITER_ROLES)
        if not (
            principal.has_role(tokens.ROLE_NATIONAL_ADMIN)
            or principal.has_role(tokens.ROLE_NODE_SERVICE, self.node_id)
        ):
            raise PermissionDenied(f"requires role national_admin or node_service:{self.node_id}")

    def _charge(self, context: grpc.ServicerContext, records: int = 0) -> None:
        """Count one request (and exported records) against the caller's quota."""
        if self.quota is not None:
            self.quota.charge(context, auth.current_principal(), records=records)

    @contextmanager
    def _export_stream(self) -> Iterator[None]:
        """Hold one of the export streams for the stream's life, or refuse the call at once:
        a stream holds a gRPC worker until it ends, so open streams are limited to leave
        workers for every other call."""
        slots = self._exports
        if slots is not None and not slots.acquire(blocking=False):
            self._exports_refused.inc()
            raise TooManyExports(self.export_streams)
        self._exports_open.inc()
        try:
            yield
        finally:
            self._exports_open.dec()
            if slots is not None:
                slots.release()

    def SearchPatents(
        self, request: data_pb2.SearchPatentsRequest, context: grpc.ServicerContext
    ) -> data_pb2.SearchPatentsResponse:
        query = patent_query(request, self.max_query_length)
        page = page_request(request.page_size, request.page_token, query.filters())
        self._charge(context)
        found = self.reads.search_patents(query, request.facets, page.after, page.size)
        patents = found.patents
        next_token = page.token_after(patents, lambda p: p["record_id"])
        return data_pb2.SearchPatentsResponse(
            patents=patents,
            next_page_token=next_token,
            total_size=found.total,
            facets=[
                data_pb2.Facet(
                    name=name, counts=[data_pb2.FacetCount(value=v, count=n) for v, n in counts]
                )
                for name, counts in found.facets.items()
            ],
        )

    def ExportPatents(
        self, request: data_pb2.ExportPatentsRequest, context: grpc.ServicerContext
    ) -> Iterator[data_pb2.ExportPatentsChunk]:
        """Streams the search result in keyset chunks; each chunk is read only when the
        client is ready for it (grpc pulls the generator)."""
        query = patent_query(request.search, self.max_query_length, prefix="search.")
        if request.chunk_size < 0:
            raise InvalidArgument.field("chunk_size", "must not be negative")
        size = min(request.chunk_size or DEFAULT_EXPORT_CHUNK, domain.MAX_EXPORT_CHUNK)
        page = page_request(
            size,
            request.cursor,
            query.filters(),
            maximum=domain.MAX_EXPORT_CHUNK,
            token_field="cursor",  # noqa: S106 - a field name, not a secret
        )
        with self._export_stream():
            self._charge(context)
            after = page.after
            while context.is_active():
                patents = self.reads.export_patents(query, after, size)
                if not patents:
                    return
                self._charge(context, records=len(patents))
                after = patents[-1]["record_id"]
                yield data_pb2.ExportPatentsChunk(patents=patents, cursor=page.next_token(after))
                if len(patents) < size:
                    return

    def SearchTrademarks(
        self, request: data_pb2.SearchTrademarksRequest, context: grpc.ServicerContext
    ) -> data_pb2.SearchTrademarksResponse:
        query = domain.validate_trademark_query(
            request.query,
            request.owner,
            list(request.nice_classes),
            request.similar_group,
            request.office,
            request.status,
            (getattr(request.filing_date, "from"), request.filing_date.to),
            max_length=self.max_query_length,
        )
        page = page_request(request.page_size, request.page_token, query.filters())
        self._charge(context)
        found = self.reads.search_trademarks(query, page.after, page.size)
        items = found.items
        next_token = page.token_after(items, lambda r: r.record_id)
        return data_pb2.SearchTrademarksResponse(
            trademarks=[trademark_to_proto(t) for t in items],
            next_page_token=next_token,
            total_size=found.total,
        )

    def ListChanges(
        self, request: data_pb2.ListChangesRequest, context: grpc.ServicerContext
    ) -> data_pb2.ListChangesResponse:
        v = Violations()
        data_set = DATA_SET_NAMES.get(request.data_set)
        v.check(data_set is not None, "data_set", "a known data set")
        after = validation.int64_text(request.cursor or "0")
        v.check(after is not None, "cursor", "is not a cursor issued by this API")
        v.check(request.page_size >= 0, "page_size", "must not be negative")
        v.raise_if_any()
        size = min(request.page_size or 500, 5000)
        self._charge(context)
        found = self.reads.list_changes(data_set or "", after or 0, size)
        out = []
        for c in found:
            msg = data_pb2.RecordChange(
                data_set=DATA_SET_ENUMS[c.data_set],
                record_id=c.record_id,
                change=c.change,
                content_hash=c.content_hash,
                cursor=str(c.sequence),
            )
            if c.changed_at is not None:
                msg.changed_at.CopyFrom(to_timestamp(c.changed_at))
            out.append(msg)
        return data_pb2.ListChangesResponse(
            changes=out, next_cursor=str(found[-1].sequence) if found else request.cursor
        )

    def GetMirrorStatus(
        self, request: data_pb2.GetMirrorStatusRequest, context: grpc.ServicerContext
    ) -> data_pb2.MirrorStatus:
        self._charge(context)
        found = self.reads.data_set_status()
        status = data_pb2.MirrorStatus(
            node_id=self.node_id, authoritative=not self.data_sets.mirror
        )
        for s in found:
            item = data_pb2.DataSetStatus(
                data_set=DATA_SET_ENUMS[s.data_set],
                record_count=s.record_count,
                content_hash=s.content_hash,
                position=str(s.position),
            )
            if s.updated_at is not None:
                item.updated_at.CopyFrom(to_timestamp(s.updated_at))
            status.data_sets.append(item)
        return status

    def PutPatent(
        self, request: data_pb2.PutPatentRequest, context: grpc.ServicerContext
    ) -> data_pb2.PutPatentResponse:
        self._authorize_writer()
        result = self.data_sets.put(patent_from_proto(request.patent))
        return data_pb2.PutPatentResponse(
            patent=patent_to_proto(result.patent), outcome=result.outcome
        )

    def GetPatent(
        self, request: data_pb2.GetPatentRequest, context: grpc.ServicerContext
    ) -> data_pb2.Patent:
        self._charge(context)
        return patent_to_proto(self.data_sets.patent(request.number))

    def GetTrademark(
        self, request: data_pb2.GetTrademarkRequest, context: grpc.ServicerContext
    ) -> data_pb2.Trademark:
        self._charge(context)
        return trademark_to_proto(self.data_sets.trademark(request.number))

    # -- geographical indications and IC layout designs ----------------------------------
    def PutGeographicalIndication(
        self, request: data_pb2.PutGeographicalIndicationRequest, context: grpc.ServicerContext
    ) -> data_pb2.PutGeographicalIndicationResponse:
        self._authorize_writer()
        result = self.data_sets.put(gi_from_proto(request.indication))
        return data_pb2.PutGeographicalIndicationResponse(
            indication=gi_to_proto(result.record), outcome=result.outcome
        )

    def GetGeographicalIndication(
        self, request: data_pb2.GetGeographicalIndicationRequest, context: grpc.ServicerContext
    ) -> data_pb2.GeographicalIndication:
        self._charge(context)
        return gi_to_proto(self.data_sets.indication(request.gi_id))

    def SearchGeographicalIndications(
        self,
        request: data_pb2.SearchGeographicalIndicationsRequest,
        context: grpc.ServicerContext,
    ) -> data_pb2.SearchGeographicalIndicationsResponse:
        query = domain.validate_gi_query(
            request.query, request.region_code, max_length=self.max_query_length
        )
        page = page_request(request.page_size, request.page_token, query.filters())
        self._charge(context)
        found = self.reads.search_gis(query, page.after, page.size)
        items = found.items
        next_token = page.token_after(items, lambda r: r.record_id)
        return data_pb2.SearchGeographicalIndicationsResponse(
            indications=[gi_to_proto(g) for g in items],
            next_page_token=next_token,
            total_size=found.total,
        )

    def PutIcLayout(
        self, request: data_pb2.PutIcLayoutRequest, context: grpc.ServicerContext
    ) -> data_pb2.PutIcLayoutResponse:
        self._authorize_writer()
        result = self.data_sets.put(ic_layout_from_proto(request.layout))
        return data_pb2.PutIcLayoutResponse(
            layout=ic_layout_to_proto(result.record), outcome=result.outcome
        )

    def GetIcLayout(
        self, request: data_pb2.GetIcLayoutRequest, context: grpc.ServicerContext
    ) -> data_pb2.IcLayout:
        self._charge(context)
        return ic_layout_to_proto(self.data_sets.ic_layout(request.registration_number))

    def SearchIcLayouts(
        self, request: data_pb2.SearchIcLayoutsRequest, context: grpc.ServicerContext
    ) -> data_pb2.SearchIcLayoutsResponse:
        query = domain.validate_ic_layout_query(
            request.query, request.owner, max_length=self.max_query_length
        )
        page = page_request(request.page_size, request.page_token, query.filters())
        self._charge(context)
        found = self.reads.search_ic_layouts(query, page.after, page.size)
        items = found.items
        next_token = page.token_after(items, lambda r: r.record_id)
        return data_pb2.SearchIcLayoutsResponse(
            layouts=[ic_layout_to_proto(ic) for ic in items],
            next_page_token=next_token,
            total_size=found.total,
        )
