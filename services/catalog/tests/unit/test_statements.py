"""How the read statements are shaped for PostgreSQL (compiled, no database needed)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql

from puhui.catalog.adapters import search as db

PG = postgresql.psycopg.dialect()  # type: ignore[attr-defined]


def sql(statement: object) -> str:
    return str(statement.compile(dialect=PG))  # type: ignore[attr-defined]


def test_one_value_is_bound_alone_many_as_one_array():
    params: dict[str, object] = {}
    assert db._put(params, "categories", [7]) == 1
    assert params["categories"] == 7
    assert db._put(params, "tiers", [1, 2]) == 2
    assert params["tiers"] == [1, 2]
    assert db._put(params, "region_ids", []) == 2


def test_a_single_category_is_an_equality_so_the_name_ordered_index_serves_it():
    page = db._item_search(True, "", 1, False, 2, False, False, 0, 0, False, 0, False).page
    text = sql(page)
    assert "service_items.category = %(categories)s" in text
    assert "service_items.channel = ANY (%(channels)s" in text


def test_patterns_and_lists_are_parameters_so_the_text_is_one_per_shape():
    page = db._institution_search(True, "like", 2, 0, 0, True, False, 0, True).page
    text = sql(page)
    for name in ("pattern", "region_ids", "size", "ipc_pattern", "after_name", "after_id"):
        assert f"%({name})s" in text
    assert db._institution_search(True, "like", 2, 0, 0, True, False, 0, True).page is page


def test_total_cache_answers_only_for_the_version_counted_at_and_stays_bounded():
    totals = db.TotalCache(size=2)
    totals.put(("a",), 7, 120)
    assert totals.get(("a",), 7) == 120
    assert totals.get(("a",), 8) is None  # the catalog changed since
    assert totals.get(("b",), 7) is None
    totals.put(("b",), 7, 3)
    totals.put(("c",), 7, 4)  # full: starts again
    assert totals.get(("a",), 7) is None
    assert totals.get(("c",), 7) == 4


def test_total_key_leaves_out_page_size_and_position_but_not_filters():
    statements = db._item_search(True, "like", 1, False, 0, False, False, 0, 0, False, 0, True)
    base = {"pattern": "%检索%", "categories": 1, "size": 20}
    key = db._total_key(statements, base)
    assert key == db._total_key(
        statements, {**base, "size": 50, "after_name": "x", "after_id": "y"}
    )
    assert key != db._total_key(statements, {**base, "pattern": "%维权%"})
    assert db._total_key(statements, {"ids": ["a", "b"]}) == db._total_key(
        statements, {"ids": ["a", "b"]}
    )


def test_total_key_digests_long_lists():
    statements = db._item_search(True, "", 0, False, 0, False, False, 2, 0, False, 0, False)
    ids = [f"440000-{n:06d}" for n in range(3000)]
    key = db._total_key(statements, {"region_ids": ids})
    assert key == db._total_key(statements, {"region_ids": list(ids)})
    assert key != db._total_key(statements, {"region_ids": [*ids[:-1], "440000-999999"]})
    assert len(repr(key)) < 500
