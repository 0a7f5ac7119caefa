"""IPC prefix search through a trigram index on patents.ipc_codes (PostgreSQL)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 22:50:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_patents_ipc_codes_trgm ON patents "
            "USING gin (ipc_codes gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_patents_ipc_codes_trgm")
