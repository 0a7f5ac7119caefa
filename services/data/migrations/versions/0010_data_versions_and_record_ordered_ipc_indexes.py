"""data versions (one row per data set, bumped at the commit of every write to it) so a
search can reuse counts and facets computed at the version it reads its page at; IPC keys
beside the record id (and the province) in B-tree indexes, so a page of an IPC (or province
+ IPC) search walks record ids in order inside one index (index-only) instead of reading
every match from the table to sort them (1M records: G06F 16/ 4.0 → 1.4 ms, 410000 + A01B
12.7 → 0.2 ms)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 03:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = {
    "patents": "patents",
    "trademarks": "trademarks",
    "geographical_indications": "geographical_indications",
    "ic_layouts": "ic_layouts",
}


def upgrade() -> None:
    op.create_table(
        "data_versions",
        sa.Column("data_set", sa.String(32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("data_set", name=op.f("pk_data_versions")),
    )
    for data_set in TABLES:
        op.execute(f"INSERT INTO data_versions (data_set, value) VALUES ('{data_set}', 1)")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_patents_record_ipc_keys ON patents (record_id) INCLUDE (ipc_keys)")
    op.execute(
        "CREATE INDEX ix_patents_province_record_ipc_keys ON patents (province_code, record_id) "
        "INCLUDE (ipc_keys)"
    )
    # Deferred to COMMIT and once per transaction and data set (as the catalog's version):
    # the bump commits atomically with the writes — a reader's snapshot sees both or
    # neither — and the row is locked only while committing, after every other lock the
    # writer takes, so two writers serialise there and cannot deadlock through it.
    op.execute(
        """
        CREATE FUNCTION data_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            flag text := 'puhui.bumped_' || TG_ARGV[0];
        BEGIN
            IF current_setting(flag, true) IS DISTINCT FROM txid_current()::text THEN
                UPDATE data_versions SET value = value + 1 WHERE data_set = TG_ARGV[0];
                PERFORM set_config(flag, txid_current()::text, true);
            END IF;
            RETURN NULL;
        END $$
        """
    )
    for data_set, table in TABLES.items():
        op.execute(
            f"CREATE CONSTRAINT TRIGGER data_bump_version AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            f"EXECUTE FUNCTION data_bump_version('{data_set}')"
        )
        op.execute(
            f"CREATE TRIGGER data_bump_version_truncate AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION data_bump_version('{data_set}')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES.values():
            op.execute(f"DROP TRIGGER data_bump_version ON {table}")
            op.execute(f"DROP TRIGGER data_bump_version_truncate ON {table}")
        op.execute("DROP FUNCTION data_bump_version()")
        op.execute("DROP INDEX ix_patents_province_record_ipc_keys")
        op.execute("DROP INDEX ix_patents_record_ipc_keys")
    op.drop_table("data_versions")
