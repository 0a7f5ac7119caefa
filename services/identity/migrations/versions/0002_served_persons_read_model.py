"""served persons read model (which institutions served which person)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "served_persons",
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("first_served_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "institution_id", name=op.f("pk_served_persons")),
    )


def downgrade() -> None:
    op.drop_table("served_persons")
