"""Federation tables: the node registry, join codes, the trust anchor, the publication
queue of signed key-set statements, and the national read models."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from puhui.kit.inbox import inbox_table
from puhui.kit.outbox import outbox_table

metadata = MetaData()
_Id = BigInteger().with_variant(Integer(), "sqlite")

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

nodes = Table(
    "nodes",
    metadata,
    Column("node_id", String(6), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("endpoints_json", Text, nullable=False, default="[]"),
    Column("jwks_json", Text, nullable=False),
    # active | removed
    Column("status", String(20), nullable=False),
    Column("revision", BigInteger, nullable=False),
    # Time of the key set's source (join or KeySetChanged event): older events are ignored.
    Column("jwks_time", DateTime(timezone=True), nullable=False),
    Column("statement", Text, nullable=False),
    Column("statement_expires_at", DateTime(timezone=True), nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("removed_reason", Text, nullable=True),
)

join_codes = Table(
    "join_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("node_id", String(6), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

anchor_keys = Table(
    "anchor_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    # Only on an embedded hub (no PUHUI_FEDERATION_ANCHOR_KEY): the generated key.
    Column("private_pem", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# The keys topic is compacted and carries bare JWS values keyed by node id, so it has its
# own small outbox (same guarantees: written in the registry's transaction, relayed later).
key_publications = Table(
    "key_publications",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("node_id", String(6), nullable=False),
    Column("statement", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Index("ix_key_publications_pending", "published_at", "id"),
)

# -- national read models ----------------------------------------------------------------
national_institutions = Table(
    "national_institutions",
    metadata,
    Column("institution_id", String(64), primary_key=True),
    Column("owning_node", String(6), nullable=False, index=True),
    Column("name", String(300), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("region_code", String(6), nullable=False, index=True),
    Column("status", Integer, nullable=False),
    Column("ipc_fields", Text, nullable=False, default=""),
    Column("revision", BigInteger, nullable=False),
    Column("body", LargeBinary, nullable=False),
)

national_items = Table(
    "national_items",
    metadata,
    Column("item_id", String(64), primary_key=True),
    Column("owning_node", String(6), nullable=False, index=True),
    Column("institution_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
)

national_cases = Table(
    "national_cases",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("node_id", String(6), nullable=False, index=True),
)

national_ratings = Table(
    "national_ratings",
    metadata,
    Column("rating_id", String(64), primary_key=True),
    Column("node_id", String(6), nullable=False, index=True),
    Column("level", Integer, nullable=False),
    Column("excluded", Boolean, nullable=False, default=False),
)

national_tickets = Table(
    "national_tickets",
    metadata,
    Column("ticket_id", String(64), primary_key=True),
    Column("node_id", String(6), nullable=False, index=True),
    Column("state", Integer, nullable=False),
    Column("breached", Boolean, nullable=False, default=False),
)
