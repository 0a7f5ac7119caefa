"""covering item filter indexes: counts filtered by channel, cost class, service code or
tier are index-only scans

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 00:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The item columns searches filter on besides the index keys; INCLUDE (PostgreSQL only:
# SQLite ignores it) lets an index-only scan test them without visiting the table.
INCLUDED = ["channel", "cost_class", "service_code", "inst_tier"]
LIVE = sa.text("is_current")


def upgrade() -> None:
    with op.batch_alter_table("service_items", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_service_items_live_filter", postgresql_where=LIVE, sqlite_where=LIVE
        )
        batch_op.drop_index(
            "ix_service_items_live_institution", postgresql_where=LIVE, sqlite_where=LIVE
        )
        batch_op.create_index(
            "ix_service_items_live_filter",
            ["category", "inst_status", "institution_id"],
            unique=False,
            postgresql_include=INCLUDED,
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        )
        batch_op.create_index(
            "ix_service_items_live_institution",
            ["institution_id", "inst_status", "category"],
            unique=False,
            postgresql_include=INCLUDED,
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        )


def downgrade() -> None:
    with op.batch_alter_table("service_items", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_service_items_live_filter", postgresql_where=LIVE, sqlite_where=LIVE
        )
        batch_op.drop_index(
            "ix_service_items_live_institution", postgresql_where=LIVE, sqlite_where=LIVE
        )
        batch_op.create_index(
            "ix_service_items_live_filter",
            ["category", "inst_status", "institution_id"],
            unique=False,
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        )
        batch_op.create_index(
            "ix_service_items_live_institution",
            ["institution_id", "inst_status", "category"],
            unique=False,
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        )
