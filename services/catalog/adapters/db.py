"""Catalog storage: SQLAlchemy tables and the repositories the domain asks for.

Service areas and IPC fields live in their own tables (`institution_areas`,
`institution_ipc`); `institution_regions` holds, per institution, every region code whose
search finds it, so a region filter is one indexed equality. Free text is a `LIKE '%…%'` on
`search_text` (name + description); on PostgreSQL the migrations add pg_trgm GIN indexes,
which serve queries of three or more characters (Chinese included: the databases run with a
UTF-8 ctype). Two-character queries go to `search_bigrams`, where each adjacent pair is a
word, so they are indexed too. SQLite runs the same LIKEs without indexes.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from puhui.catalog.domain import (
    PER_INSTITUTION,
    Category,
    Channel,
    Contact,
    CostClass,
    Eligibility,
    InnovatorType,
    Institution,
    InstitutionQuery,
    ItemQuery,
    Profile,
    RegionFilter,
    ServiceItem,
    Status,
    Tier,
    Visibility,
    region_filter,
    search_regions,
)
from puhui.kit.db import new_metadata
from puhui.kit.inbox import inbox_table
from puhui.kit.outbox import outbox_table
from puhui.kit.pagination import Page
from puhui.kit.statements import VersionedCache, fetch

metadata = new_metadata()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

institutions = Table(
    "institutions",
    metadata,
    Column("institution_id", String(40), primary_key=True),
    Column("owning_node", String(6), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("tier", Integer, nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("service_area", Text, nullable=False, default="[]"),
    Column("contacts", Text, nullable=False, default="[]"),
    Column("ipc_fields", Text, nullable=False, default="[]"),
    Column("monthly_capacity", Integer, nullable=False, default=0),
    Column("status", Integer, nullable=False),
    Column("approved_by", String(120), nullable=False, default=""),
    Column("approved_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("is_example", Boolean, nullable=False, default=False),
    Column("revision", Integer, nullable=False, default=1),
    Column("status_changed_by", String(120), nullable=False, server_default=""),
    Column("status_changed_at", DateTime(timezone=True)),
    Column("status_reason", Text, nullable=False, server_default=""),
    Column("search_text", Text, nullable=False, server_default=""),
    Column("search_bigrams", Text, nullable=False, server_default=""),
    Index("ix_institutions_name_id", "name", "institution_id"),
    Index("ix_institutions_region", "region_code"),
    Index("ix_institutions_status_tier", "status", "tier"),
)

institution_areas = Table(
    "institution_areas",
    metadata,
    Column(
        "institution_id",
        String(40),
        ForeignKey("institutions.institution_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("region_code", String(6), primary_key=True),
    Index("ix_institution_areas_region", "region_code", "institution_id"),
)

institution_ipc = Table(
    "institution_ipc",
    metadata,
    Column(
        "institution_id",
        String(40),
        ForeignKey("institutions.institution_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("ipc", String(20), primary_key=True),
    Index("ix_institution_ipc_ipc", "ipc", "institution_id"),
)

# Search index of region codes: every code whose region search finds the institution
# (domain.search_regions), so a region filter is one indexed equality.
institution_regions = Table(
    "institution_regions",
    metadata,
    Column("region_code", String(6), primary_key=True),
    Column(
        "institution_id",
        String(40),
        ForeignKey("institutions.institution_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index("ix_institution_regions_institution", "institution_id"),
)

institution_seq = Table(
    "institution_seq",
    metadata,
    Column("node", String(6), primary_key=True),
    Column("last", Integer, nullable=False),
)

service_items = Table(
    "service_items",
    metadata,
    Column("item_id", String(40), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column(
        "institution_id",
        String(40),
        ForeignKey("institutions.institution_id"),
        nullable=False,
    ),
    Column("owning_node", String(6), nullable=False),
    Column("service_code", String(8), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("category", Integer, nullable=False),
    Column("channel", Integer, nullable=False),
    Column("cost_class", Integer, nullable=False),
    # Eligibility as bit masks (bit n = enum value n); 0 = no restriction.
    Column("types_mask", Integer, nullable=False, default=0),
    Column("sizes_mask", Integer, nullable=False, default=0),
    Column("stages_mask", Integer, nullable=False, default=0),
    Column("processing_days", Integer, nullable=False),
    Column("required_materials", Text, nullable=False, default="[]"),
    Column("is_example", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(120), nullable=False, default=""),
    Column("is_current", Boolean, nullable=False),
    Column("search_text", Text, nullable=False, default=""),
    Column("search_bigrams", Text, nullable=False, server_default=""),
    # The institution's status and tier, copied so item searches need no join; kept in step
    # by SqlInstitutionRepository.replace in the same transaction.
    Column("inst_status", Integer, nullable=False, server_default="0"),
    Column("inst_tier", Integer, nullable=False, server_default="0"),
    Index("ix_service_items_institution", "institution_id", "is_current"),
)
_current = service_items.c.is_current
Index(
    "ix_service_items_live_name",
    service_items.c.name,
    service_items.c.item_id,
    # A text search's page walks names in order testing each entry's text: index-only.
    postgresql_include=("version", "inst_status", "search_text", "search_bigrams"),
    postgresql_where=_current,
    sqlite_where=_current,
)
# Narrow covering indexes: counts of large result sets are index-only scans, the other
# filter columns INCLUDEd (PostgreSQL) so an index-only scan tests them too.
_FILTERED = ("channel", "cost_class", "service_code", "inst_tier")
Index(
    "ix_service_items_live_filter",
    service_items.c.category,
    service_items.c.inst_status,
    service_items.c.institution_id,
    postgresql_include=_FILTERED,
    postgresql_where=_current,
    sqlite_where=_current,
)
Index(
    "ix_service_items_live_institution",
    service_items.c.institution_id,
    service_items.c.inst_status,
    service_items.c.category,
    postgresql_include=_FILTERED,
    postgresql_where=_current,
    sqlite_where=_current,
)
Index(
    "ix_service_items_live_category",
    service_items.c.category,
    service_items.c.name,
    service_items.c.item_id,
    postgresql_where=_current,
    sqlite_where=_current,
)

# One row, bumped by the commit of every transaction that writes a searched table (deferred
# triggers, PostgreSQL; migration 0006): totals cached under it are exact (see TotalCache).
catalog_version = Table(
    "catalog_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False),
)


# --------------------------------------------------------------------------- mapping


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def mask(values: Sequence[int]) -> int:
    out = 0
    for v in values:
        out |= 1 << int(v)
    return out


@functools.cache
def unmask(value: int) -> tuple[int, ...]:
    return tuple(n for n in range(1, 31) if value & (1 << n))


def search_text(name: str, description: str) -> str:
    return f"{name}\n{description}"


def search_bigrams(name: str, description: str) -> str:
    """Every pair of adjacent characters of the text as a space-separated word, with spaces
    at both ends: " 深圳 圳市 市知 … ". A two-character query `xy` is then the word pattern
    `% xy %`, from which pg_trgm extracts trigrams ("  x", " xy", "xy "), so its GIN index
    serves two-character queries too (plain `%xy%` yields no trigram and scans)."""
    grams: dict[str, None] = {}
    for token in f"{name} {description}".split():
        for i in range(len(token) - 1):
            grams[token[i : i + 2]] = None
    return " " + " ".join(grams) + " "


_TIERS = {int(m): m for m in Tier}
_STATUSES = {int(m): m for m in Status}
_CATEGORIES = {int(m): m for m in Category}
_CHANNELS = {int(m): m for m in Channel}
_COSTS = {int(m): m for m in CostClass}


@functools.lru_cache(maxsize=16384)
def _strings(raw: str) -> tuple[str, ...]:
    """A stored JSON list of strings (most are "[]" or repeat): parsed once per text."""
    return tuple(json.loads(raw))


@functools.lru_cache(maxsize=16384)
def _contacts(raw: str) -> tuple[Contact, ...]:
    return tuple(Contact(**c) for c in json.loads(raw))


@functools.lru_cache(maxsize=1024)
def _eligibility(types: int, sizes: int, stages: int) -> Eligibility:
    return Eligibility(unmask(types), unmask(sizes), unmask(stages))


# The columns a read returns, in a fixed order (the search-only text columns left out):
# rows are unpacked by position, which costs a fraction of building them by name.
INSTITUTION_NAMES = (
    "institution_id", "owning_node", "name", "description", "tier", "region_code",
    "service_area", "contacts", "ipc_fields", "monthly_capacity", "status", "approved_by",
    "approved_at", "created_at", "updated_at", "is_example", "revision", "status_changed_by",
    "status_changed_at", "status_reason",
)  # fmt: skip
ITEM_NAMES = (
    "item_id", "version", "institution_id", "owning_node", "service_code", "name",
    "description", "category", "channel", "cost_class", "types_mask", "sizes_mask",
    "stages_mask", "processing_days", "required_materials", "is_example", "created_at",
    "created_by", "is_current", "inst_status",
)  # fmt: skip


def _row_to_institution(row: Sequence[Any]) -> Institution:
    """An institution from a row of the INSTITUTION_NAMES columns, in that order."""
    (
        institution_id, owning_node, name, description, tier, region_code, service_area,
        contacts, ipc_fields, monthly_capacity, status, approved_by, approved_at, created_at,
        updated_at, is_example, revision, status_changed_by, status_changed_at, status_reason,
    ) = row[:20]  # fmt: skip
    return Institution(
        institution_id=institution_id,
        owning_node=owning_node,
        name=name,
        description=description,
        tier=_TIERS.get(tier) or Tier(tier),
        region_code=region_code,
        service_area=_strings(service_area),
        contacts=_contacts(contacts),
        ipc_fields=_strings(ipc_fields),
        monthly_capacity=monthly_capacity,
        status=_STATUSES.get(status) or Status(status),
        approved_by=approved_by,
        approved_at=_aware(approved_at),
        created_at=_aware(created_at),
        updated_at=_aware(updated_at),
        is_example=is_example,
        revision=revision,
        status_changed_by=status_changed_by,
        status_changed_at=_aware(status_changed_at),
        status_reason=status_reason,
    )


def institution_values(i: Institution) -> dict[str, Any]:
    return {
        "institution_id": i.institution_id,
        "owning_node": i.owning_node,
        "name": i.name,
        "description": i.description,
        "tier": int(i.tier),
        "region_code": i.region_code,
        "service_area": json.dumps(list(i.service_area)),
        "contacts": json.dumps([c.__dict__ for c in i.contacts], ensure_ascii=False),
        "ipc_fields": json.dumps(list(i.ipc_fields)),
        "monthly_capacity": i.monthly_capacity,
        "status": int(i.status),
        "approved_by": i.approved_by,
        "approved_at": i.approved_at,
        "created_at": i.created_at,
        "updated_at": i.updated_at,
        "is_example": i.is_example,
        "revision": i.revision,
        "status_changed_by": i.status_changed_by,
        "status_changed_at": i.status_changed_at,
        "status_reason": i.status_reason,
        "search_text": search_text(i.name, i.description),
        "search_bigrams": search_bigrams(i.name, i.description),
    }


def item_values(i: ServiceItem, inst_status: int, inst_tier: int) -> dict[str, Any]:
    return {
        "inst_status": inst_status,
        "inst_tier": inst_tier,
        "item_id": i.item_id,
        "version": i.version,
        "institution_id": i.institution_id,
        "owning_node": i.owning_node,
        "service_code": i.service_code,
        "name": i.name,
        "description": i.description,
        "category": int(i.category),
        "channel": int(i.channel),
        "cost_class": int(i.cost_class),
        "types_mask": mask(i.eligibility.innovator_types),
        "sizes_mask": mask(i.eligibility.enterprise_sizes),
        "stages_mask": mask(i.eligibility.stages),
        "processing_days": i.processing_days,
        "required_materials": json.dumps(list(i.required_materials), ensure_ascii=False),
        "is_example": i.is_example,
        "created_at": i.created_at,
        "created_by": i.created_by,
        "is_current": i.is_current,
        "search_text": search_text(i.name, i.description),
        "search_bigrams": search_bigrams(i.name, i.description),
    }


def _row_to_item(row: Sequence[Any]) -> ServiceItem:
    """An item from a row of the ITEM_NAMES columns, in that order."""
    (
        item_id, version, institution_id, owning_node, service_code, name, description,
        category, channel, cost_class, types_mask, sizes_mask, stages_mask, processing_days,
        required_materials, is_example, created_at, created_by, is_current, inst_status,
    ) = row[:20]  # fmt: skip
    return ServiceItem(
        item_id=item_id,
        version=version,
        institution_id=institution_id,
        owning_node=owning_node,
        service_code=service_code,
        name=name,
        description=description,
        category=_CATEGORIES.get(category) or Category(category),
        channel=_CHANNELS.get(channel) or Channel(channel),
        cost_class=_COSTS.get(cost_class) or CostClass(cost_class),
        eligibility=_eligibility(types_mask, sizes_mask, stages_mask),
        processing_days=processing_days,
        required_materials=_strings(required_materials),
        is_example=is_example,
        created_at=_aware(created_at),
        created_by=created_by,
        is_current=is_current,
        institution_status=(_STATUSES.get(inst_status) or Status(inst_status))
        if inst_status
        else Status.PENDING,
    )


def region_rows(i: Institution) -> list[dict[str, str]]:
    return [
        {"region_code": code, "institution_id": i.institution_id}
        for code in sorted(search_regions(i))
    ]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --------------------------------------------------------------------------- shared filters

t = institutions
a = institution_areas
p = institution_ipc
r = institution_regions
s = service_items
T_COLS = tuple(t.c[n] for n in INSTITUTION_NAMES)
S_COLS = tuple(s.c[n] for n in ITEM_NAMES)
# The hot read by primary key, compiled once (see _fetch).
_GET_INSTITUTION = select(*T_COLS).where(
    t.c.institution_id == bindparam("institution_id", type_=String)
)


# --------------------------------------------------------------------------- read statements
#
# Searches and Match build each statement once per shape (which filters are present), with
# named parameters, and on PostgreSQL run its SQL text — compiled once — straight on the
# psycopg cursor: no per-request statement construction, cache-key walk or result wrapping,
# which were most of a search's CPU. Lists go as one array parameter (`= ANY(%(ids)s)`), so
# the text does not change with their length and psycopg prepares it once; the connections
# plan every execution for its values (plan_cache_mode=force_custom_plan, `custom_plans`).
# SQLite runs the same statement objects through SQLAlchemy (lists as expanding IN).


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


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
    rows = _fetch(session, _region_ids_statement(_is_postgresql(session)), {"region": region.code})
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
    if totals is None or not totals.enabled or not _is_postgresql(session):
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
            p.c.ipc.like(bindparam("ipc_pattern", type_=String), escape="\\"),
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
    return {"ipc_pattern": _like_escape(prefix) + "%", "ipc_parents": parents}


def _text_kind(text: str) -> str:
    """ "bigram": a two-character query, matched as a word of the bigram column; "like"."""
    if not text:
        return ""
    return "bigram" if len(text) == 2 and not any(c.isspace() for c in text) else "like"


def _text_pattern(text: str) -> str:
    if _text_kind(text) == "bigram":
        return f"% {_like_escape(text)} %"
    return f"%{_like_escape(text)}%"


def _text_condition(column: Any, bigrams: Any, kind: str) -> ColumnElement[bool]:
    """LIKE with a bound pattern: catalog connections plan every execution for it
    (force_custom_plan), so a prepared statement never runs a generic plan blind to a
    two-character pattern yielding no trigrams (which would walk the whole trigram index)."""
    target = bigrams if kind == "bigram" else column
    return target.like(bindparam("pattern", type_=String), escape="\\")


def _keyset_params(after: str) -> dict[str, Any]:
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
    if totals is None or not totals.enabled or not _is_postgresql(session):
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


def sort_key(name: str, ident: str) -> str:
    return f"{name}\x00{ident}"


# --------------------------------------------------------------------------- repositories


class SqlInstitutionRepository:
    def __init__(self, session: Session, totals: TotalCache | None = None) -> None:
        self.session = session
        self.totals = totals

    def next_id(self, node: str) -> str:
        seq = institution_seq
        current = self.session.execute(
            select(seq.c.last).where(seq.c.node == node).with_for_update()
        ).scalar()
        if current is None:
            self.session.execute(seq.insert().values(node=node, last=1))
            value = 1
        else:
            value = current + 1
            self.session.execute(seq.update().where(seq.c.node == node).values(last=value))
        return f"{node}-{value:06d}"

    def _write_children(self, i: Institution) -> None:
        self.session.execute(delete(a).where(a.c.institution_id == i.institution_id))
        self.session.execute(delete(p).where(p.c.institution_id == i.institution_id))
        self.session.execute(delete(r).where(r.c.institution_id == i.institution_id))
        self.session.execute(r.insert(), region_rows(i))
        if i.service_area:
            self.session.execute(
                a.insert(),
                [{"institution_id": i.institution_id, "region_code": c} for c in i.service_area],
            )
        if i.ipc_fields:
            self.session.execute(
                p.insert(), [{"institution_id": i.institution_id, "ipc": c} for c in i.ipc_fields]
            )

    def add(self, institution: Institution) -> None:
        self.session.execute(t.insert().values(**institution_values(institution)))
        self._write_children(institution)

    def replace(self, institution: Institution) -> None:
        values = institution_values(institution)
        del values["institution_id"]
        self.session.execute(
            update(t).where(t.c.institution_id == institution.institution_id).values(**values)
        )
        self._write_children(institution)
        self.session.execute(
            update(s)
            .where(s.c.institution_id == institution.institution_id)
            .values(inst_status=int(institution.status), inst_tier=int(institution.tier))
        )

    def get(self, institution_id: str, *, for_update: bool = False) -> Institution | None:
        if for_update:
            q = select(*T_COLS).where(t.c.institution_id == institution_id).with_for_update()
            row = self.session.execute(q).first()
            return _row_to_institution(row) if row else None
        rows = _fetch(self.session, _GET_INSTITUTION, {"institution_id": institution_id})
        return _row_to_institution(rows[0]) if rows else None

    def search(self, query: InstitutionQuery, page: Page) -> tuple[list[Institution], int]:
        rows, total = _with_region_ids(
            self.session, self.totals, query.region, lambda ids: self._search(query, page, ids)
        )
        return [_row_to_institution(r) for r in rows], total

    def _search(
        self, query: InstitutionQuery, page: Page, region_ids: list[str] | None
    ) -> SearchResult:
        pg = _is_postgresql(self.session)
        params: dict[str, Any] = {"size": page.size}
        kind = _text_kind(query.text)
        if kind:
            params["pattern"] = _text_pattern(query.text)
        regions = _put(params, "region_ids", region_ids) if region_ids is not None else 0
        tiers = _put(params, "tiers", [int(x) for x in query.tiers]) if query.tiers else 0
        statuses = (
            _put(params, "statuses", [int(x) for x in query.statuses]) if query.statuses else 0
        )
        if query.ipc_prefix:
            params.update(_ipc_params(query.ipc_prefix))
        if query.category:
            params["category"] = int(query.category)
        visibility = _visibility(params, query.visibility)
        if page.after:
            params.update(_keyset_params(page.after))
        statements = _institution_search(
            pg,
            kind,
            regions,
            tiers,
            statuses,
            bool(query.ipc_prefix),
            bool(query.category),
            visibility,
            bool(page.after),
        )
        return _page_and_total(self.session, statements, params, bool(page.after), self.totals)


def _level(region_code: str, tier: int) -> int:
    """0 county, 1 city, 2 province, 3 national (domain.nearness for serving institutions)."""
    if tier == Tier.NATIONAL:
        return 3
    if region_code.endswith("0000"):
        return 2
    return 1 if region_code.endswith("00") else 0


def _n(value: int) -> Any:
    """An integer constant written into the statement, not a parameter: Match's statement
    stays short enough (4,096 characters) and has few enough parameters for psycopg to
    cache its conversion, and each execution dumps only the values that vary."""
    return literal_column(str(int(value)), Integer)


@functools.lru_cache(maxsize=16)
def _match_institutions(pg: bool, covering: int, nearby: bool) -> Any:
    """Approved institutions located in or serving (area) a covering region, national
    ones, and — `nearby` — those elsewhere in the innovator's city (serving = 0)."""
    ti, ai = t.alias("t"), a.alias("a")
    approved = ti.c.status == _n(Status.APPROVED)
    cols = (ti.c.institution_id, ti.c.region_code, ti.c.tier, ti.c.monthly_capacity)
    parts = [
        select(*cols, _n(1).label("serving")).where(
            approved, _one_of(pg, ti.c.region_code, "covering", String, covering)
        ),
        select(*cols, _n(1)).where(approved, ti.c.tier == _n(Tier.NATIONAL)),
        select(*cols, _n(1))
        .select_from(ai.join(ti, ti.c.institution_id == ai.c.institution_id))
        .where(approved, _one_of(pg, ai.c.region_code, "covering", String, covering)),
    ]
    if nearby:
        parts.append(
            select(*cols, _n(0)).where(
                approved,
                ti.c.region_code >= bindparam("city", type_=String),
                ti.c.region_code < bindparam("next_city", type_=String),
            )
        )
    return union_all(*parts)


