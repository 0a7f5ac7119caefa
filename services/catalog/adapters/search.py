"""The search read statements shared by the institution and item repositories: built once
per shape, page and total, the version-checked total cache, keyset tokens."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    Integer,
    String,
    Table,
    and_,
    any_,
    bindparam,
    exists,
    func,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from puhui.catalog.adapters.rows import S_COLS, T_COLS, p, r, s, t
from puhui.catalog.adapters.tables import catalog_version
from puhui.catalog.domain import (
    RegionFilter,
    Status,
    Visibility,
)
from puhui.kit.db import LIKE_ESCAPE, is_postgresql, like_escape
from puhui.kit.statements import VersionedCache, fetch

# --------------------------------------------------------------------------- read statements
#
# Searches and Match build each statement once per shape (which filters are present), with
# named parameters, and on PostgreSQL run its SQL text — compiled once — straight on the
# psycopg cursor: no per-request statement construction, cache-key walk or result wrapping,
# which were most of a search's CPU. Lists go as one array parameter (`= ANY(%(ids)s)`), so
# the text does not change with their length and psycopg prepares it once; the connections
# plan every execution for its values (plan_cache_mode=force_custom_plan,
# `puhui.kit.db.custom_plans`).
# SQLite runs the same statement objects through SQLAlchemy (lists as expanding IN).


def _fetch(session: Session, statement: Any, params: dict[str, Any]) -> list[Any]:
    """All rows of a cached read `statement` (positional tuples) for `params`."""
    return fetch(session.connection(), statement, params)


def _one_of(
    pg: bool, column: Any, name: str, kind: Any = String, count: int = 2
) -> ColumnElement[bool]:
    """`column` is one of the list parameter `name`: `= ANY(array)` on PostgreSQL (one
    parameter, the same text whatever the length), an expanding IN elsewhere. `count` 1
    (see `_put`): plain equality, as PostgreSQL makes of a one-value IN — only an equality
    lets it read an index in (category, name) order; `= ANY('{7}')` does not."""
    if count == 1:
        return column == bindparam(name, type_=kind)
    if pg:
        return column == any_(bindparam(name, type_=ARRAY(kind)))
    return column.in_(bindparam(name, expanding=True))


@functools.lru_cache(maxsize=4)
def _region_ids_statement(pg: bool) -> Any:
    return select(r.c.institution_id).where(r.c.region_code == bindparam("region", type_=String))


def _region_ids(session: Session, region: RegionFilter) -> list[str]:
    """The institutions a region search finds, resolved first: with the ids as a value
    (not a subquery) PostgreSQL plans the item query for its real size (a subquery here led
    it to walk the whole name index looking for the few rows of one county)."""
    rows = _fetch(session, _region_ids_statement(is_postgresql(session)), {"region": region.code})
    return [row[0] for row in rows]


@functools.lru_cache(maxsize=1)
def _versioned_region_ids_statement() -> Any:
    return select(_version(), r.c.institution_id).where(
        r.c.region_code == bindparam("region", type_=String)
    )


SearchResult = tuple[list[Any], int, int | None]


def _with_region_ids(
    session: Session,
    totals: TotalCache | None,
    region: RegionFilter | None,
    run: Callable[[list[str] | None], SearchResult],
) -> tuple[list[Any], int]:
    """Runs a search (`run(region_ids)` → rows, total, version read at) with its region's
    institution ids: with a TotalCache on PostgreSQL the ids last resolved for the region,
    valid if the search read its page at the version they were resolved at (no write
    committed in between); otherwise, or when that cannot be told, resolved again with the
    search repeated."""
    if region is None:
        rows, total, _ = run(None)
        return rows, total
    if totals is None or not totals.enabled or not is_postgresql(session):
        rows, total, _ = run(_region_ids(session, region))
        return rows, total
    known = totals.region_ids(region.code)
    if known is not None:
        rows, total, seen = run(known[1])
        if seen is not None and seen == known[0]:
            return rows, total
    found = _fetch(session, _versioned_region_ids_statement(), {"region": region.code})
    ids = [row[1] for row in found]
    if found:
        totals.put_region_ids(region.code, found[0][0], ids)
    rows, total, _ = run(ids)
    return rows, total


def _put(params: dict[str, Any], name: str, values: Sequence[Any]) -> int:
    """Sets the list parameter `name`; returns its statement shape for `_one_of`: 1 for a
    single value (bound alone), 2 otherwise."""
    if len(values) == 1:
        params[name] = values[0]
        return 1
    params[name] = list(values)
    return 2


def _ipc_ids(pg: bool) -> Any:
    """Institutions with a field under the prefix ("G06F" finds "G06F 16/00") or above it
    ("G06F 16/00" finds an institution covering all of "G06F"); see `_ipc_params`."""
    return select(p.c.institution_id).where(
        or_(
            p.c.ipc.like(bindparam("ipc_pattern", type_=String), escape=LIKE_ESCAPE),
            _one_of(pg, p.c.ipc, "ipc_parents"),
        )
    )


def _ipc_params(prefix: str) -> dict[str, Any]:
    parents = [prefix]
    if " " in prefix:
        parents.append(prefix.split(" ")[0])
    if len(prefix) >= 3:
        parents.append(prefix[:3])
    parents.append(prefix[:1])
    return {"ipc_pattern": like_escape(prefix) + "%", "ipc_parents": parents}


def _text_kind(text: str) -> str:
    """ "bigram": a two-character query, matched as a word of the bigram column; "like"."""
    if not text:
        return ""
    return "bigram" if len(text) == 2 and not any(c.isspace() for c in text) else "like"


def _text_pattern(text: str) -> str:
    if _text_kind(text) == "bigram":
        return f"% {like_escape(text)} %"
    return f"%{like_escape(text)}%"


def _text_condition(column: Any, bigrams: Any, kind: str) -> ColumnElement[bool]:
    """LIKE with a bound pattern: catalog connections plan every execution for it
    (force_custom_plan), so a prepared statement never runs a generic plan blind to a
    two-character pattern yielding no trigrams (which would walk the whole trigram index)."""
    target = bigrams if kind == "bigram" else column
    return target.like(bindparam("pattern", type_=String), escape=LIKE_ESCAPE)


def _keyset_params(after: str) -> dict[str, Any]:
    """The (name, id) of a page token's key (`domain.page_key`)."""
    name, _, ident = after.partition("\x00")
    return {"after_name": name, "after_id": ident}


