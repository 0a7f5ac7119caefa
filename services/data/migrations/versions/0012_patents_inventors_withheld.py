"""patents.inventors_withheld: inventors who asked not to be named (CNIPA 请求不公布姓名)
are a flag on the record, not a name among the inventors

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 23:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "patents",
        sa.Column("inventors_withheld", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("patents") as batch:
        batch.drop_column("inventors_withheld")
