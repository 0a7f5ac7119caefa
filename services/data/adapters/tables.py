"""The data service's tables (SQLAlchemy Core) and the metadata migrations build from."""

from __future__ import annotations

from typing import Any

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
    false,
)
from sqlalchemy.dialects import postgresql

from puhui.kit.db import new_metadata
from puhui.kit.inbox import inbox_table
from puhui.kit.outbox import outbox_table

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
