"""Data storage: SQLAlchemy tables and the repositories the domain asks for."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, NamedTuple

import psycopg
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    and_,
    bindparam,
    cast,
    delete,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from puhui.data.domain import (
    DATA_SETS,
    HASH_MODULUS,
    Change,
    GeographicalIndication,
    GiQuery,
    IcLayout,
    IcLayoutQuery,
    Party,
    Patent,
    PatentQuery,
    Trademark,
    TrademarkQuery,
    hash_hex,
    region_prefix,
)
from puhui.kit.db import new_metadata
from puhui.kit.errors import Aborted
from puhui.kit.inbox import inbox_table
from puhui.kit.outbox import outbox_table
from puhui.kit.statements import VersionedCache, fetch

metadata = new_metadata()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class KeyList(TypeDecorator[list[str]]):
    """A list of keys: text[] on PostgreSQL (GIN-indexable), "|a|b|" text elsewhere."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(Text))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if dialect.name == "postgresql" or value is None or isinstance(value, str):
            return value  # a str: a LIKE pattern compared with the column
        return "|" + "|".join(value) + "|" if value else ""

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None or isinstance(value, list):
            return value
        return [k for k in str(value).split("|") if k]


patents = Table(
    "patents",
    metadata,
    Column("record_id", String(40), primary_key=True),
    Column("office", String(2), nullable=False),
    Column("application_number", String(40), nullable=False),
    Column("publication_number", String(40), nullable=False, default=""),
    Column("kind", String(4), nullable=False, default=""),
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False, default=""),
    Column("applicants", Text, nullable=False, default="[]"),
    # Applicant names joined by " ; " (searched with LIKE / trigram).
    Column("applicant_names", Text, nullable=False, default=""),
    Column("inventors", Text, nullable=False, default="[]"),
    Column("inventors_withheld", Boolean, nullable=False, default=False, server_default=false()),
    Column("ipc_codes", Text, nullable=False, default="[]"),
    Column("ipc_section", String(1), nullable=False, default=""),
    # Every IPC level of every code (G, G06, G06F, G06F 16/, G06F 16/29): IPC prefix search
    # by exact keys. A text[] with a GIN index on PostgreSQL (migration 0008); on SQLite the
    # text "|G|G06|G06F|G06F 16/|G06F 16/29|" searched with LIKE.
    Column("ipc_keys", KeyList(), nullable=False, default=list),
    Column("filing_date", String(10), nullable=False, default=""),
    Column("publication_date", String(10), nullable=False, default=""),
    Column("grant_date", String(10), nullable=False, default=""),
    Column("legal_status", String(100), nullable=False, default=""),
    Column("region_code", String(6), nullable=False, default=""),
    Column("province_code", String(6), nullable=False, default=""),
    Column("content_hash", String(64), nullable=False),
    Column("sequence", BigInteger, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_patents_filing_date", "filing_date"),
    Index("ix_patents_publication_date", "publication_date"),
    Index("ix_patents_province_code", "province_code"),
    # Record ids follow filing years, so "province + date range ORDER BY record_id" must not
    # walk the primary key: these let the planner take the few matching rows and sort them;
    # with the record id included (PostgreSQL), from the index alone.
    Index(
        "ix_patents_province_filing",
        "province_code",
        "filing_date",
        postgresql_include=["record_id"],
    ),
    Index(
        "ix_patents_office_publication",
        "office",
        "publication_date",
        postgresql_include=["record_id"],
    ),
    Index("ix_patents_region_code", "region_code"),
    Index("ix_patents_office_status", "office", "legal_status"),
)