@functools.lru_cache(maxsize=16)
def _match_chosen(pg: bool, covering: int, nearby: bool, categories: int) -> Any:
    """The `limit` best candidates, whole (S_COLS, T_COLS, then their key), in one statement:
    the current items in the wanted categories of `_match_institutions`' institutions (one
    listed by several parts of the union is serving if any part says so), keyed the way the
    domain ranks as far as the institution and the eligibility decide it —
    level (0 county, 1 city, 2 province, 3 national: `_level`) + 100 × (not serving, no
    capacity, not eligible) — then by item id (code-point order, as Python compares)."""
    facts = _match_institutions(pg, covering, nearby).subquery("x")
    f = (
        select(
            facts.c.institution_id,
            facts.c.region_code,
            facts.c.tier,
            facts.c.monthly_capacity,
            func.max(facts.c.serving).label("serving"),
        )
        .group_by(
            facts.c.institution_id, facts.c.region_code, facts.c.tier, facts.c.monthly_capacity
        )
        .subquery("f")
    )
    i = s.alias("c")

    def lacks(mask: Any, bit: str) -> ColumnElement[bool]:
        masked = mask.op("&", return_type=Integer)(bindparam(bit, type_=Integer))
        return and_(mask != _n(0), masked == _n(0))

    level = case(
        (f.c.tier == _n(Tier.NATIONAL), _n(3)),
        (f.c.region_code.like(literal_column("'%0000'")), _n(2)),
        (f.c.region_code.like(literal_column("'%00'")), _n(1)),
        else_=_n(0),
    )
    ineligible = or_(
        lacks(i.c.types_mask, "bit_type"),
        and_(bindparam("enterprise", type_=Integer) == _n(1), lacks(i.c.sizes_mask, "bit_size")),
        lacks(i.c.stages_mask, "bit_stage"),
    )
    key = (
        level
        + case((f.c.serving == _n(0), _n(100)), else_=_n(0))
        + case((f.c.monthly_capacity <= _n(0), _n(100)), else_=_n(0))
        + case((ineligible, _n(100)), else_=_n(0))
    ).label("key")
    chosen = (
        select(i.c.item_id, key)
        .select_from(i.join(f, i.c.institution_id == f.c.institution_id))
        .where(
            i.c.is_current,
            _one_of(pg, i.c.category, "categories", Integer, categories),
            i.c.inst_status == _n(Status.APPROVED),
        )
        .order_by(key, i.c.item_id.collate("C") if pg else i.c.item_id)
        .limit(bindparam("limit", type_=Integer))
        .subquery("k")
    )
    si, ti = s.alias("s"), t.alias("t")
    return (
        select(*(si.c[n] for n in ITEM_NAMES), *(ti.c[n] for n in INSTITUTION_NAMES), chosen.c.key)
        .select_from(
            chosen.join(si, and_(si.c.item_id == chosen.c.item_id, si.c.is_current)).join(
                ti, ti.c.institution_id == si.c.institution_id
            )
        )
        .order_by(chosen.c.key, chosen.c.item_id.collate("C") if pg else chosen.c.item_id)
    )


