"""Feedback storage: the SQLAlchemy tables (one metadata; migrations follow it) and the
helpers the SQL repositories share."""

from __future__ import annotations

import json

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
)
from sqlalchemy.orm import Session

from puhui.kit.db import new_metadata
from puhui.kit.inbox import inbox_table
from puhui.kit.outbox import outbox_table

metadata = new_metadata()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

cases = Table(
    "service_cases",
    metadata,
    Column("case_id", String(40), primary_key=True),
    Column("institution_id", String(64), nullable=False),
    Column("service_item_id", String(64), nullable=False),
    Column("person_id", String(80), nullable=False, default=""),
    Column("node_id", String(6), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("recorded_by", String(120), nullable=False, default=""),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("invitation_expires_at", DateTime(timezone=True)),
    Column("rated_stages", String(20), nullable=False, default=""),
    UniqueConstraint("institution_id", "request_id"),
    UniqueConstraint("token_hash"),
)

ratings = Table(
    "ratings",
    metadata,
    Column("rating_id", String(40), primary_key=True),
    Column("case_id", String(40), nullable=False),
    Column("stage", Integer, nullable=False),
    Column("channel", Integer, nullable=False),
    Column("level", Integer, nullable=False),
    Column("indicators", Text, nullable=False, default="{}"),
    Column("comment", Text, nullable=False, default=""),
    Column("real_name", Boolean, nullable=False, default=False),
    Column("rater", String(120), nullable=False, default=""),
    Column("late", Boolean, nullable=False, default=False),
    Column("flagged", Boolean, nullable=False, default=False),
    Column("excluded", Boolean, nullable=False, default=False),
    Column("rated_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("ticket_id", String(40), nullable=False, default=""),
    Column("institution_id", String(64), nullable=False),
    Column("service_item_id", String(64), nullable=False),
    Column("node_id", String(6), nullable=False),
    Column("kiosk_id", String(64)),
    Column("client_rating_id", String(64)),
    UniqueConstraint("case_id", "stage"),
    UniqueConstraint("kiosk_id", "client_rating_id"),
    Index("ix_ratings_institution_rated", "institution_id", "rated_at"),
    Index("ix_ratings_item_rated", "service_item_id", "rated_at"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", String(40), primary_key=True),
    Column("rating_id", String(40), nullable=False, unique=True),
    Column("institution_id", String(64), nullable=False),
    Column("service_item_id", String(64), nullable=False),
    Column("node_id", String(6), nullable=False),
    Column("state", Integer, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("deadline_working_days", Integer, nullable=False),
    Column("breached", Boolean, nullable=False, default=False),
    Column("real_name", Boolean, nullable=False, default=False),
    Column("history", Text, nullable=False, default="[]"),
    Column("revision", Integer, nullable=False, default=1),
    Index("ix_tickets_state_due", "state", "due_date"),
    Index("ix_tickets_institution_state", "institution_id", "state", "ticket_id"),
)

appeals = Table(
    "appeals",
    metadata,
    Column("appeal_id", String(40), primary_key=True),
    Column("rating_id", String(40), nullable=False, index=True),
    Column("grounds", String(20), nullable=False),
    Column("statement", Text, nullable=False, default=""),
    Column("decision", Integer, nullable=False),
    Column("filed_by", String(120), nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(120), nullable=False, default=""),
    Column("decided_at", DateTime(timezone=True)),
    Column("reason", Text, nullable=False, default=""),
)

reports = Table(
    "reports",
    metadata,
    Column("report_id", String(40), primary_key=True),
    Column("kind", Integer, nullable=False),
    Column("source", Integer, nullable=False),
    Column("category", String(64), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("text", Text, nullable=False),
    Column("group_id", String(40), nullable=False, index=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("point_id", String(64), nullable=False, server_default=""),
)

report_groups = Table(
    "report_groups",
    metadata,
    Column("group_id", String(40), primary_key=True),
    Column("kind", Integer, nullable=False),
    Column("category", String(64), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("representative_text", Text, nullable=False),
    Column("size", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_report_groups_scope", "kind", "category", "region_code", "group_id"),
)

# Read model of the catalog, built from its events.
catalog_institutions = Table(
    "catalog_institutions",
    metadata,
    Column("institution_id", String(64), primary_key=True),
    Column("region_code", String(6), nullable=False),
    Column("service_area", Text, nullable=False, default="[]"),
    Column("status", Integer, nullable=False),
    Column("revision", Integer, nullable=False, default=0),
)

catalog_items = Table(
    "catalog_items",
    metadata,
    Column("item_id", String(64), primary_key=True),
    Column("institution_id", String(64), nullable=False, index=True),
    Column("category", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("is_current", Boolean, nullable=False, default=True),
)

# Read model of identity: the persons registered at this node (PersonRegistered events), so
# a case is recorded only for a person who exists.
identity_persons = Table(
    "identity_persons",
    metadata,
    Column("person_id", String(64), primary_key=True),
)

# Satisfaction indices, maintained from feedback events (scope = "institution:<id>",
# "item:<id>" or "node:<id>"; period = "2026-11", "2026-Q4" or "2026").
satisfaction = Table(
    "satisfaction_index",
    metadata,
    Column("scope", String(80), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("rating_count", Integer, nullable=False, default=0),
    Column("satisfied_count", Integer, nullable=False, default=0),
    Column("bad_count", Integer, nullable=False, default=0),
    Column("tickets_on_time", Integer, nullable=False, default=0),
    Column("tickets_breached", Integer, nullable=False, default=0),
    Column("follow_ups", Integer, nullable=False, default=0),
    Column("appeals_filed", Integer, nullable=False, default=0),
    Column("appeals_upheld", Integer, nullable=False, default=0),
)


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _update(session: Session, table: Table, key: str, values: dict[str, object]) -> None:
    """UPDATE one row by its key, parameters bound at execution (the statement is cached)."""
    params = {k: v for k, v in values.items() if k != key}
    params["_key"] = values[key]
    session.execute(table.update().where(table.c[key] == bindparam("_key")), params)


class SqlStore:
    """A repository over one session (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session