def _keyset(name_col: Any, id_col: Any) -> ColumnElement[bool]:
    return tuple_(name_col, id_col) > tuple_(
        bindparam("after_name", type_=String), bindparam("after_id", type_=String)
    )


class Statements(NamedTuple):
    """A search shape's statements. `page`: the page with the total as its last column;
    `total`: the total alone. With a TotalCache: `versioned_page`, the page with the catalog
    version as its last column instead of the total, and `versioned_total` (total, version)
    — each pair read in one statement, so from one snapshot."""

    page: Any
    total: Any
    versioned_page: Any
    versioned_total: Any


def _version() -> Any:
    return select(catalog_version.c.value).where(catalog_version.c.id == 1).scalar_subquery()


def _page_statements(
    table: Table,
    columns: tuple[Any, ...],
    where: ColumnElement[bool],
    keyset: ColumnElement[bool] | None,
    order: tuple[Any, ...],
) -> Statements:
    """One page and the total count in one round trip: the count is an uncorrelated scalar
    subquery, which PostgreSQL evaluates once. Only a page past the end needs the second
    statement (the total alone)."""
    total_q = select(func.count()).select_from(table).where(where)
    q = select(*columns, total_q.scalar_subquery().label("total_size")).where(where)
    versioned = select(*columns, _version().label("catalog_version")).where(where)
    if keyset is not None:
        q = q.where(keyset)
        versioned = versioned.where(keyset)
    size = bindparam("size", type_=Integer)
    return Statements(
        q.order_by(*order).limit(size),
        total_q,
        versioned.order_by(*order).limit(size),
        select(func.count(), _version()).select_from(table).where(where),
    )


