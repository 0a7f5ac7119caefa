"""catalog version (bumped by every committed write) for exact cached totals; name index
covering the text-search columns

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 00:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LIVE = sa.text("is_current")
# Every table a search reads: a write to any of them may change a total.
SEARCHED = (
    "institutions",
    "institution_areas",
    "institution_ipc",
    "institution_regions",
    "service_items",
)


def upgrade() -> None:
    op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_version")),
    )
    op.execute("INSERT INTO catalog_version (id, value) VALUES (1, 1)")
    if op.get_bind().dialect.name != "postgresql":
        return
    # Deferred to COMMIT and once per transaction: the bump commits atomically with the
    # writes (a reader's snapshot sees both or neither), and the row is locked only while
    # committing, after every other lock the writer takes (no deadlock through it).
    op.execute(
        """
        CREATE FUNCTION catalog_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF current_setting('puhui.catalog_bumped', true) IS DISTINCT FROM
                    txid_current()::text THEN
                UPDATE catalog_version SET value = value + 1 WHERE id = 1;
                PERFORM set_config('puhui.catalog_bumped', txid_current()::text, true);
            END IF;
            RETURN NULL;
        END $$
        """
    )
    for table in SEARCHED:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER catalog_bump_version AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            f"EXECUTE FUNCTION catalog_bump_version()"
        )
        op.execute(
            f"CREATE TRIGGER catalog_bump_version_truncate AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump_version()"
        )
    # The page of a text search walks the names in order testing each entry's text: with
    # the text in the index that walk never visits the table.
    op.execute("DROP INDEX ix_service_items_live_name")
    op.execute(
        "CREATE INDEX ix_service_items_live_name ON service_items (name, item_id) "
        "INCLUDE (version, inst_status, search_text, search_bigrams) WHERE is_current"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_service_items_live_name")
        op.execute(
            "CREATE INDEX ix_service_items_live_name ON service_items (name, item_id) "
            "WHERE is_current"
        )
        for table in SEARCHED:
            op.execute(f"DROP TRIGGER catalog_bump_version ON {table}")
            op.execute(f"DROP TRIGGER catalog_bump_version_truncate ON {table}")
        op.execute("DROP FUNCTION catalog_bump_version()")
    op.drop_table("catalog_version")
