"""The runbooks' steps that can run on one machine, executed as written.

A runbook marks a runnable block with `<!-- runbook-test: NAME -->` right before a ```sh fence;
these tests run that exact text with bash. The backup/restore drill uses the real PostgreSQL of
`make up` and a real catalog server: backup -> wipe -> restore -> the catalog answers with the
same data.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from puhui.catalog.server import build
from puhui.catalog.tests.support import GD_ADMIN, RoleTokens, institution
from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from puhui.kit import migrations
from puhui.kit.testing import bearer, running, temporary_database

ROOT = Path(__file__).resolve().parent.parent
OPS = ROOT / "docs" / "ops"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
BLOCK = re.compile(r"<!-- runbook-test: (?P<name>[\w-]+) -->\s*```sh\n(?P<body>.*?)```", re.S)


def runbook_blocks(name: str) -> dict[str, str]:
    blocks = {m["name"]: m["body"] for m in BLOCK.finditer((OPS / name).read_text())}
    assert blocks, f"{name} has no runbook-test blocks"
    return blocks


def run_block(body: str, env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", body],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, f"runbook step failed:\n{body}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_every_runbook_exists_and_the_index_links_them():
    index = (OPS / "README.md").read_text()
    for page in (
        "join-a-node.md",
        "rotate-node-keys.md",
        "backup-restore.md",
        "upgrade.md",
        "kafka-outage.md",
        "remove-a-node.md",
    ):
        assert (OPS / page).exists(), page
        assert f"({page})" in index, page


# -- backup and restore -----------------------------------------------------------------------


@pytest.fixture
def catalog_database(postgres_admin_url: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, "backup") as url:
        yield url


def _snapshot(stub: catalog_pb2_grpc.CatalogServiceStub, ids: list[str]) -> list[bytes]:
    """What a user sees: each institution as the service returns it, byte for byte."""
    return [
        stub.GetInstitution(
            catalog_pb2.GetInstitutionRequest(institution_id=i),
            metadata=bearer(GD_ADMIN),
            timeout=10,
        ).SerializeToString(deterministic=True)
        for i in ids
    ]


@pytest.mark.integration
def test_backup_wipe_restore_and_the_catalog_answers_with_the_same_data(
    catalog_database: str, postgres_admin_url: str, tmp_path: Path
):
    if not (PG_BIN / "pg_dump").exists():
        pytest.fail("pg_dump 15 missing: `make up` installs postgresql-15", pytrace=False)
    blocks = runbook_blocks("backup-restore.md")
    db_name = make_url(catalog_database).database
    assert db_name
    env = {
        "SERVICE": "catalog",
        "DB_URL": libpq(catalog_database),
        "BACKUP_DIR": str(tmp_path / "backups"),
        "ADMIN_URL": libpq(postgres_admin_url),
        "TARGET_DB": db_name,  # replacing the lost live database, named explicitly
        "PG_BIN": str(PG_BIN),
    }

    def serve():  # the catalog on this database, as a node runs it
        return running(
            build(verifier=RoleTokens(), node_id="440000", database_url=catalog_database)
        )

    # 1. data written through the service
    with serve() as host, grpc.insecure_channel(host.address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        created = [
            stub.CreateInstitution(
                catalog_pb2.CreateInstitutionRequest(institution=institution(name=name)),
                metadata=bearer(GD_ADMIN),
                timeout=10,
            )
            for name in ("深圳市知识产权保护中心", "广州市知识产权公共服务中心", "佛山市专利服务站")
        ]
        ids = [c.institution_id for c in created]
        stub.ApproveInstitution(
            catalog_pb2.ChangeInstitutionStatusRequest(institution_id=ids[0], reason="ok"),
            metadata=bearer(GD_ADMIN),
            timeout=10,
        )
        before = _snapshot(stub, ids)

    # 2. backup, as the runbook says
    dump = Path(run_block(blocks["backup"], env, tmp_path).strip().splitlines()[-1])
    assert dump.exists()
    assert dump.with_name(dump.name + ".sha256").exists()
    # personal data: readable by the owner only
    for path in (dump, dump.with_name(dump.name + ".toc"), dump.with_name(dump.name + ".sha256")):
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert dump.parent.stat().st_mode & 0o777 == 0o700

    # 3. disaster: the database is gone
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{db_name}" WITH (FORCE)'))
        assert (
            conn.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": db_name}
            ).scalar_one()
            == 0
        )
    admin.dispose()

    # 4. restore, as the runbook says
    run_block(blocks["restore"], {**env, "DUMP": str(dump)}, tmp_path)

    # 5. the service answers with the same data (and keeps working)
    with serve() as host, grpc.insecure_channel(host.address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        assert _snapshot(stub, ids) == before
        again = stub.CreateInstitution(
            catalog_pb2.CreateInstitutionRequest(
                institution=institution(name="东莞市知识产权服务中心")
            ),
            metadata=bearer(GD_ADMIN),
            timeout=10,
        )
        assert again.institution_id not in ids


@pytest.mark.integration
def test_restore_refuses_a_corrupted_dump(
    catalog_database: str, postgres_admin_url: str, tmp_path: Path
):
    blocks = runbook_blocks("backup-restore.md")
    db_name = make_url(catalog_database).database
    assert db_name
    env = {
        "SERVICE": "catalog",
        "DB_URL": libpq(catalog_database),
        "BACKUP_DIR": str(tmp_path),
        "ADMIN_URL": libpq(postgres_admin_url),
        "TARGET_DB": db_name,
        "PG_BIN": str(PG_BIN),
    }
    migrations.upgrade("catalog", catalog_database)  # the schema the dump must carry
    dump = Path(run_block(blocks["backup"], env, tmp_path).strip().splitlines()[-1])
    with dump.open("r+b") as f:
        f.seek(100)
        f.write(b"\0" * 16)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", blocks["restore"]],
        capture_output=True,
        text=True,
        env={**os.environ, **env, "DUMP": str(dump)},
        check=False,
    )
    assert result.returncode != 0
    # the checksum stopped it before anything was dropped
    engine = create_engine(catalog_database)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    engine.dispose()


AFTER_THE_DUMP = text("SELECT to_regclass('written_after_the_dump')")


@pytest.mark.integration
def test_the_restore_script_goes_into_a_scratch_database_unless_told(
    catalog_database: str, postgres_admin_url: str, tmp_path: Path
):
    """The drill by default: the dump lands in <SERVICE>_drill and the live database keeps
    what it had, even rows written after the dump."""
    blocks = runbook_blocks("backup-restore.md")
    service = f"catalog{secrets.token_hex(4)}"  # the drill database's name is per service
    env = {
        "SERVICE": service,
        "DB_URL": libpq(catalog_database),
        "BACKUP_DIR": str(tmp_path),
        "ADMIN_URL": libpq(postgres_admin_url) + "?connect_timeout=10",
        "PG_BIN": str(PG_BIN),
    }
    migrations.upgrade("catalog", catalog_database)
    dump = Path(run_block(blocks["backup"], env, tmp_path).strip().splitlines()[-1])
    live = create_engine(catalog_database)
    with live.begin() as conn:
        conn.execute(text("CREATE TABLE written_after_the_dump (id int)"))
    drill = run_block(blocks["restore"], {**env, "DUMP": str(dump)}, tmp_path).split()[-1]
    assert drill == f"{service}_drill"
    drill_url = make_url(catalog_database).set(database=drill)
    restored = create_engine(drill_url)
    try:
        with restored.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
            assert (
                conn.execute(text("SELECT to_regclass('written_after_the_dump')")).scalar() is None
            )
        with live.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('written_after_the_dump')")).scalar()
    finally:
        restored.dispose()
        live.dispose()
        admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{drill}" WITH (FORCE)'))
        admin.dispose()


# -- certificates (join a node, rotate node keys) ---------------------------------------------


def test_join_and_rotation_certificate_steps_run_as_written(tmp_path: Path):
    join = runbook_blocks("join-a-node.md")
    rotate = runbook_blocks("rotate-node-keys.md")
    env = {
        "PUHUI_PYTHON": str(ROOT / ".venv" / "bin" / "python"),
        "CA_DIR": str(tmp_path / "ca"),
        "NODE": "440000",
        "NODE_DNS": "grpc.440000.nodes.example.cn",
        "OUT": str(tmp_path / "440000"),
    }
    run_block(join["trust-anchor"], env, tmp_path)
    run_block(join["issue-certificate"], env, tmp_path)
    first = x509.load_pem_x509_certificate((tmp_path / "440000" / "node-440000.crt").read_bytes())
    ca = x509.load_pem_x509_certificate((tmp_path / "ca" / "ca.crt").read_bytes())
    first.verify_directly_issued_by(ca)
    names = first.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "grpc.440000.nodes.example.cn" in names.get_values_for_type(x509.DNSName)

    out = run_block(rotate["reissue"], env, tmp_path)
    second = x509.load_pem_x509_certificate((tmp_path / "440000" / "node-440000.crt").read_bytes())
    assert second.serial_number != first.serial_number
    second.verify_directly_issued_by(ca)
    assert "node 440000" in out
    key_mode = (tmp_path / "440000" / "node-440000.key").stat().st_mode & 0o777
    assert key_mode == 0o600