class TotalCache(VersionedCache[int]):
    """Search totals by statement shape and parameters (page size and position left out),
    each valid for the catalog version it was counted at. A search reads its page with the
    current version in one statement; a total cached for that version is exact — the version
    changes with the commit of any write to a searched table — so only a new version or a
    new query counts again. PostgreSQL only (the version triggers); bounded: when full, it
    starts again empty."""

    def __init__(self, *, enabled: bool = True, size: int = 4096) -> None:
        super().__init__(enabled=enabled, size=size)
        self._regions: dict[str, tuple[int, list[str]]] = {}

    # A region search's institution ids, likewise: used for the next search of the region
    # and kept only if that search's page was read at the version they were resolved at
    # (else resolved again and the search repeated), which saves a round trip a search.
    def region_ids(self, code: str) -> tuple[int, list[str]] | None:
        return self._regions.get(code)

    def put_region_ids(self, code: str, version: int, ids: list[str]) -> None:
        if len(self._regions) >= self.size:
            self._regions = {}
        self._regions[code] = (version, ids)


_PAGE_PARAMS = frozenset({"size", "after_name", "after_id"})


def _total_key(statements: Statements, params: dict[str, Any]) -> tuple[Any, ...]:
    # The statement object itself (not its id, which a later object could reuse).
    filters = sorted(
        (k, _list_key(v) if type(v) is list else v)
        for k, v in params.items()
        if k not in _PAGE_PARAMS
    )
    return (statements.total, *filters)


def _list_key(values: list[Any]) -> tuple[Any, ...]:
    """A list parameter in a cache key: short lists as they are; a long one (a province's
    thousands of institution ids) by length and a 128-bit digest, so 4,096 cached totals
    stay a few hundred kilobytes."""
    if len(values) <= 16:
        return tuple(values)
    digest = hashlib.blake2b("\x00".join(map(str, values)).encode(), digest_size=16)
    return (len(values), digest.digest())


def _page_and_total(
    session: Session,
    statements: Statements,
    params: dict[str, Any],
    keyset: bool,
    totals: TotalCache | None = None,
) -> tuple[list[Any], int, int | None]:
    """The page's rows, the total and — with a TotalCache — the catalog version the page
    was read at (None when unknown: no cache, or an empty first page)."""
    if totals is None or not totals.enabled or not is_postgresql(session):
        rows = _fetch(session, statements.page, params)
        if rows:
            return rows, int(rows[0][-1]), None
        if not keyset:
            return [], 0, None
        return [], int(_fetch(session, statements.total, params)[0][0]), None
    # Rows are read by position (the first 20 columns): the version column after them is
    # ignored by the mapping.
    rows = _fetch(session, statements.versioned_page, params)
    if not rows and not keyset:
        return [], 0, None
    key = _total_key(statements, params)
    if rows:
        cached = totals.get(key, rows[0][-1])
        if cached is not None:
            return rows, cached, rows[0][-1]
    total, version = _fetch(session, statements.versioned_total, params)[0]
    totals.put(key, version, int(total))
    return rows, int(total), rows[0][-1] if rows else version


@functools.lru_cache(maxsize=512)
def _institution_search(
    pg: bool,
    text: str,
    region: int,
    tiers: int,
    statuses: int,
    ipc: bool,
    category: bool,
    visibility: int,
    keyset: bool,
) -> Statements:
    conditions: list[ColumnElement[bool]] = []
    if text:
        conditions.append(_text_condition(t.c.search_text, t.c.search_bigrams, text))
    if region:
        conditions.append(_one_of(pg, t.c.institution_id, "region_ids", String, region))
    if tiers:
        conditions.append(_one_of(pg, t.c.tier, "tiers", Integer, tiers))
    if statuses:
        conditions.append(_one_of(pg, t.c.status, "statuses", Integer, statuses))
    if ipc:
        conditions.append(t.c.institution_id.in_(_ipc_ids(pg)))
    if category:
        conditions.append(
            exists().where(
                s.c.institution_id == t.c.institution_id,
                s.c.is_current,
                s.c.category == bindparam("category", type_=Integer),
            )
        )
    approved = t.c.status == int(Status.APPROVED)
    if visibility == 0:
        conditions.append(approved)
    elif visibility > 0:
        own = _one_of(pg, t.c.institution_id, "own_ids", String, visibility)
        conditions.append(or_(approved, own))
    return _page_statements(
        t,
        T_COLS,
        and_(true(), *conditions),
        _keyset(t.c.name, t.c.institution_id) if keyset else None,
        (t.c.name, t.c.institution_id),
    )


def _visibility(params: dict[str, Any], vis: Visibility) -> int:
    """-1 everything visible, 0 approved only, else approved or own (`_put` shape)."""
    if vis.all:
        return -1
    return _put(params, "own_ids", vis.institution_ids) if vis.institution_ids else 0