def _needed(best: list[tuple[int, str, str]], results: int) -> int:
    """How many of the pre-ordered candidates `best` (key, item id, institution id) can be
    among `results` ranked matches; the rest need not be built. `domain.rank` takes the
    capable (key < 100, key = nearness) by nearness then score, at most
    PER_INSTITUTION of an institution, and an institution's capable items share its
    nearness: once the nearness levels seen accept `results`, no later candidate is reached.
    Otherwise (capable ones run out first) every candidate may be."""
    accepted = 0
    per_institution: dict[str, int] = {}
    level = -1
    for n, (key, _item, inst) in enumerate(best):
        if key != level:
            if accepted >= results:
                return n
            if key >= 100:
                break
            level = key
        taken = per_institution.get(inst, 0)
        if taken < PER_INSTITUTION:
            per_institution[inst] = taken + 1
            accepted += 1
    return len(best)


class SqlServiceItemRepository:
    def __init__(self, session: Session, totals: TotalCache | None = None) -> None:
        self.session = session
        self.totals = totals

    def add_version(self, item: ServiceItem) -> None:
        self.session.execute(
            update(s).where(s.c.item_id == item.item_id, s.c.is_current).values(is_current=False)
        )
        status, tier = self.session.execute(
            select(t.c.status, t.c.tier).where(t.c.institution_id == item.institution_id)
        ).one()
        self.session.execute(s.insert().values(**item_values(item, status, tier)))

    def get(
        self, item_id: str, version: int = 0, *, for_update: bool = False
    ) -> ServiceItem | None:
        q = select(*S_COLS).where(s.c.item_id == item_id)
        q = q.where(s.c.version == version) if version else q.where(s.c.is_current)
        if for_update:
            q = q.with_for_update()
        row = self.session.execute(q).first()
        return _row_to_item(row) if row else None

    def versions(self, item_id: str, page: Page) -> tuple[list[ServiceItem], int]:
        total = self.session.execute(
            select(func.count()).select_from(s).where(s.c.item_id == item_id)
        ).scalar_one()
        q = select(*S_COLS).where(s.c.item_id == item_id).order_by(s.c.version).limit(page.size)
        if page.after:
            q = q.where(s.c.version > int(page.after))
        return [_row_to_item(r) for r in self.session.execute(q)], total

    def current_of(self, institution_id: str) -> list[ServiceItem]:
        q = (
            select(*S_COLS)
            .where(s.c.institution_id == institution_id, s.c.is_current)
            .order_by(s.c.item_id)
        )
        return [_row_to_item(row) for row in self.session.execute(q)]

    def search(self, query: ItemQuery, page: Page) -> tuple[list[ServiceItem], int]:
        rows, total = _with_region_ids(
            self.session, self.totals, query.region, lambda ids: self._search(query, page, ids)
        )
        return [_row_to_item(row) for row in rows], total

    def _search(self, query: ItemQuery, page: Page, region_ids: list[str] | None) -> SearchResult:
        pg = _is_postgresql(self.session)
        params: dict[str, Any] = {"size": page.size}
        kind = _text_kind(query.text)
        if kind:
            params["pattern"] = _text_pattern(query.text)
        categories = (
            _put(params, "categories", [int(x) for x in query.categories])
            if query.categories
            else 0
        )
        if query.institution_id:
            params["institution_id"] = query.institution_id
        if query.channel:
            # An item offered both ways is found by a search for either channel.
            wanted = (
                {int(query.channel), int(Channel.BOTH)}
                if query.channel != Channel.BOTH
                else {int(query.channel)}
            )
            channels = _put(params, "channels", sorted(wanted))
        else:
            channels = 0
        if query.cost_class:
            params["cost_class"] = int(query.cost_class)
        if query.service_code:
            params["service_code"] = query.service_code
        regions = _put(params, "region_ids", region_ids) if region_ids is not None else 0
        tiers = _put(params, "tiers", [int(x) for x in query.tiers]) if query.tiers else 0
        if query.ipc_prefix:
            params.update(_ipc_params(query.ipc_prefix))
        visibility = _visibility(params, query.visibility)
        if page.after:
            params.update(_keyset_params(page.after))
        statements = _item_search(
            pg,
            kind,
            categories,
            bool(query.institution_id),
            channels,
            bool(query.cost_class),
            bool(query.service_code),
            regions,
            tiers,
            bool(query.ipc_prefix),
            visibility,
            bool(page.after),
        )
        return _page_and_total(self.session, statements, params, bool(page.after), self.totals)

    def match_candidates(
        self, profile: Profile, categories: tuple[int, ...], limit: int, results: int = 0
    ) -> list[tuple[ServiceItem, Institution]]:
        return SqlMatchCandidates(self.session.connection()).match_candidates(
            profile, categories, limit, results
        )


