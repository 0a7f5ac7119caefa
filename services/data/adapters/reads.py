"""The service's read model (`queries.ReadModel`) on the database: which connections each
read runs on, searches stopped at their time limit, rows read into records or, for patent
searches and exports, straight into Patent message fields."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from puhui.data import metrics
from puhui.data.adapters.changes import list_changes, stats
from puhui.data.adapters.gi import search_gis
from puhui.data.adapters.ic_layouts import search_ic_layouts
from puhui.data.adapters.search import SearchCache, SqlPatentSearch, patent_fields, planned_walk
from puhui.data.adapters.trademarks import SqlTrademarkSearch
from puhui.data.domain import Change
from puhui.data.errors import SearchTimedOut
from puhui.data.queries import (
    DataSetStatus,
    GiQuery,
    IcLayoutQuery,
    PatentFields,
    PatentPage,
    PatentQuery,
    RecordPage,
    TrademarkQuery,
)
from puhui.data.records import GeographicalIndication, IcLayout, Trademark
from puhui.kit.db import Database, is_statement_timeout


class SqlReadModel:
    """`db`: the service's database. `search_db`: searches' connections, whose statements
    PostgreSQL stops after `search_timeout_ms` (default: `db`). `walk_db`: connections for
    the pages of searches known to walk over many matches (`search.planned_walk`), or None.
    `exact_count_limit`: searches count their matches exactly up to this many."""

    def __init__(
        self,
        db: Database,
        *,
        search_db: Database | None = None,
        walk_db: Database | None = None,
        search_cache: SearchCache | None = None,
        exact_count_limit: int = 100,
        search_timeout_ms: int = 0,
        node_id: str = "000000",
    ) -> None:
        self.db = db
        self.search_db = search_db or db
        self.walk_db = walk_db
        self.search_cache = search_cache
        self.exact_count_limit = exact_count_limit
        self.search_timeout_ms = search_timeout_ms
        self._search_timeouts = metrics.SEARCH_TIMEOUTS.labels(node=node_id)

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

    def search_patents(
        self, q: PatentQuery, facets: Sequence[str], after: str, size: int
    ) -> PatentPage:
        # reads only: autocommit, no BEGIN/COMMIT round trips, no ORM session
        db = self.search_db
        if self.walk_db is not None and planned_walk(q, self.search_cache, self.exact_count_limit):
            db = self.walk_db
        walking = db is not self.search_db
        with self._time_limited(), db.read_connection() as connection:
            rows, found, total = SqlPatentSearch(connection).search(
                q,
                list(dict.fromkeys(facets)),
                after,
                size,
                count_cap=self.exact_count_limit,
                cache=self.search_cache,
                elsewhere=self.search_db.read_connection if walking else None,
            )
        return PatentPage([patent_fields(r) for r in rows], found, total)

    def export_patents(self, q: PatentQuery, after: str, size: int) -> list[PatentFields]:
        # each chunk in its own short transaction
        with self.db.transaction() as session:
            rows = SqlPatentSearch(session).export_rows(q, after, size)
        return [patent_fields(r) for r in rows]

    def search_trademarks(self, q: TrademarkQuery, after: str, size: int) -> RecordPage[Trademark]:
        with self._time_limited(), self.search_db.transaction() as session:
            items, total = SqlTrademarkSearch(session).search(q, after, size)
        return RecordPage(items, total)

    def search_gis(self, q: GiQuery, after: str, size: int) -> RecordPage[GeographicalIndication]:
        with self._time_limited(), self.search_db.transaction() as session:
            items, total = search_gis(session, q, after, size)
        return RecordPage(items, total)

    def search_ic_layouts(self, q: IcLayoutQuery, after: str, size: int) -> RecordPage[IcLayout]:
        with self._time_limited(), self.search_db.transaction() as session:
            items, total = search_ic_layouts(session, q, after, size)
        return RecordPage(items, total)

    def list_changes(self, data_set: str, after: int, size: int) -> list[Change]:
        with self.db.transaction() as session:
            return list_changes(session, data_set, after, size)

    def data_set_status(self) -> list[DataSetStatus]:
        with self.db.transaction() as session:
            found = stats(session)
        return [
            DataSetStatus(name, count, digest, position, updated)
            for name, (count, digest, position, updated) in found.items()
        ]
