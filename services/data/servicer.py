"""DataService gRPC servicer: proto ↔ domain only."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import grpc
from sqlalchemy.orm import Session

from puhui.data import domain, metrics
from puhui.data.adapters.changes import list_changes, stats
from puhui.data.adapters.gi import SqlGiRepository, search_gis
from puhui.data.adapters.ic_layouts import SqlIcLayoutRepository, search_ic_layouts
from puhui.data.adapters.patents import SqlPatentRepository
from puhui.data.adapters.search import SearchCache, SqlPatentSearch, planned_walk
from puhui.data.adapters.storage import racing_writers_aborted
from puhui.data.adapters.trademarks import SqlTrademarkRepository, SqlTrademarkSearch
from puhui.data.convert import (
    export_row_fields,
    gi_from_proto,
    gi_to_proto,
    ic_layout_from_proto,
    ic_layout_to_proto,
    patent_from_proto,
    patent_to_proto,
    trademark_to_proto,
)
from puhui.data.errors import SearchTimedOut, TooManyExports
from puhui.data.v1 import data_pb2, data_pb2_grpc, events_pb2
from puhui.kit import auth, tokens, validation
from puhui.kit.db import Database, is_statement_timeout
from puhui.kit.errors import InvalidArgument, PermissionDenied, Violations
from puhui.kit.outbox import Outbox, OutboxItem, to_timestamp, utcnow
from puhui.kit.pagination import Page, page_request

logger = logging.getLogger(__name__)

WRITER_ROLES = (tokens.ROLE_NATIONAL_ADMIN, tokens.ROLE_NODE_SERVICE)


class OutboxEvents:
    """The domain's EventSink: every change to the compacted mirror topic (keyed by record
    id); API changes also to the service's events topic."""

    def __init__(self, outbox: Outbox, session: Session, mirror_stream: str) -> None:
        self.outbox = outbox
        self.session = session
        self.mirror_stream = mirror_stream

    def records_changed(
        self, changes: Sequence[tuple[domain.Change, domain.Record]], *, announce: bool
    ) -> None:
        events = [
            (_event(change, record), *_subject_key(change, record)) for change, record in changes
        ]
        if not events:
            return
        items = [
            OutboxItem(event, subject, self.mirror_stream, key) for event, subject, key in events
        ]
        if announce:
            items += [OutboxItem(event, subject, "events") for event, subject, _ in events]
        self.outbox.record_many(self.session, items)


def _event(change: domain.Change, record: domain.Record) -> Any:
    if isinstance(record, domain.Patent):
        return events_pb2.PatentChanged(
            change=change.change,
            patent=patent_to_proto(record),
            sequence=change.sequence,
            previous_hash=change.previous_hash,
        )
    if isinstance(record, domain.GeographicalIndication):
        return events_pb2.GeographicalIndicationChanged(
            change=change.change,
            indication=gi_to_proto(record),
            sequence=change.sequence,
            previous_hash=change.previous_hash,
        )
    if isinstance(record, domain.IcLayout):
        return events_pb2.IcLayoutChanged(
            change=change.change,
            layout=ic_layout_to_proto(record),
            sequence=change.sequence,
            previous_hash=change.previous_hash,
        )
    return events_pb2.TrademarkChanged(
        change=change.change,
        trademark=trademark_to_proto(record),
        sequence=change.sequence,
        previous_hash=change.previous_hash,
    )


SUBJECT_KINDS = {
    domain.PATENTS: "patent",
    domain.TRADEMARKS: "trademark",
    domain.GEOGRAPHICAL_INDICATIONS: "geographical_indication",
    domain.IC_LAYOUTS: "ic_layout",
}


