"""Drop patent_ipc: filled on every import but read by nothing (IPC prefix search uses the
trigram index on patents.ipc_codes since 0005)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 23:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patent_ipc", schema=None) as batch_op:
        batch_op.drop_index("ix_patent_ipc_record_id")
        batch_op.drop_index(
            "ix_patent_ipc_code_pattern", postgresql_ops={"ipc_code": "varchar_pattern_ops"}
        )
    op.drop_table("patent_ipc")


def downgrade() -> None:
    op.create_table(
        "patent_ipc",
        sa.Column("ipc_code", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("ipc_code", "record_id", name=op.f("pk_patent_ipc")),
    )
    with op.batch_alter_table("patent_ipc", schema=None) as batch_op:
        batch_op.create_index(
            "ix_patent_ipc_code_pattern",
            ["ipc_code"],
            unique=False,
            postgresql_ops={"ipc_code": "varchar_pattern_ops"},
        )
        batch_op.create_index("ix_patent_ipc_record_id", ["record_id"], unique=False)