class SqlMatchCandidates:
    """Match's read on a Core connection (no ORM session: Match reads one statement)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def match_candidates(
        self, profile: Profile, categories: tuple[int, ...], limit: int, results: int = 0
    ) -> list[tuple[ServiceItem, Institution]]:
        """Approved institutions' current items in the wanted categories that serve the
        innovator's region (by location or service area), national institutions, and — so
        the innovator learns what is near but not theirs — those elsewhere in the same city.
        Pre-ordered the way the domain ranks (serving, eligible, has capacity, nearest) so the
        limit cuts the tail only."""
        region = region_filter(profile.region_code)
        code = region.code
        pg = self.connection.dialect.name == "postgresql"
        # "Near but not serving": elsewhere in the innovator's city (not for a whole province).
        nearby = not code.endswith("0000")
        params: dict[str, Any] = {}
        covering = _put(params, "covering", region.covering)
        if nearby:
            # Codes in the city: from its 4-digit prefix up to the next prefix (digits only,
            # so the same range in any collation): an index range even in a generic plan.
            params["city"] = code[:4]
            params["next_city"] = f"{int(code[:4]) + 1:04d}"
        wanted = _put(params, "categories", [int(c) for c in categories])
        enterprise = profile.innovator_type == InnovatorType.ENTERPRISE
        params["enterprise"] = int(enterprise)
        params["bit_type"] = 1 << profile.innovator_type if profile.innovator_type else 0
        params["bit_size"] = (
            1 << profile.enterprise_size if enterprise and profile.enterprise_size else 0
        )
        params["bit_stage"] = 1 << profile.stage if profile.stage else 0
        params["limit"] = limit
        # The institutions in question (indexed lookups), their items in the wanted
        # categories keyed and cut to `limit` in the database, and those returned whole:
        # one round trip, only the rows that are built.
        rows = fetch(
            self.connection, _match_chosen(pg, covering, nearby, wanted), params, binary=True
        )
        width = len(S_COLS)
        key_at = width + len(T_COLS)
        if 0 < results < len(rows):
            rows = rows[: _needed([(r[key_at], r[0], r[2]) for r in rows], results)]
        institutions: dict[str, Institution] = {}
        out = []
        for row in rows:
            inst_row = row[width:key_at]
            inst = institutions.get(inst_row[0])
            if inst is None:
                inst = institutions[inst_row[0]] = _row_to_institution(inst_row)
            out.append((_row_to_item(row), inst))
        return out


__all__ = [
    "SqlInstitutionRepository",
    "SqlMatchCandidates",
    "SqlServiceItemRepository",
    "TotalCache",
    "inbox",
    "institution_areas",
    "institution_ipc",
    "institutions",
    "metadata",
    "outbox",
    "service_items",
    "sort_key",
]
