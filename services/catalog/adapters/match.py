"""Match's pre-ranking read model: one statement that keys candidates the way
`domain.match.rank` orders them, as far as institution and eligibility decide it."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from puhui.catalog.adapters.rows import (
    INSTITUTION_NAMES,
    ITEM_NAMES,
    S_COLS,
    T_COLS,
    _row_to_institution,
    _row_to_item,
    a,
    s,
    t,
)
from puhui.catalog.adapters.search import _one_of, _put
from puhui.catalog.domain import (
    PER_INSTITUTION,
    InnovatorType,
    Institution,
    Profile,
    ServiceItem,
    Status,
    Tier,
    region_filter,
)
from puhui.kit.db import Database, is_postgresql
from puhui.kit.statements import fetch


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


class SqlMatchCandidates:
    """Match's read on a Core connection (no ORM session: Match reads one statement)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def keyed_rows(self, profile: Profile, categories: tuple[int, ...], limit: int) -> list[Any]:
        """Approved institutions' current items in the wanted categories that serve the
        innovator's region (by location or service area), national institutions, and — so
        the innovator learns what is near but not theirs — those elsewhere in the same city.
        Pre-ordered the way the domain ranks (serving, eligible, has capacity, nearest) so the
        limit cuts the tail only. Rows: the item's columns (ITEM_NAMES), the institution's
        (INSTITUTION_NAMES), then the key: `domain.match.Match.nearness` for a candidate with
        no gaps, 100 or more for one with gaps (test_match_prerank ties the two)."""
        region = region_filter(profile.region_code)
        code = region.code
        pg = is_postgresql(self.connection)
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
        return fetch(
            self.connection, _match_chosen(pg, covering, nearby, wanted), params, binary=True
        )

    def match_candidates(
        self, profile: Profile, categories: tuple[int, ...], limit: int, results: int = 0
    ) -> list[tuple[ServiceItem, Institution]]:
        """At most `limit` candidates in pre-ranked order; with `results`, only those that can
        be among that many ranked matches (`_needed`)."""
        rows = self.keyed_rows(profile, categories, limit)
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


class SqlMatchReadModel:
    """The domain's MatchCandidates port: each Match reads on a Core connection of `db`'s
    pool (Match's own small pool on PostgreSQL), no ORM session to set up."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._engine: Any = None

    def match_candidates(
        self, profile: Profile, categories: tuple[int, ...], limit: int, results: int = 0
    ) -> list[tuple[ServiceItem, Institution]]:
        engine = self._engine
        if engine is None:
            with self.db.read() as session:
                engine = self._engine = session.get_bind()
        with engine.connect() as connection:
            return SqlMatchCandidates(connection).match_candidates(
                profile, categories, limit, results
            )