trademarks = Table(
    "trademarks",
    metadata,
    Column("record_id", String(40), primary_key=True),
    Column("office", String(2), nullable=False),
    Column("application_number", String(20), nullable=False),
    Column("registration_number", String(20), nullable=False, default=""),
    Column("mark_text", Text, nullable=False, default=""),
    Column("nice_classes", Text, nullable=False, default="[]"),
    # "|25|34|": Nice classes searchable with LIKE '%|25|%'.
    Column("nice_class_keys", String(200), nullable=False, default=""),
    Column("similar_groups", Text, nullable=False, default="[]"),
    Column("owner", Text, nullable=False, default="[]"),
    Column("owner_name", Text, nullable=False, default=""),
    Column("region_code", String(6), nullable=False, default=""),
    Column("filing_date", String(10), nullable=False, default=""),
    Column("registration_date", String(10), nullable=False, default=""),
    Column("expiry_date", String(10), nullable=False, default=""),
    Column("status", String(100), nullable=False, default=""),
    Column("content_hash", String(64), nullable=False),
    Column("sequence", BigInteger, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_trademarks_application_number", "application_number"),
    Index("ix_trademarks_registration_number", "registration_number"),
)

geographical_indications = Table(
    "geographical_indications",
    metadata,
    Column("record_id", String(40), primary_key=True),
    Column("name", Text, nullable=False),
    Column("product", Text, nullable=False, default=""),
    Column("region_code", String(6), nullable=False, default=""),
    Column("protection_type", String(60), nullable=False, default=""),
    Column("application_date", String(10), nullable=False, default=""),
    Column("approval_date", String(10), nullable=False, default=""),
    Column("content_hash", String(64), nullable=False),
    Column("sequence", BigInteger, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_geographical_indications_region_code", "region_code"),
)

ic_layouts = Table(
    "ic_layouts",
    metadata,
    Column("record_id", String(40), primary_key=True),
    Column("name", Text, nullable=False),
    Column("owner", Text, nullable=False, default="[]"),
    Column("owner_name", Text, nullable=False, default=""),
    Column("creation_date", String(10), nullable=False, default=""),
    Column("filing_date", String(10), nullable=False, default=""),
    Column("content_hash", String(64), nullable=False),
    Column("sequence", BigInteger, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Every written form a record can be found by: "app:CN202121635235", "pub:CN218751475".
patent_numbers = Table(
    "patent_numbers",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("record_id", String(40), nullable=False, index=True),
)

# One row per data set, bumped by a deferred trigger at the commit of every write to it
# (PostgreSQL, migration 0010): counts and facets cached for a version stay exact.
data_versions = Table(
    "data_versions",
    metadata,
    Column("data_set", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# The change feed ("what changed since cursor X"); `seq` is the cursor.
changes = Table(
    "changes",
    metadata,
    Column("seq", _BigId, primary_key=True, autoincrement=True),
    Column("data_set", String(20), nullable=False),
    Column("record_id", String(40), nullable=False),
    Column("change", String(10), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("previous_hash", String(64), nullable=False, default=""),
    Column("source", String(300), nullable=False, default=""),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index("ix_changes_data_set_seq", "data_set", "seq"),
)

# Records an import could not accept: where they were and why.
quarantine = Table(
    "quarantine",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("import_id", String(36), nullable=False, index=True),
    Column("data_set", String(20), nullable=False),
    Column("file", String(500), nullable=False),
    Column("position", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def _is_unique_violation(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, psycopg.errors.UniqueViolation):
        return True
    # SQLite (unit runs): "UNIQUE constraint failed: …"
    return isinstance(exc, IntegrityError) and "UNIQUE" in str(orig)


@contextmanager
def racing_writers_aborted() -> Iterator[None]:
    """Two writers creating the same new record: the loser's unique violation (raised by the
    COPY, an INSERT or the commit) becomes ABORTED — re-read and retry — not INTERNAL."""
    try:
        yield
    except (IntegrityError, psycopg.errors.UniqueViolation) as exc:
        if not _is_unique_violation(exc):
            raise
        raise Aborted("a concurrent writer created the same record first; retry") from exc


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def row_to_patent(row: Any) -> Patent:
    return Patent(
        application_number=row.application_number,
        office=row.office,
        publication_number=row.publication_number,
        kind=row.kind,
        title=row.title,
        abstract=row.abstract,
        applicants=tuple(Party(*p) for p in json.loads(row.applicants)),
        inventors=tuple(json.loads(row.inventors)),
        inventors_withheld=row.inventors_withheld,
        ipc_codes=tuple(json.loads(row.ipc_codes)),
        filing_date=row.filing_date,
        publication_date=row.publication_date,
        grant_date=row.grant_date,
        legal_status=row.legal_status,
        content_hash=row.content_hash,
        updated_at=_aware(row.updated_at),
        sequence=row.sequence,
    )


# The columns a Patent is read from (not the search-only ones: ipc_keys, applicant_names…).
PATENT_COLUMNS = [
    patents.c[name]
    for name in (
        "record_id", "application_number", "office", "publication_number", "kind", "title",
        "abstract", "applicants", "inventors", "ipc_codes", "filing_date", "publication_date",
        "grant_date", "legal_status", "content_hash", "updated_at", "sequence",
        "inventors_withheld",
    )
]  # fmt: skip


def patent_row(p: Patent) -> dict[str, Any]:
    return {
        "record_id": p.record_id,
        "office": p.office,
        "application_number": p.application_number,
        "publication_number": p.publication_number,
        "kind": p.kind,
        "title": p.title,
        "abstract": p.abstract,
        "applicants": json.dumps(
            [[a.name, a.region_code, a.country] for a in p.applicants], ensure_ascii=False
        ),
        "applicant_names": " ; ".join(a.name for a in p.applicants),
        "inventors": json.dumps(list(p.inventors), ensure_ascii=False),
        "inventors_withheld": p.inventors_withheld,
        "ipc_codes": json.dumps(list(p.ipc_codes)),
        "ipc_section": p.ipc_codes[0][0] if p.ipc_codes else "",
        "ipc_keys": ipc_keys(p.ipc_codes),
        "filing_date": p.filing_date,
        "publication_date": p.publication_date,
        "grant_date": p.grant_date,
        "legal_status": p.legal_status,
        "region_code": p.region_code,
        "province_code": p.province_code,
        "content_hash": p.content_hash,
        "sequence": p.sequence,
        "updated_at": p.updated_at,
    }


def ipc_levels(code: str) -> list[str]:
    """Section, class, subclass, main group ("G06F 16/") and the code itself."""
    levels = [code[:1], code[:3], code[:4]]
    if "/" in code:
        levels.append(code[: code.index("/") + 1])
    levels.append(code)
    return levels


def ipc_keys(codes: Sequence[str]) -> list[str]:
    """The `ipc_keys` column: every level of every code once."""
    return list(dict.fromkeys(k for c in codes for k in ipc_levels(c) if k))


MAX_PARAMS = 30_000


def chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows in chunks small enough for one multi-row INSERT (bounded bind parameters)."""
    if not rows:
        return []
    size = max(1, MAX_PARAMS // max(1, len(rows[0])))
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _driver(session: Session) -> Any:
    """The psycopg connection under the session (PostgreSQL only), same transaction."""
    return session.connection().connection.driver_connection


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_many(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk insert: PostgreSQL COPY inside the session's transaction; executemany elsewhere."""
    if not rows:
        return
    if not is_postgres(session):
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with _driver(session).cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def upsert_ignore(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    keys: Sequence[str],
    update_cols: Sequence[str],
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET update_cols (PostgreSQL and SQLite)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    for chunk in chunks(rows):
        stmt = module.insert(table).values(chunk)
        if update_cols:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={c: stmt.excluded[c] for c in update_cols}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        session.execute(stmt)


class SqlPatentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def hashes(self, record_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        if not record_ids:
            return {}
        t = patents
        rows = self.session.execute(
            select(t.c.record_id, t.c.content_hash, t.c.sequence).where(
                t.c.record_id.in_(list(record_ids))
            )
        )
        return {r.record_id: (r.content_hash, r.sequence) for r in rows}

    def get(self, record_id: str) -> Patent | None:
        row = self.session.execute(select(patents).where(patents.c.record_id == record_id)).first()
        return row_to_patent(row) if row else None

    def resolve(self, keys: Sequence[str]) -> str | None:
        rows = self.session.execute(
            select(patent_numbers.c.key, patent_numbers.c.record_id).where(
                patent_numbers.c.key.in_(list(keys))
            )
        ).all()
        found = {r.key: r.record_id for r in rows}
        for key in keys:  # the first form the text can mean wins
            if key in found:
                return str(found[key])
        return None

    def save(self, inserted: Sequence[Any], updated: Sequence[Any]) -> None:
        s = self.session
        if inserted:
            insert_many(s, patents, [patent_row(p) for p in inserted])
        if updated:
            rows = [{**patent_row(p), "b_record_id": p.record_id} for p in updated]
            values: dict[str, Any] = {
                c: bindparam(c) for c in rows[0] if c not in ("record_id", "b_record_id")
            }
            s.execute(
                update(patents)
                .where(patents.c.record_id == bindparam("b_record_id"))
                .values(values),
                rows,
                execution_options={"synchronize_session": False},
            )
            ids = [p.record_id for p in updated]
            s.execute(delete(patent_numbers).where(patent_numbers.c.record_id.in_(ids)))
        everything = [*inserted, *updated]
        keys = {k: p.record_id for p in everything for k in p.lookup_keys()}
        if is_postgres(s):
            with _driver(s).cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO patent_numbers (key, record_id) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET record_id = EXCLUDED.record_id",
                    list(keys.items()),
                )
            keys = {}
        upsert_ignore(
            s,
            patent_numbers,
            [{"key": k, "record_id": r} for k, r in keys.items()],
            ["key"],
            ["record_id"],
        )

    def _record_changes_pg(self, rows: list[dict[str, Any]]) -> list[int]:
        """One INSERT … SELECT FROM unnest(…) for the batch; sequences in input order."""
        columns = list(rows[0])
        types = {"changed_at": "timestamptz"}
        arrays = ", ".join(f"%s::{types.get(c, 'text')}[]" for c in columns)
        with _driver(self.session).cursor() as cursor:
            cursor.execute(
                f"INSERT INTO changes ({', '.join(columns)}) "
                f"SELECT {', '.join(columns)} FROM unnest({arrays}) WITH ORDINALITY "
                f"AS t({', '.join(columns)}, n) ORDER BY n RETURNING seq, record_id",
                [[r[c] for r in rows] for c in columns],
            )
            by_id = {record_id: seq for seq, record_id in cursor.fetchall()}
        return [by_id[r["record_id"]] for r in rows]

    def record_changes(self, items: Sequence[Change]) -> list[Change]:
        rows = [
            {
                "data_set": c.data_set,
                "record_id": c.record_id,
                "change": c.change,
                "content_hash": c.content_hash,
                "previous_hash": c.previous_hash,
                "source": c.source[:300],
                "changed_at": c.changed_at,
            }
            for c in items
        ]
        if is_postgres(self.session):
            seqs = self._record_changes_pg(rows)
        else:
            result = self.session.execute(
                insert(changes).returning(changes.c.seq, sort_by_parameter_order=True), rows
            )
            seqs = [r.seq for r in result]
        return [
            Change(
                c.data_set,
                c.record_id,
                c.change,
                c.content_hash,
                c.previous_hash,
                seq,
                c.changed_at,
                c.source,
            )
            for c, seq in zip(items, seqs, strict=True)
        ]


def row_to_trademark(row: Any) -> Trademark:
    return Trademark(
        application_number=row.application_number,
        office=row.office,
        registration_number=row.registration_number,
        mark_text=row.mark_text,
        nice_classes=tuple(json.loads(row.nice_classes)),
        similar_groups=tuple(json.loads(row.similar_groups)),
        owner=Party(*json.loads(row.owner)),
        filing_date=row.filing_date,
        registration_date=row.registration_date,
        expiry_date=row.expiry_date,
        status=row.status,
        content_hash=row.content_hash,
        updated_at=_aware(row.updated_at),
        sequence=row.sequence,
    )


def trademark_row(t: Trademark) -> dict[str, Any]:
    return {
        "record_id": t.record_id,
        "office": t.office,
        "application_number": t.application_number,
        "registration_number": t.registration_number,
        "mark_text": t.mark_text,
        "nice_classes": json.dumps(list(t.nice_classes)),
        "nice_class_keys": "|" + "".join(f"{c}|" for c in t.nice_classes),
        "similar_groups": json.dumps(list(t.similar_groups)),
        "owner": json.dumps(
            [t.owner.name, t.owner.region_code, t.owner.country], ensure_ascii=False
        ),
        "owner_name": t.owner.name,
        "region_code": t.owner.region_code,
        "filing_date": t.filing_date,
        "registration_date": t.registration_date,
        "expiry_date": t.expiry_date,
        "status": t.status,
        "content_hash": t.content_hash,
        "sequence": t.sequence,
        "updated_at": t.updated_at,
    }


class SqlTrademarkRepository(SqlPatentRepository):
    """Trademarks: the same change feed and statistics, their own table."""

    def hashes(self, record_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        if not record_ids:
            return {}
        t = trademarks
        rows = self.session.execute(
            select(t.c.record_id, t.c.content_hash, t.c.sequence).where(
                t.c.record_id.in_(list(record_ids))
            )
        )
        return {r.record_id: (r.content_hash, r.sequence) for r in rows}

    def find(self, office: str, number: str) -> Trademark | None:
        t = trademarks
        query = select(t).where(
            (t.c.application_number == number) | (t.c.registration_number == number)
        )
        if office:
            query = query.where(t.c.office == office)
        row = self.session.execute(query.order_by(t.c.record_id).limit(1)).first()
        return row_to_trademark(row) if row else None

    def save(self, inserted: Sequence[Any], updated: Sequence[Any]) -> None:
        s = self.session
        if inserted:
            insert_many(s, trademarks, [trademark_row(r) for r in inserted])
        if updated:
            rows = [{**trademark_row(r), "b_record_id": r.record_id} for r in updated]
            values: dict[str, Any] = {
                c: bindparam(c) for c in rows[0] if c not in ("record_id", "b_record_id")
            }
            s.execute(
                update(trademarks)
                .where(trademarks.c.record_id == bindparam("b_record_id"))
                .values(values),
                rows,
                execution_options={"synchronize_session": False},
            )


def stats(session: Session) -> dict[str, tuple[int, str, int, datetime | None]]:
    """Per data set: record count, order-independent content hash (sum of the records'
    SHA-256 values mod 2^256), position (highest change sequence; on a mirror, the hub's) and
    the time of the last change. Computed from the records themselves, streaming, so it can
    never drift from them (about a second per million records)."""
    found: dict[str, tuple[int, str, int, datetime | None]] = {}
    tables = (patents, trademarks, geographical_indications, ic_layouts)
    for data_set, table in zip(DATA_SETS, tables, strict=True):
        total, count = 0, 0
        rows = session.execute(
            select(table.c.content_hash).execution_options(yield_per=20_000, stream_results=True)
        )
        for (digest,) in rows:
            total += int(digest, 16)
            count += 1
        position, updated = session.execute(
            select(func.max(table.c.sequence), func.max(table.c.updated_at))
        ).one()
        digest_sum = hash_hex(total % HASH_MODULUS)
        found[data_set] = (count, digest_sum, int(position or 0), _aware(updated))
    return found


# -- queries -------------------------------------------------------------------------------


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
    """A Patent message's columns (`convert.export_row_fields`); `micros`: `updated_at` as
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


def _like_escape(value: str) -> str:
    return value.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _shape_and_params(q: PatentQuery) -> tuple[_Shape, dict[str, Any]]:
    params: dict[str, Any] = {}
    if q.text:
        params["text"] = f"%{_like_escape(q.text)}%"
    if q.applicant:
        params["applicant"] = f"%{_like_escape(q.applicant)}%"
    ipc = 0
    if q.ipc_prefix:
        prefix = q.ipc_prefix
        params["ipc_key"], exact = _ipc_key(prefix)
        if not exact:
            params["ipc_text"] = f'%"{_like_escape(prefix)}%'
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
            or_(t.c.title.like(p("text"), escape="/"), t.c.abstract.like(p("text"), escape="/"))
        )
    if shape.applicant:
        found.append(t.c.applicant_names.like(p("applicant"), escape="/"))
    if shape.ipc:
        key = cast(postgresql.array([p("ipc_key")]), postgresql.ARRAY(Text))
        found.append(t.c.ipc_keys.op("@>")(key))
        if shape.ipc == 2:
            found.append(t.c.ipc_codes.like(p("ipc_text"), escape="/"))
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


Facets = dict[str, list[tuple[str, int]]]


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


class SearchCache(VersionedCache[Any]):
    """Capped counts and facets of patent searches by query (page left out), each valid at
    the data set version it was computed at (see `VersionedCache`). PostgreSQL only."""


class SqlPatentSearch:
    """Patent searches on a session's connection, or straight on a Core connection (the
    hot read path: `Database.read_connection`)."""

    def __init__(self, session: Session | Connection) -> None:
        self.connection = session.connection() if isinstance(session, Session) else session
        self.postgres = self.connection.dialect.name == "postgresql"

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


def _trademark_conditions(q: TrademarkQuery) -> list[Any]:
    t = trademarks
    found: list[Any] = []
    if q.text:
        found.append(t.c.mark_text.contains(q.text, autoescape=True))
    if q.owner:
        found.append(t.c.owner_name.contains(q.owner, autoescape=True))
    if q.nice_classes:
        found.append(or_(*(t.c.nice_class_keys.contains(f"|{c}|") for c in q.nice_classes)))
    if q.similar_group:
        found.append(t.c.similar_groups.contains(f'"{q.similar_group}"'))
    if q.office:
        found.append(t.c.office == q.office)
    if q.status:
        found.append(t.c.status == q.status)
    if q.filing_from:
        found.append(t.c.filing_date >= q.filing_from)
    if q.filing_to:
        found.append(and_(t.c.filing_date <= q.filing_to, t.c.filing_date != ""))
    return found


class SqlTrademarkSearch:
    def __init__(self, session: Session) -> None:
        self.session = session

    def search(self, q: TrademarkQuery, after: str, limit: int) -> tuple[list[Trademark], int]:
        t = trademarks
        conditions = _trademark_conditions(q)
        query = select(t).where(*conditions).order_by(t.c.record_id).limit(limit)
        if after:
            query = query.where(t.c.record_id > after)
        total = self.session.execute(
            select(func.count()).select_from(t).where(*conditions)
        ).scalar_one()
        return [row_to_trademark(r) for r in self.session.execute(query)], int(total)


def list_changes(session: Session, data_set: str, after: int, limit: int) -> list[Change]:
    c = changes
    query = select(c).where(c.c.seq > after).order_by(c.c.seq).limit(limit)
    if data_set:
        query = query.where(c.c.data_set == data_set)
    return [
        Change(
            r.data_set,
            r.record_id,
            r.change,
            r.content_hash,
            r.previous_hash,
            r.seq,
            _aware(r.changed_at),
            r.source,
        )
        for r in session.execute(query)
    ]


# -- geographical indications and IC layout designs ---------------------------------------


def row_to_gi(row: Any) -> GeographicalIndication:
    return GeographicalIndication(
        gi_id=row.record_id,
        name=row.name,
        product=row.product,
        region_code=row.region_code,
        protection_type=row.protection_type,
        application_date=row.application_date,
        approval_date=row.approval_date,
        content_hash=row.content_hash,
        updated_at=_aware(row.updated_at),
        sequence=row.sequence,
    )


def gi_row(g: GeographicalIndication) -> dict[str, Any]:
    return {
        "record_id": g.record_id,
        "name": g.name,
        "product": g.product,
        "region_code": g.region_code,
        "protection_type": g.protection_type,
        "application_date": g.application_date,
        "approval_date": g.approval_date,
        "content_hash": g.content_hash,
        "sequence": g.sequence,
        "updated_at": g.updated_at,
    }


def row_to_ic_layout(row: Any) -> IcLayout:
    return IcLayout(
        registration_number=row.record_id,
        name=row.name,
        owner=Party(*json.loads(row.owner)),
        creation_date=row.creation_date,
        filing_date=row.filing_date,
        content_hash=row.content_hash,
        updated_at=_aware(row.updated_at),
        sequence=row.sequence,
    )


def ic_layout_row(ic: IcLayout) -> dict[str, Any]:
    return {
        "record_id": ic.record_id,
        "name": ic.name,
        "owner": json.dumps(
            [ic.owner.name, ic.owner.region_code, ic.owner.country], ensure_ascii=False
        ),
        "owner_name": ic.owner.name,
        "creation_date": ic.creation_date,
        "filing_date": ic.filing_date,
        "content_hash": ic.content_hash,
        "sequence": ic.sequence,
        "updated_at": ic.updated_at,
    }


class _SimpleRecords(SqlPatentRepository):
    """A data set stored in one table keyed by record id: hashes, get, save; the change feed
    as for patents."""

    table: Table
    to_row: Any
    from_row: Any

    def hashes(self, record_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        if not record_ids:
            return {}
        t = self.table
        rows = self.session.execute(
            select(t.c.record_id, t.c.content_hash, t.c.sequence).where(
                t.c.record_id.in_(list(record_ids))
            )
        )
        return {r.record_id: (r.content_hash, r.sequence) for r in rows}

    def get(self, record_id: str) -> Any:
        t = self.table
        row = self.session.execute(select(t).where(t.c.record_id == record_id)).first()
        return type(self).from_row(row) if row else None

    def save(self, inserted: Sequence[Any], updated: Sequence[Any]) -> None:
        to_row = type(self).to_row
        if inserted:
            insert_many(self.session, self.table, [to_row(r) for r in inserted])
        if updated:
            rows = [{**to_row(r), "b_record_id": r.record_id} for r in updated]
            values: dict[str, Any] = {
                c: bindparam(c) for c in rows[0] if c not in ("record_id", "b_record_id")
            }
            self.session.execute(
                update(self.table)
                .where(self.table.c.record_id == bindparam("b_record_id"))
                .values(values),
                rows,
                execution_options={"synchronize_session": False},
            )


class SqlGiRepository(_SimpleRecords):
    table = geographical_indications
    to_row = staticmethod(gi_row)
    from_row = staticmethod(row_to_gi)


class SqlIcLayoutRepository(_SimpleRecords):
    table = ic_layouts
    to_row = staticmethod(ic_layout_row)
    from_row = staticmethod(row_to_ic_layout)


def search_gis(
    session: Session, q: GiQuery, after: str, limit: int
) -> tuple[list[GeographicalIndication], int]:
    t = geographical_indications
    conditions: list[Any] = []
    if q.text:
        conditions.append(
            or_(
                t.c.name.contains(q.text, autoescape=True),
                t.c.product.contains(q.text, autoescape=True),
            )
        )
    if q.region_code:
        conditions.append(t.c.region_code.startswith(region_prefix(q.region_code)))
    total = session.execute(select(func.count()).select_from(t).where(*conditions)).scalar_one()
    if after:
        conditions.append(t.c.record_id > after)
    query = select(t).where(*conditions).order_by(t.c.record_id).limit(limit)
    return [row_to_gi(r) for r in session.execute(query)], int(total)


def search_ic_layouts(
    session: Session, q: IcLayoutQuery, after: str, limit: int
) -> tuple[list[IcLayout], int]:
    t = ic_layouts
    conditions: list[Any] = []
    if q.text:
        conditions.append(t.c.name.contains(q.text, autoescape=True))
    if q.owner:
        conditions.append(t.c.owner_name.contains(q.owner, autoescape=True))
    total = session.execute(select(func.count()).select_from(t).where(*conditions)).scalar_one()
    if after:
        conditions.append(t.c.record_id > after)
    query = select(t).where(*conditions).order_by(t.c.record_id).limit(limit)
    return [row_to_ic_layout(r) for r in session.execute(query)], int(total)
