"""identity persons read model (persons registered at this node)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_persons",
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_identity_persons")),
    )


def downgrade() -> None:
    op.drop_table("identity_persons")
