"""The kit's hot-read helpers: array literals, the versioned cache, compiled statements."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    make_url,
    select,
)

from puhui.kit.db import custom_plans, session_settings
from puhui.kit.statements import VersionedCache, fetch, text_array


def test_text_array_quotes_every_element() -> None:
    assert text_array(["a", 'b"c', "d\\e", "{x}", "a,b", ""]) == (
        '{"a","b\\"c","d\\\\e","{x}","a,b",""}'
    )


def test_a_cached_value_holds_only_for_its_version() -> None:
    cache: VersionedCache[int] = VersionedCache(size=2)
    cache.put("a", 7, 100)
    assert cache.get("a", 7) == 100
    assert cache.get("a", 8) is None  # a write committed since: counted again
    assert cache.get("b", 7) is None
    cache.put("b", 7, 1)
    cache.put("c", 7, 2)  # full: starts again empty, then holds the new value
    assert cache.get("a", 7) is None
    assert cache.get("c", 7) == 2


def test_fetch_runs_one_statement_object_for_any_parameters_on_sqlite() -> None:
    metadata = MetaData()
    t = Table("t", metadata, Column("id", Integer, primary_key=True), Column("name", String))
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    statement = select(t.c.id).where(t.c.name == bindparam("name")).order_by(t.c.id)
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"id": 1, "name": "x"}, {"id": 2, "name": "y"}])
        assert [r[0] for r in fetch(conn, statement, {"name": "y"})] == [2]
        assert [r[0] for r in fetch(conn, statement, {"name": "x"})] == [1]


def test_custom_plans_only_for_postgresql_and_once():
    url = custom_plans("postgresql://u:p@h:1/x")
    assert "plan_cache_mode" in url
    assert custom_plans(url) == url
    assert custom_plans("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_session_settings_add_each_setting_once_and_keep_the_others():
    url = session_settings(custom_plans("postgresql://u:p@h:1/x"), statement_timeout=5000)
    options = make_url(url).query["options"]
    assert options == "-c plan_cache_mode=force_custom_plan -c statement_timeout=5000"
    assert session_settings(url, statement_timeout=10) == url  # set already: unchanged
    assert session_settings("sqlite:////tmp/x.db", statement_timeout=1) == "sqlite:////tmp/x.db"
