"""Province and IPC keys in one GIN index (btree_gin, PostgreSQL): "province + IPC prefix"
intersects inside one index scan instead of a BitmapAnd of two large bitmaps (~40 ms → ~3 ms
at a million records); the index also serves IPC keys alone, so it replaces
ix_patents_ipc_keys.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 01:20:00
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_patents_province_ipc_keys ON patents "
            "USING gin (province_code, ipc_keys)"
        )
        op.execute("DROP INDEX IF EXISTS ix_patents_ipc_keys")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX IF NOT EXISTS ix_patents_ipc_keys ON patents USING gin (ipc_keys)")
        op.execute("DROP INDEX IF EXISTS ix_patents_province_ipc_keys")