@functools.lru_cache(maxsize=1024)
def _item_search(
    pg: bool,
    text: str,
    categories: int,
    institution: bool,
    channels: int,
    cost_class: bool,
    service_code: bool,
    region: int,
    tiers: int,
    ipc: bool,
    visibility: int,
    keyset: bool,
) -> Statements:
    conditions: list[ColumnElement[bool]] = [s.c.is_current]
    if text:
        conditions.append(_text_condition(s.c.search_text, s.c.search_bigrams, text))
    if categories:
        conditions.append(_one_of(pg, s.c.category, "categories", Integer, categories))
    if institution:
        conditions.append(s.c.institution_id == bindparam("institution_id", type_=String))
    if channels:
        conditions.append(_one_of(pg, s.c.channel, "channels", Integer, channels))
    if cost_class:
        conditions.append(s.c.cost_class == bindparam("cost_class", type_=Integer))
    if service_code:
        conditions.append(s.c.service_code == bindparam("service_code", type_=String))
    if region:
        conditions.append(_one_of(pg, s.c.institution_id, "region_ids", String, region))
    if tiers:
        conditions.append(_one_of(pg, s.c.inst_tier, "tiers", Integer, tiers))
    if ipc:
        conditions.append(s.c.institution_id.in_(_ipc_ids(pg)))
    approved = s.c.inst_status == int(Status.APPROVED)
    if visibility == 0:
        conditions.append(approved)
    elif visibility > 0:
        own = _one_of(pg, s.c.institution_id, "own_ids", String, visibility)
        conditions.append(or_(approved, own))
    if text:
        return _matched_page_statements(and_(*conditions), keyset)
    return _page_statements(
        s,
        S_COLS,
        and_(*conditions),
        _keyset(s.c.name, s.c.item_id) if keyset else None,
        (s.c.name, s.c.item_id),
    )


def _matched_page_statements(where: ColumnElement[bool], keyset: bool) -> Statements:
    """`_page_statements` for a text search of items: the matching items' keys are found
    once (a CTE, materialised as it is read twice) and serve both the total and the page,
    whose full rows are then read by primary key. A common term matches thousands of items
    scattered over the table: one pass over them instead of two (the count's, and the page's
    walk in name order filtering each row), and no wide row but the page's is carried."""
    matched = select(s.c.item_id, s.c.version, s.c.name).where(where).cte("matched")
    keys = select(matched.c.item_id, matched.c.version)
    if keyset:
        keys = keys.where(_keyset(matched.c.name, matched.c.item_id))
    page_keys = (
        keys.order_by(matched.c.name, matched.c.item_id)
        .limit(bindparam("size", type_=Integer))
        .subquery("page_keys")
    )
    total = select(func.count()).select_from(matched).scalar_subquery()
    page = (
        select(*S_COLS, total.label("total_size"))
        .select_from(
            s.join(
                page_keys,
                and_(s.c.item_id == page_keys.c.item_id, s.c.version == page_keys.c.version),
            )
        )
        .order_by(s.c.name, s.c.item_id)
    )
    # With the total cached, the page alone: its keys first, which an index-only walk of
    # the names in order (ix_service_items_live_name holds the text) finds, stopping at the
    # page's last match; then those rows.
    inner = select(s.c.item_id, s.c.version).where(where)
    if keyset:
        inner = inner.where(_keyset(s.c.name, s.c.item_id))
    inner_keys = (
        inner.order_by(s.c.name, s.c.item_id)
        .limit(bindparam("size", type_=Integer))
        .subquery("page_keys")
    )
    page_rows = s.alias("page_rows")
    versioned_page = (
        select(*(page_rows.c[c.name] for c in S_COLS), _version().label("catalog_version"))
        .select_from(
            page_rows.join(
                inner_keys,
                and_(
                    page_rows.c.item_id == inner_keys.c.item_id,
                    page_rows.c.version == inner_keys.c.version,
                ),
            )
        )
        .order_by(page_rows.c.name, page_rows.c.item_id)
    )
    return Statements(
        page,
        select(func.count()).select_from(s).where(where),
        versioned_page,
        select(func.count(), _version()).select_from(s).where(where),
    )
