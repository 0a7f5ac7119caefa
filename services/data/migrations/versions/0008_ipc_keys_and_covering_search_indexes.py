"""IPC prefix search by exact keys (patents.ipc_keys: text[] with a GIN index on PostgreSQL,
"|"-delimited text on SQLite) instead of the trigram index on ipc_codes; the province/date
and office/publication indexes include the record id (index-only page ids).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 00:30:00
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Every level of every code (section, class, subclass, main group, the code): as
# puhui.data.adapters.patents.ipc_keys, computed in SQL from the JSON list of codes.
BACKFILL_PG = """
UPDATE patents SET ipc_keys = COALESCE((
    SELECT array_agg(k ORDER BY first)
    FROM (
        SELECT k, min(n * 10 + lvl) AS first
        FROM json_array_elements_text(patents.ipc_codes::json) WITH ORDINALITY AS c(code, n),
        LATERAL (VALUES
            (1, left(code, 1)), (2, left(code, 3)), (3, left(code, 4)),
            (4, CASE WHEN strpos(code, '/') > 0 THEN left(code, strpos(code, '/')) END),
            (5, code)
        ) AS v(lvl, k)
        WHERE k IS NOT NULL AND k <> ''
        GROUP BY k
    ) AS keys
), '{}')
"""


def _keys(codes: list[str]) -> str:
    levels: dict[str, None] = {}
    for code in codes:
        found = [code[:1], code[:3], code[:4]]
        if "/" in code:
            found.append(code[: code.index("/") + 1])
        found.append(code)
        levels.update(dict.fromkeys(k for k in found if k))
    return "|" + "|".join(levels) + "|" if levels else ""


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE patents ADD COLUMN ipc_keys text[] NOT NULL DEFAULT '{}'")
        op.execute(BACKFILL_PG)
        op.execute("DROP INDEX IF EXISTS ix_patents_ipc_codes_trgm")
        op.execute("CREATE INDEX ix_patents_ipc_keys ON patents USING gin (ipc_keys)")
        op.execute("DROP INDEX IF EXISTS ix_patents_province_filing")
        op.execute(
            "CREATE INDEX ix_patents_province_filing ON patents "
            "(province_code, filing_date) INCLUDE (record_id)"
        )
        op.execute("DROP INDEX IF EXISTS ix_patents_office_publication")
        op.execute(
            "CREATE INDEX ix_patents_office_publication ON patents "
            "(office, publication_date) INCLUDE (record_id)"
        )
    else:  # the embedded SQLite database: small, filled row by row
        with op.batch_alter_table("patents", schema=None) as batch_op:
            batch_op.add_column(sa.Column("ipc_keys", sa.Text(), nullable=False, server_default=""))
        rows = bind.execute(sa.text("SELECT record_id, ipc_codes FROM patents")).all()
        for record_id, codes in rows:
            bind.execute(
                sa.text("UPDATE patents SET ipc_keys = :k WHERE record_id = :r"),
                {"k": _keys(json.loads(codes or "[]")), "r": record_id},
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_patents_ipc_keys")
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_patents_ipc_codes_trgm ON patents "
            "USING gin (ipc_codes gin_trgm_ops)"
        )
        for name, columns in (
            ("ix_patents_province_filing", "province_code, filing_date"),
            ("ix_patents_office_publication", "office, publication_date"),
        ):
            op.execute(f"DROP INDEX IF EXISTS {name}")
            op.execute(f"CREATE INDEX {name} ON patents ({columns})")
    with op.batch_alter_table("patents", schema=None) as batch_op:
        batch_op.drop_column("ipc_keys")
