"""Catalog storage: the SQLAlchemy tables.

Service areas and IPC fields live in their own tables (`institution_areas`,
`institution_ipc`); `institution_regions` holds, per institution, every region code whose
search finds it, so a region filter is one indexed equality. Free text is a `LIKE '%…%'` on
`search_text` (name + description); on PostgreSQL the migrations add pg_trgm GIN indexes,
which serve queries of three or more characters (Chinese included: the databases run with a
UTF-8 ctype). Two-character queries go to `search_bigrams`, where each adjacent pair is a
word, so they are indexed too. SQLite runs the same LIKEs without indexes.
"""

from __future__ import annotations

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
)

from puhui.kit.db import new_metadata
from puhui.kit.inbox import inbox_table
from puhui.kit.outbox import outbox_table

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
