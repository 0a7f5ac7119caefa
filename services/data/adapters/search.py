"""Patent searches and exports: the read path, run on a connection."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from types import MappingProxyType
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from puhui.data.adapters.search_sql import (
    COUNT_CAP,
    FACET_COLUMNS,
    _count_statement,
    _export_columns,
    _facets_statement,
    _page_statement,
    _read_facets,
    _Shape,
    _shape_and_params,
    _sqlite_conditions,
)
from puhui.data.adapters.tables import patents
from puhui.data.domain import PatentQuery
from puhui.data.queries import Facets, PatentFields
from puhui.kit.db import is_postgresql
from puhui.kit.statements import VersionedCache, fetch
from puhui.kit.times import aware

# An IPC search (or a year walk) walks record ids in order until its page is full, which is
# quick when many records match. The planner cannot tell a rare key from a frequent one (an
# absent group walked all 1M index entries: 580 ms), so these searches are counted first, up
# to this many, and those with fewer matches gather them (GIN index, date range index) and
# sort them instead.
FEW_MATCHES = 2000

# Once its count (kept in the search cache) says a walking search matches many records, its
# plan is known: walk an index in record id order. Its page then runs on connections set up
# for that alone (`ServiceApp.side_database`, see the data server): every other way to read
# is disabled and each statement is planned once for any values (a generic plan), so the
# search skips PostgreSQL's planning. Measured at 1M records, the mix's walks (IPC keys,
# province + IPC, year walks): 100-300 µs less database CPU each.
WALK_SESSION: dict[str, str | int] = {
    "plan_cache_mode": "force_generic_plan",
    "enable_seqscan": "off",
    "enable_bitmapscan": "off",  # GIN indexes are read only through bitmaps
    "enable_sort": "off",
    "enable_hashjoin": "off",
    "enable_mergejoin": "off",
    "max_parallel_workers_per_gather": 0,
    # A disabled step left in a plan costs 1e10, far above jit_above_cost: no compiling
    # a walk of 20 rows.
    "jit": "off",
}


def _walks(shape: _Shape) -> bool:
    """Whether the page's plan depends on how many records match, counted first: an IPC
    key walk or a year walk (else the custom plan, made for the values, decides)."""
    return bool((shape.ipc and not shape.fenced) or shape.years)


@functools.lru_cache(maxsize=4096)
def _prepared(q: PatentQuery) -> tuple[_Shape, Mapping[str, Any], tuple[Any, ...]]:
    """`_shape_and_params` (read-only) and the query's cache key, worked out once per query
    (a walk's route and then its search ask for them in the same request)."""
    shape, params = _shape_and_params(q)
    return shape, MappingProxyType(params), (shape, tuple(sorted(params.items())))


def planned_walk(q: PatentQuery, cache: SearchCache | None, count_cap: int = 0) -> bool:
    """Whether a PostgreSQL search of `q` is known, from a count in `cache`, to walk over many
    matches: its page can run on a walk connection (`WALK_SESSION`)."""
    if cache is None or not cache.enabled:
        return False
    shape, _, query_key = _prepared(q)
    if not _walks(shape):
        return False
    hint = cache.peek(_count_key(query_key, max(count_cap, FEW_MATCHES)))
    return hint is not None and hint > FEW_MATCHES


def _count_key(query_key: tuple[Any, ...], cap: int) -> tuple[Any, ...]:
    """Where a search's count (up to `cap`) is kept in the search cache."""
    return ("count", query_key, cap)


class SearchCache(VersionedCache[Any]):
    """Capped counts and facets of patent searches by query (page left out), each valid at
    the data set version it was computed at (see `VersionedCache`). PostgreSQL only."""


class SqlPatentSearch:
    """Patent searches on a session's connection, or straight on a Core connection (the
    hot read path: `Database.read_connection`)."""

    def __init__(self, session: Session | Connection) -> None:
        self.connection = session.connection() if isinstance(session, Session) else session
        self.postgres = is_postgresql(self.connection)

    def search(
        self,
        q: PatentQuery,
        names: Sequence[str],
        after: str,
        size: int,
        *,
        count_cap: int = COUNT_CAP,
        cache: SearchCache | None = None,
        facet_limit: int = 50,
        elsewhere: Callable[[], AbstractContextManager[Connection]] | None = None,
    ) -> tuple[list[Any], Facets, int]:
        """A page of matches after `after` (rows as `export_rows`), the facets `names`
        (counts per value, largest first, at most `facet_limit` each) and the number of
        matches: exact when facets are asked or when there are at most `count_cap`,
        `count_cap` + 1 meaning "more". On PostgreSQL the count and facets come from
        `cache` when it holds them for the version the page was read at.

        `elsewhere`: this connection is a walk connection (`planned_walk`), which reads
        only the walk's page; every other statement runs on a connection from
        `elsewhere`."""
        if not self.postgres:
            return self._search_sqlite(q, names, after, size, count_cap, facet_limit)
        shape, params, query_key = _prepared(q)
        store = cache if cache is not None and cache.enabled else None
        # Walks: the count first (any version's will do to choose the page's plan).
        walks = _walks(shape)
        count_cap_used = max(count_cap, FEW_MATCHES) if walks else count_cap
        count_key = _count_key(query_key, count_cap_used)
        counted: int | None = None
        few = False
        hint = store.peek(count_key) if store and walks else None
        if elsewhere is not None and (hint is None or hint <= FEW_MATCHES):
            # Not (or no longer) a known walk over many matches: not for this connection.
            with elsewhere() as connection:
                return SqlPatentSearch(connection).search(
                    q, names, after, size, count_cap=count_cap, cache=cache, facet_limit=facet_limit
                )
        if walks:
            if hint is None:
                counted = hint = self._count(shape, params, count_key, count_cap_used, store)
            few = hint <= FEW_MATCHES
        page_params = {**params, "size": size}
        if after:
            page_params["after"] = after
        statement = _page_statement(shape, bool(after), True, few)
        rows = fetch(self.connection, statement, page_params)
        items = [row[:-1] for row in rows]
        version = rows[0][-1] if rows else None
        with ExitStack() as taken:

            def other() -> Connection:  # for the statement after the page, if any
                return self.connection if elsewhere is None else taken.enter_context(elsewhere())

            if names:
                key: tuple[Any, ...] = ("facets", query_key, tuple(names), facet_limit)
                hit = store.get(key, version) if store and version is not None else None
                if hit is not None:
                    return items, *hit
                found = fetch(other(), _facets_statement(shape, tuple(names)), params)
                facets, total = _read_facets(found, names, facet_limit)
                if store and found:
                    store.put(key, found[0][-1], (facets, total))
                return items, facets, total
            if not after and len(items) < size:  # a first page that is not full is everything
                return items, {}, len(items)
            if counted is not None:
                return items, {}, min(counted, count_cap + 1)
            hit = store.get(count_key, version) if store and version is not None else None
            if hit is not None:
                return items, {}, min(hit, count_cap + 1)
            counted = self._count(
                shape, params, count_key, count_cap_used, store, connection=other()
            )
            return items, {}, min(counted, count_cap + 1)

    def _count(
        self,
        shape: _Shape,
        params: Mapping[str, Any],
        key: tuple[Any, ...],
        cap: int,
        cache: SearchCache | None,
        *,
        connection: Connection | None = None,
    ) -> int:
        """Matches counted up to `cap` + 1, kept in `cache` for the version read with them."""
        statement = _count_statement(shape)
        counted, counted_at = fetch(
            connection or self.connection, statement, {**params, "cap": cap + 1}
        )[0]
        if cache is not None:
            cache.put(key, counted_at, int(counted))
        return int(counted)

    def _search_sqlite(
        self,
        q: PatentQuery,
        names: Sequence[str],
        after: str,
        size: int,
        count_cap: int,
        facet_limit: int,
    ) -> tuple[list[Any], Facets, int]:
        if names:
            return self.export_rows(q, after, size), *self._facets_sqlite(q, names, facet_limit)
        counted = self.export_rows(q, after, size, count_cap=count_cap)
        items = [row[:-1] for row in counted]
        if not after and len(items) < size:
            return items, {}, len(items)
        if counted:
            return items, {}, int(counted[0][-1])
        return items, {}, self._count_sqlite(q, count_cap) if after else 0

    def export_rows(
        self, q: PatentQuery, after: str, limit: int, *, count_cap: int = 0
    ) -> list[Any]:
        """The matching records after `after` in record id order, cheapest form (also a
        search page's): only the columns a Patent message carries, the three JSON lists
        joined into one JSON array by the database (one parse per row). Province/date
        searches: record ids follow filing years, so walking the primary key in order to find
        the first matches can cross most of the table; the filter is fenced (OFFSET 0) so the
        planner takes the matching ids from their covering indexes (index-only), sorts just
        those and reads the page's rows alone (`_Shape.fenced`); PostgreSQL runs the statement
        built once for the query's shape. With `count_cap` (SQLite only), each row ends with
        the number of all matches (not only those after `after`) counted up to `count_cap`
        + 1."""
        if self.postgres:
            if count_cap:
                raise ValueError("count_cap is for SQLite; PostgreSQL counts through search()")
            shape, params = _shape_and_params(q)
            params["size"] = limit
            if after:
                params["after"] = after
            statement = _page_statement(shape, bool(after), False)
            return fetch(self.connection, statement, params)
        t = patents
        conditions = _sqlite_conditions(q)
        columns = _export_columns()
        if count_cap:  # the capped count in the same statement (evaluated once)
            capped = select(t.c.record_id).where(*conditions).limit(count_cap + 1).subquery()
            columns.append(select(func.count()).select_from(capped).scalar_subquery())
        if after:
            conditions.append(t.c.record_id > after)
        query = select(*columns).where(*conditions).order_by(t.c.record_id).limit(limit)
        return list(self.connection.execute(query).all())

    def _count_sqlite(self, q: PatentQuery, cap: int) -> int:
        """Matching records, counted up to `cap` + 1; `cap` + 1 means "more than cap"."""
        conditions = _sqlite_conditions(q)
        matching = select(patents.c.record_id).where(*conditions).limit(cap + 1).subquery()
        return int(self.connection.execute(select(func.count()).select_from(matching)).scalar_one())

    def _facets_sqlite(
        self, q: PatentQuery, names: Sequence[str], limit: int
    ) -> tuple[dict[str, list[tuple[str, int]]], int]:
        found: dict[str, list[tuple[str, int]]] = {}
        for name in names:
            column = FACET_COLUMNS[name].label("value")
            query = (
                select(column, func.count().label("n"))
                .select_from(patents)
                .where(*_sqlite_conditions(q))
                .group_by(column)
                .order_by(func.count().desc(), column)
                .limit(limit)
            )
            found[name] = [(r.value or "", int(r.n)) for r in self.connection.execute(query)]
        # The embedded database (small): the exact total, as PostgreSQL's facets give it.
        total = self.connection.execute(
            select(func.count()).select_from(patents).where(*_sqlite_conditions(q))
        ).scalar_one()
        return found, int(total)


def patent_fields(row: Sequence[Any]) -> PatentFields:
    """A Patent message's fields from an export row (`search_sql._export_columns`): no
    domain object, one JSON parse — the search's and export's hot loop. The servicer gives
    them to the enclosing message as dicts (upb builds the repeated messages in place; a
    list of built messages is copied in)."""
    (
        record_id,
        application_number,
        publication_number,
        kind,
        office,
        title,
        abstract,
        lists,
        filing_date,
        publication_date,
        grant_date,
        legal_status,
        content_hash,
        updated_at,
        withheld,
    ) = row
    applicants, inventors, ipc_codes = orjson.loads(lists)  # ~4x json.loads
    if type(updated_at) is int:  # PostgreSQL: microseconds since the epoch
        seconds, micros = divmod(updated_at, 1_000_000)
        stamp = {"seconds": seconds, "nanos": micros * 1000}
    elif updated_at is not None:
        updated_at = aware(updated_at)  # SQLite: naive UTC
        stamp = {"seconds": int(updated_at.timestamp()), "nanos": updated_at.microsecond * 1000}
    else:
        stamp = None
    return {
        "application_number": application_number,
        "publication_number": publication_number,
        "kind": kind,
        "office": office,
        "title": title,
        "abstract": abstract,
        # dicts: the upb runtime builds sub-messages from them faster than from messages
        "applicants": [{"name": a[0], "region_code": a[1], "country": a[2]} for a in applicants],
        "inventors": inventors,
        "ipc_codes": ipc_codes,
        "filing_date": filing_date,
        "publication_date": publication_date,
        "grant_date": grant_date,
        "legal_status": legal_status,
        "content_hash": content_hash,
        "updated_at": stamp,
        "record_id": record_id,
        "inventors_withheld": bool(withheld),
    }
