"""The schema gate of readiness (puhui.kit.migrations.schema_mismatch): a service's code
refuses a database whose Alembic revision is behind or ahead of its history, and says which
and what to do. On SQLite files with the catalog's real history."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from puhui.kit import migrations


def test_only_services_with_a_history_are_gated() -> None:
    assert migrations.has_history("catalog")
    assert migrations.has_history("federation")
    assert not migrations.has_history("kit")
    assert not migrations.has_history("nosuchservice")


def test_behind_matching_and_ahead(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    (head,) = migrations.heads("catalog")
    empty = migrations.schema_mismatch("catalog", url)
    assert empty is not None
    assert empty.startswith("schema behind the code: the database is at revision none")
    assert "run `puhui migrate catalog` first" in empty

    migrations.upgrade("catalog", url, "0001")
    behind = migrations.schema_mismatch("catalog", url)
    assert behind is not None
    assert f"at revision 0001, this release needs {head}" in behind

    migrations.upgrade("catalog", url)
    assert migrations.schema_mismatch("catalog", url) is None

    engine = sa.create_engine(url)
    with engine.begin() as conn:  # a newer release's migration ran on this database
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    ahead = migrations.schema_mismatch("catalog", url)
    assert ahead is not None
    assert ahead.startswith("schema ahead of the code: the database is at revision 9999")
    assert f"its head is {head}" in ahead