def _subject_key(change: domain.Change, record: domain.Record) -> tuple[str, str]:
    kind = SUBJECT_KINDS[domain.data_set_of(record)]
    return f"{kind}/{record.record_id}", f"{change.data_set}/{record.record_id}"


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
        db: Database,
        outbox: Outbox,
        *,
        mirror_stream: str = "mirror",
        max_query_length: int = 200,
        exact_count_limit: int = 100,
        quota: Any = None,
        node_id: str = "000000",
        search_cache: SearchCache | None = None,
        export_streams: int = 0,
        search_db: Database | None = None,
        walk_db: Database | None = None,
        search_timeout_ms: int = 0,
    ) -> None:
        self.data_sets = data_sets
        self.db = db
        self.outbox = outbox
        self.mirror_stream = mirror_stream
        self.max_query_length = max_query_length
        self.exact_count_limit = exact_count_limit
        self.quota = quota
        self.node_id = node_id
        self.search_cache = search_cache
        # Searches' connections: statements stopped after search_timeout_ms (see server.py)
        self.search_db = search_db or db
        # Pages of searches known to walk over many matches (adapters.db.planned_walk)
        self.walk_db = walk_db
        self.search_timeout_ms = search_timeout_ms
        self._search_timeouts = metrics.SEARCH_TIMEOUTS.labels(node=node_id)
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
    def _time_limited(self) -> Iterator[None]:
        """A search's database work: PostgreSQL stopping it at the time limit (the search
        connections' statement_timeout) becomes DEADLINE_EXCEEDED for the caller."""
        try:
            yield
        except Exception as exc:
            if not is_statement_timeout(exc):
                raise
            self._search_timeouts.inc()
            raise SearchTimedOut(self.search_timeout_ms) from None

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
        return self._search_page(request, query, page)

    def _search_page(
        self, request: data_pb2.SearchPatentsRequest, query: domain.PatentQuery, page: Page
    ) -> data_pb2.SearchPatentsResponse:
        # reads only: autocommit, no BEGIN/COMMIT round trips, no ORM session
        db = self.search_db
        if self.walk_db is not None and planned_walk(
            query, self.search_cache, self.exact_count_limit
        ):
            db = self.walk_db
        walking = db is not self.search_db
        with self._time_limited(), db.read_connection() as connection:
            items, facets, total = SqlPatentSearch(connection).search(
                query,
                list(dict.fromkeys(request.facets)),
                page.after,
                page.size,
                count_cap=self.exact_count_limit,
                cache=self.search_cache,
                elsewhere=self.search_db.read_connection if walking else None,
            )
        next_token = page.next_token(items[-1][0]) if len(items) == page.size else ""
        return data_pb2.SearchPatentsResponse(
            patents=[export_row_fields(r) for r in items],
            next_page_token=next_token,
            total_size=total,
            facets=[
                data_pb2.Facet(
                    name=name, counts=[data_pb2.FacetCount(value=v, count=n) for v, n in counts]
                )
                for name, counts in facets.items()
            ],
        )

    def ExportPatents(
        self, request: data_pb2.ExportPatentsRequest, context: grpc.ServicerContext
    ) -> Iterator[data_pb2.ExportPatentsChunk]:
        """Streams the search result in keyset chunks; each chunk is read in its own short
        transaction only when the client is ready for it (grpc pulls the generator)."""
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
                with self.db.transaction() as session:
                    rows = SqlPatentSearch(session).export_rows(query, after, size)
                if not rows:
                    return
                self._charge(context, records=len(rows))
                after = rows[-1][0]
                yield data_pb2.ExportPatentsChunk(
                    patents=[export_row_fields(r) for r in rows], cursor=page.next_token(after)
                )
                if len(rows) < size:
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
        with self._time_limited(), self.search_db.transaction() as session:
            items, total = SqlTrademarkSearch(session).search(query, page.after, page.size)
        next_token = page.next_token(items[-1].record_id) if len(items) == page.size else ""
        return data_pb2.SearchTrademarksResponse(
            trademarks=[trademark_to_proto(t) for t in items],
            next_page_token=next_token,
            total_size=total,
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
        with self.db.transaction() as session:
            found = list_changes(session, data_set or "", after or 0, size)
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
        with self.db.transaction() as session:
            found = stats(session)
        status = data_pb2.MirrorStatus(
            node_id=self.node_id, authoritative=not self.data_sets.mirror
        )
        for name, (count, digest, position, updated) in found.items():
            item = data_pb2.DataSetStatus(
                data_set=DATA_SET_ENUMS[name],
                record_count=count,
                content_hash=digest,
                position=str(position),
            )
            if updated is not None:
                item.updated_at.CopyFrom(to_timestamp(updated))
            status.data_sets.append(item)
        return status

    def events(self, session: Session) -> OutboxEvents:
        return OutboxEvents(self.outbox, session, self.mirror_stream)

    def PutPatent(
        self, request: data_pb2.PutPatentRequest, context: grpc.ServicerContext
    ) -> data_pb2.PutPatentResponse:
        self._authorize_writer()
        self.data_sets.require_writable()
        patent = domain.normalise_patent(patent_from_proto(request.patent))  # before any write
        with racing_writers_aborted(), self.db.transaction() as session:
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
        self._charge(context)
        with self.db.read() as session:  # reads only: no BEGIN/COMMIT round trips
            found = self.data_sets.get_patent(SqlPatentRepository(session), request.number)
        return patent_to_proto(found)

    def GetTrademark(
        self, request: data_pb2.GetTrademarkRequest, context: grpc.ServicerContext
    ) -> data_pb2.Trademark:
        self._charge(context)
        with self.db.read() as session:  # reads only: no BEGIN/COMMIT round trips
            found = self.data_sets.get_trademark(SqlTrademarkRepository(session), request.number)
        return trademark_to_proto(found)

    # -- geographical indications and IC layout designs ----------------------------------
    def _put_one(self, repository: Any, record: Any) -> Any:
        """Upsert one normalised record of a generic data set in its own transaction."""
        with racing_writers_aborted(), self.db.transaction() as session:
            (result,) = self.data_sets.upsert(
                repository(session),
                self.events(session),
                [record],
                utcnow(),
                source="api",
                announce=True,
            )
        return result

    def PutGeographicalIndication(
        self, request: data_pb2.PutGeographicalIndicationRequest, context: grpc.ServicerContext
    ) -> data_pb2.PutGeographicalIndicationResponse:
        self._authorize_writer()
        self.data_sets.require_writable()
        record = domain.normalise_gi(gi_from_proto(request.indication))  # before any write
        result = self._put_one(SqlGiRepository, record)
        return data_pb2.PutGeographicalIndicationResponse(
            indication=gi_to_proto(result.record), outcome=result.outcome
        )

    def GetGeographicalIndication(
        self, request: data_pb2.GetGeographicalIndicationRequest, context: grpc.ServicerContext
    ) -> data_pb2.GeographicalIndication:
        self._charge(context)
        with self.db.read() as session:  # reads only: no BEGIN/COMMIT round trips
            found = domain.get_gi(SqlGiRepository(session), request.gi_id)
        return gi_to_proto(found)

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
        with self._time_limited(), self.search_db.transaction() as session:
            items, total = search_gis(session, query, page.after, page.size)
        next_token = page.next_token(items[-1].record_id) if len(items) == page.size else ""
        return data_pb2.SearchGeographicalIndicationsResponse(
            indications=[gi_to_proto(g) for g in items],
            next_page_token=next_token,
            total_size=total,
        )

    def PutIcLayout(
        self, request: data_pb2.PutIcLayoutRequest, context: grpc.ServicerContext
    ) -> data_pb2.PutIcLayoutResponse:
        self._authorize_writer()
        self.data_sets.require_writable()
        record = domain.normalise_ic_layout(ic_layout_from_proto(request.layout))
        result = self._put_one(SqlIcLayoutRepository, record)
        return data_pb2.PutIcLayoutResponse(
            layout=ic_layout_to_proto(result.record), outcome=result.outcome
        )

    def GetIcLayout(
        self, request: data_pb2.GetIcLayoutRequest, context: grpc.ServicerContext
    ) -> data_pb2.IcLayout:
        self._charge(context)
        with self.db.read() as session:  # reads only: no BEGIN/COMMIT round trips
            found = domain.get_ic_layout(
                SqlIcLayoutRepository(session), request.registration_number
            )
        return ic_layout_to_proto(found)

    def SearchIcLayouts(
        self, request: data_pb2.SearchIcLayoutsRequest, context: grpc.ServicerContext
    ) -> data_pb2.SearchIcLayoutsResponse:
        query = domain.validate_ic_layout_query(
            request.query, request.owner, max_length=self.max_query_length
        )
        page = page_request(request.page_size, request.page_token, query.filters())
        self._charge(context)
        with self._time_limited(), self.search_db.transaction() as session:
            items, total = search_ic_layouts(session, query, page.after, page.size)
        next_token = page.next_token(items[-1].record_id) if len(items) == page.size else ""
        return data_pb2.SearchIcLayoutsResponse(
            layouts=[ic_layout_to_proto(ic) for ic in items],
            next_page_token=next_token,
            total_size=total,
        )
