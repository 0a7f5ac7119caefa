"""How the read statements are shaped for PostgreSQL (compiled, no database needed)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql

from puhui.catalog.adapters import db

PG = postgresql.psycopg.dialect()  # type: ignore[attr-defined]


def sql(statement: object) -> str:
    return str(statement.compile(dialect=PG))  # type: ignore[attr-defined]


def test_text_array_quotes_every_element():
    assert db._text_array(["a", 'b"c', "d\\e", "{x}", "a,b", ""]) == (
        '{"a","b\\"c","d\\\\e","{x}","a,b",""}'
    )


def test_one_value_is_bound_alone_many_as_one_array():
    params: dict[str, object] = {}
    assert db._put(params, "categories", [7]) == 1
    assert params["categories"] == 7
    assert db._put(params, "tiers", [1, 2]) == 2
    assert params["tiers"] == [1, 2]
    assert db._put(params, "region_ids", []) == 2


def test_a_single_category_is_an_equality_so_the_name_ordered_index_serves_it():
    page, _ = db._item_search(True, "", 1, False, 2, False, False, 0, 0, False, 0, False)
    text = sql(page)
    assert "service_items.category = %(categories)s" in text
    assert "service_items.channel = ANY (%(channels)s" in text


def test_patterns_and_lists_are_parameters_so_the_text_is_one_per_shape():
    page, _ = db._institution_search(True, "like", 2, 0, 0, True, False, 0, True)
    text = sql(page)
    for name in ("pattern", "region_ids", "size", "ipc_pattern", "after_name", "after_id"):
        assert f"%({name})s" in text
    assert db._institution_search(True, "like", 2, 0, 0, True, False, 0, True)[0] is page


def test_custom_plans_only_for_postgresql_and_once():
    url = db.custom_plans("postgresql://u:p@h:1/x")
    assert "plan_cache_mode" in url
    assert db.custom_plans(url) == url
    assert db.custom_plans("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
