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


# (name, key columns) of the two partial indexes this revision rebuilds.
INDEXES = [
    ("ix_service_items_live_filter", ["category", "inst_status", "institution_id"]),
    ("ix_service_items_live_institution", ["institution_id", "inst_status", "category"]),
]


def _rebuild(included: list[str]) -> None:
    extra = {"postgresql_include": included} if included else {}
    with op.batch_alter_table("service_items", schema=None) as batch_op:
        for name, columns in INDEXES:
            batch_op.drop_index(name, postgresql_where=LIVE, sqlite_where=LIVE)
            batch_op.create_index(
                name, columns, unique=False, postgresql_where=LIVE, sqlite_where=LIVE, **extra
            )


def upgrade() -> None:
    _rebuild(INCLUDED)


def downgrade() -> None:
    _rebuild([])
