"""date ranges paged by walking each year's record ids in order: (province, filing year,
record id) and (office, publication year, record id) indexes, so "province + filing dates"
and "office + publication dates" pages merge a few index walks instead of sorting every match
(1M records: 440000 + 2018–2020 3.2 → 0.2 ms of execution)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 03:45:00
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_patents_province_filing_year ON patents "
        "(province_code, substr(filing_date, 1, 4), record_id) INCLUDE (filing_date)"
    )
    op.execute(
        "CREATE INDEX ix_patents_office_publication_year ON patents "
        "(office, substr(publication_date, 1, 4), record_id) INCLUDE (publication_date)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_patents_office_publication_year")
    op.execute("DROP INDEX ix_patents_province_filing_year")
