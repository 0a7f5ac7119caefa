"""The patent search's SQL: its filters, and on PostgreSQL its statements built once per
shape (see `search` for how a search runs them)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Integer,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from puhui.data.adapters.tables import data_versions, patents
from puhui.data.domain import PatentQuery, region_prefix
from puhui.data.queries import Facets
from puhui.kit.db import LIKE_ESCAPE, like_escape


def _ipc_key(prefix: str) -> tuple[str, bool]:
    """The `ipc_keys` entry a canonical IPC prefix selects, and whether it selects exactly:
    up to the main group ("G", "G06", "G06F", "G06F 16/") the prefix is a key; a longer one
    ("G06F 16/3") takes its main group's key, narrowed by the codes' text."""
    exact = len(prefix) <= 4 or prefix.endswith("/")
    return (prefix if exact else prefix[: prefix.index("/") + 1]), exact


def _ipc_condition_sqlite(prefix: str) -> Any:
    """Codes starting with `prefix` (canonical: "G", "G06", "G06F", "G06F 16/", "G06F 16/3").
    A prefix up to the main group is one of the row's `ipc_keys` ("|"-delimited text here);
    a longer one narrows its main group's rows by the codes' text."""
    t = patents
    key, exact = _ipc_key(prefix)
    has_key = t.c.ipc_keys.contains(f"|{key}|", autoescape=True)
    if exact:
        return has_key
    # ipc_codes is the JSON list ["G06F 16/29", ...]: '"' + prefix marks a code's start.
    return and_(has_key, t.c.ipc_codes.contains(f'"{prefix}', autoescape=True))


def _sqlite_conditions(q: PatentQuery) -> list[Any]:
    """The embedded database's filters, values inline (PostgreSQL builds its statements once
    per shape with named parameters: `_shape_conditions`)."""
    t = patents
    found: list[Any] = []
    if q.text:
        found.append(
            or_(
                t.c.title.contains(q.text, autoescape=True),
                t.c.abstract.contains(q.text, autoescape=True),
            )
        )
    if q.applicant:
        found.append(t.c.applicant_names.contains(q.applicant, autoescape=True))
    if q.ipc_prefix:
        found.append(_ipc_condition_sqlite(q.ipc_prefix))
    if q.region_code:
        prefix = region_prefix(q.region_code)
        if len(prefix) == 2:
            found.append(t.c.province_code == q.region_code)
        else:
            found.append(t.c.region_code.startswith(prefix))
    if q.filing_from:
        found.append(t.c.filing_date >= q.filing_from)
    if q.filing_to:
        found.append(and_(t.c.filing_date <= q.filing_to, t.c.filing_date != ""))
    if q.published_from:
        found.append(t.c.publication_date >= q.published_from)
    if q.published_to:
        found.append(and_(t.c.publication_date <= q.published_to, t.c.publication_date != ""))
    if q.office:
        found.append(t.c.office == q.office)
    if q.legal_status:
        found.append(t.c.legal_status == q.legal_status)
    return found


FACET_COLUMNS = {
    "ipc_section": patents.c.ipc_section,
    "year": func.substr(patents.c.filing_date, 1, 4),
    "province": patents.c.province_code,
}


COUNT_CAP = 100


def _export_columns(micros: bool = False) -> list[Any]:
    """A Patent message's columns (`search.patent_fields`); `micros`: `updated_at` as
    microseconds since the epoch (PostgreSQL), not a timestamp: an integer is cheaper to
    print and parse than an aware datetime (measured: 277 -> 231 µs a 20-row page)."""
    c = patents.c
    lists = ("[" + c.applicants + "," + c.inventors + "," + c.ipc_codes + "]").label("lists")
    return [
        c.record_id,
        c.application_number,
        c.publication_number,
        c.kind,
        c.office,
        c.title,
        c.abstract,
        lists,
        c.filing_date,
        c.publication_date,
        c.grant_date,
        c.legal_status,
        c.content_hash,
        (
            cast(func.extract("epoch", c.updated_at) * 1_000_000, BigInteger).label("updated_us")
            if micros
            else c.updated_at
        ),
        c.inventors_withheld,
    ]


# -- the PostgreSQL search path: statements built once per shape -------------------------
#
# A search's statements are built once per shape (which filters are present, and how) with
# named parameters and run through the kit's `statements.fetch` (compiled once, straight on
# the psycopg cursor). Each reads the data set's version with its rows, so the capped count
# and the facets, computed at a version, are reused by later searches reading that version
# (exact: the version changes with the commit of any write to the data set).


class _Shape(NamedTuple):
    text: bool
    applicant: bool
    ipc: int  # 0 none, 1 a whole key (section … main group), 2 a key narrowed by code text
    region: int  # 0 none, 1 a province, 2 a prefecture or county prefix
    filing_from: bool
    filing_to: bool
    published_from: bool
    published_to: bool
    office: bool
    legal_status: bool
    years: int = 0  # a page merged from this many walks, one a year (`_year_walk`)

    @property
    def fenced(self) -> bool:
        """Whether a page takes the matching ids from their covering indexes and sorts them
        (see `export_rows`) rather than walking record ids in order: date ranges (record
        ids follow filing years, so the walk could cross most of the table before the first
        match) and prefecture/county prefixes (no index in record id order). A province, with
        or without an IPC key, walks (province, record id) inside one index."""
        return bool(
            self.region == 2
            or self.filing_from
            or self.filing_to
            or self.published_from
            or self.published_to
        )


def _shape_and_params(q: PatentQuery) -> tuple[_Shape, dict[str, Any]]:
    params: dict[str, Any] = {}
    if q.text:
        params["text"] = f"%{like_escape(q.text)}%"
    if q.applicant:
        params["applicant"] = f"%{like_escape(q.applicant)}%"
    ipc = 0
    if q.ipc_prefix:
        prefix = q.ipc_prefix
        params["ipc_key"], exact = _ipc_key(prefix)
        if not exact:
            params["ipc_text"] = f'%"{like_escape(prefix)}%'
        ipc = 1 if exact else 2
    region = 0
    if q.region_code:
        prefix = region_prefix(q.region_code)
        if len(prefix) == 2:
            params["province"], region = q.region_code, 1
        else:
            params["region_prefix"], region = f"{prefix}%", 2
    for name in ("filing_from", "filing_to", "published_from", "published_to", "office"):
        if getattr(q, name):
            params[name] = getattr(q, name)
    if q.legal_status:
        params["legal_status"] = q.legal_status
    years = _year_walk(q)
    for i, year in enumerate(years):
        params[f"year_{i}"] = year
    shape = _Shape(
        bool(q.text),
        bool(q.applicant),
        ipc,
        region,
        bool(q.filing_from),
        bool(q.filing_to),
        bool(q.published_from),
        bool(q.published_to),
        bool(q.office),
        bool(q.legal_status),
        len(years),
    )
    return shape, params


MAX_YEAR_WALKS = 10


def _year_walk(q: PatentQuery) -> list[str]:
    """The years whose record ids a page of `q` merges (migration 0011's indexes), or none:
    only "province + filing dates" and "office + publication dates" with both ends given and
    nothing else, spanning at most MAX_YEAR_WALKS years. Record ids follow filing years, so
    one ordered walk over such a range would cross every earlier year first; a walk per year
    meets the range at once."""
    rest = (q.text, q.applicant, q.ipc_prefix, q.legal_status)
    if any(rest):
        return []
    if q.filing_from and q.filing_to and q.region_code and not q.office:
        start, end = q.filing_from, q.filing_to
        if q.published_from or q.published_to or len(region_prefix(q.region_code)) != 2:
            return []
    elif q.published_from and q.published_to and q.office and not q.region_code:
        start, end = q.published_from, q.published_to
        if q.filing_from or q.filing_to:
            return []
    else:
        return []
    first, last = int(start[:4]), int(end[:4])
    if not 0 <= last - first < MAX_YEAR_WALKS:
        return []
    return [f"{year:04d}" for year in range(first, last + 1)]


def _shape_conditions(shape: _Shape, *, unindexed_dates: bool = False) -> list[Any]:
    """`_sqlite_conditions` with named parameters (PostgreSQL); `unindexed_dates`: the
    date columns compared as `column || ''` (see `_page_statement`)."""
    t = patents

    def p(name: str) -> Any:
        return bindparam(name, type_=Text)

    filing: ColumnElement[Any] = t.c.filing_date
    published: ColumnElement[Any] = t.c.publication_date
    if unindexed_dates:
        filing, published = filing + "", published + ""

    found: list[Any] = []
    if shape.text:
        found.append(
            or_(
                t.c.title.like(p("text"), escape=LIKE_ESCAPE),
                t.c.abstract.like(p("text"), escape=LIKE_ESCAPE),
            )
        )
    if shape.applicant:
        found.append(t.c.applicant_names.like(p("applicant"), escape=LIKE_ESCAPE))
    if shape.ipc:
        key = cast(postgresql.array([p("ipc_key")]), postgresql.ARRAY(Text))
        found.append(t.c.ipc_keys.op("@>")(key))
        if shape.ipc == 2:
            found.append(t.c.ipc_codes.like(p("ipc_text"), escape=LIKE_ESCAPE))
    if shape.region == 1:
        found.append(t.c.province_code == p("province"))
    elif shape.region == 2:
        found.append(t.c.region_code.like(p("region_prefix")))
    if shape.filing_from:
        found.append(filing >= p("filing_from"))
    if shape.filing_to:
        found.append(and_(filing <= p("filing_to"), filing != ""))
    if shape.published_from:
        found.append(published >= p("published_from"))
    if shape.published_to:
        found.append(and_(published <= p("published_to"), published != ""))
    if shape.office:
        found.append(t.c.office == p("office"))
    if shape.legal_status:
        found.append(t.c.legal_status == p("legal_status"))
    return found


def _patents_version() -> Any:
    v = data_versions
    return select(v.c.value).where(v.c.data_set == "patents").scalar_subquery()


@functools.lru_cache(maxsize=2048)
def _page_statement(shape: _Shape, after: bool, versioned: bool, few: bool = False) -> Any:
    """A page in record id order (`export_rows`' form); `versioned`: each row ends with the
    data set's version, read in the same snapshot; `few`: the query is known to match few
    records (see `SqlPatentSearch.search`), so its matches are gathered and sorted."""
    t = patents
    # A year walk tests the range on the rows it walks: on `column || ''`, which no index
    # holds, or the planner — misjudging how few rows a range inside one year leaves — sorts
    # the range's matches from the (office, publication date) index instead (3.3 ms, not 0.2).
    conditions = _shape_conditions(shape, unindexed_dates=bool(shape.years) and not few)
    if after:
        conditions.append(t.c.record_id > bindparam("after", type_=Text))
    columns = _export_columns(micros=True)
    if versioned:
        columns.append(_patents_version().label("version"))
    size = bindparam("size", type_=Integer)
    if shape.years and not few:
        # One walk a year in record id order (index-only), merged: the first `size` ids.
        column = t.c.filing_date if shape.filing_from else t.c.publication_date
        year = func.substr(column, literal_column("1"), literal_column("4"))
        walks = [
            select(t.c.record_id)
            .where(*conditions, year == bindparam(f"year_{i}", type_=Text))
            .order_by(t.c.record_id)
            .limit(size)
            for i in range(shape.years)
        ]
        merged = union_all(*walks).subquery()
        ids = select(merged.c.record_id).order_by(merged.c.record_id).limit(size).subquery()
    elif shape.fenced or few:
        matching = select(t.c.record_id).where(*conditions).offset(0).subquery()
        ids = select(matching.c.record_id).order_by(matching.c.record_id).limit(size).subquery()
    elif shape.ipc or shape.region:
        # The page's ids first: IPC keys and province sit beside the record id in B-tree
        # indexes (migration 0010), so the walk in record id order is index-only and only
        # the page's rows are read from the table.
        first = select(t.c.record_id).where(*conditions).order_by(t.c.record_id)
        ids = first.limit(size).subquery()
    else:
        return select(*columns).where(*conditions).order_by(t.c.record_id).limit(size)
    return select(*columns).join(ids, t.c.record_id == ids.c.record_id).order_by(t.c.record_id)


@functools.lru_cache(maxsize=1024)
def _count_statement(shape: _Shape) -> Any:
    """(matches counted up to :cap, the version), one snapshot."""
    capped = (
        select(patents.c.record_id)
        .where(*_shape_conditions(shape))
        .limit(bindparam("cap", type_=Integer))
        .subquery()
    )
    return select(func.count(), _patents_version()).select_from(capped)


@functools.lru_cache(maxsize=1024)
def _facets_statement(shape: _Shape, names: tuple[str, ...]) -> Any:
    """Counts per value of each facet and the exact total (the empty grouping set) in one
    pass over the matches' facet columns; each row ends with the version."""
    facet_columns = [FACET_COLUMNS[n].label(f"f{i}") for i, n in enumerate(names)]
    matching = select(*facet_columns).where(*_shape_conditions(shape)).subquery()
    keys = [matching.c[f"f{i}"] for i in range(len(names))]
    return select(
        *keys,
        func.grouping(*keys).label("grouped"),
        func.count().label("n"),
        _patents_version().label("version"),
    ).group_by(func.grouping_sets(*[tuple_(k) for k in keys], text("()")))


def _read_facets(rows: list[Any], names: Sequence[str], limit: int) -> tuple[Facets, int]:
    """Facets (largest first, at most `limit` a facet) and the total from a facets
    statement's rows: GROUPING(a, b, c) sets a bit for each column aggregated over."""
    width = len(names)
    everything = (1 << width) - 1
    which = {everything & ~(1 << (width - 1 - i)): i for i in range(width)}
    found: Facets = {n: [] for n in names}
    total = 0
    for row in rows:
        grouped, n = row[width], int(row[width + 1])
        if grouped == everything:
            total = n
        elif grouped in which:
            i = which[grouped]
            found[names[i]].append((row[i] or "", n))
    for name in names:
        found[name] = sorted(found[name], key=lambda vc: (-vc[1], vc[0]))[:limit]
    return found, total
