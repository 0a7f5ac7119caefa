"""How patent search statements are shaped for PostgreSQL (compiled, no database needed)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql

from puhui.data.adapters import search_sql as db
from puhui.data.domain import PatentQuery

PG = postgresql.psycopg.dialect()  # type: ignore[attr-defined]


def sql(statement: object) -> str:
    return " ".join(str(statement.compile(dialect=PG)).split())  # type: ignore[attr-defined]


def test_parameters_carry_the_values_and_the_shape_only_which_filters_are_present() -> None:
    shape, params = db._shape_and_params(
        PatentQuery(text="50%_off/", ipc_prefix="G06F 16/3", region_code="440300")
    )
    assert params == {
        "text": "%50\\%\\_off/%",
        "ipc_key": "G06F 16/",
        "ipc_text": '%"G06F 16/3%',  # the LIKE escape character is a backslash
        "region_prefix": "4403%",
    }
    assert (shape.text, shape.ipc, shape.region, shape.office) == (True, 2, 2, False)
    other, _ = db._shape_and_params(
        PatentQuery(text="无人机", ipc_prefix="H04L 9/2", region_code="320500")
    )
    assert other == shape  # one statement for both


def test_page_forms() -> None:
    ipc, _ = db._shape_and_params(PatentQuery(ipc_prefix="G06F 16/"))
    walked = sql(db._page_statement(ipc, False, True))
    assert "OFFSET" not in walked
    assert "LIMIT %(size)s" in walked
    gathered = sql(db._page_statement(ipc, False, True, few=True))
    assert "OFFSET" in gathered  # fenced: matches gathered, then sorted
    dates, _ = db._shape_and_params(PatentQuery(filing_from="2018-01-01", region_code="440000"))
    assert "OFFSET" in sql(db._page_statement(dates, True, False))
    text, _ = db._shape_and_params(PatentQuery(text="无人机"))
    plain = sql(db._page_statement(text, False, True))
    assert "JOIN" not in plain
    assert "data_versions" in plain


def test_statements_are_built_once_per_shape() -> None:
    shape, _ = db._shape_and_params(PatentQuery(applicant="华为"))
    assert db._page_statement(shape, False, True) is db._page_statement(shape, False, True)
    assert db._count_statement(shape) is db._count_statement(shape)


def test_year_walks_only_for_indexed_date_ranges_of_a_few_years() -> None:
    walk = db._year_walk
    assert walk(
        PatentQuery(region_code="440000", filing_from="2018-03-01", filing_to="2020-02-01")
    ) == [
        "2018",
        "2019",
        "2020",
    ]
    assert walk(
        PatentQuery(office="CN", published_from="2023-06-01", published_to="2023-06-30")
    ) == ["2023"]
    assert (
        walk(PatentQuery(region_code="440300", filing_from="2018-01-01", filing_to="2019-01-01"))
        == []
    )
    assert walk(PatentQuery(region_code="440000", filing_from="2018-01-01")) == []  # open end
    assert (
        walk(PatentQuery(office="CN", published_from="2000-01-01", published_to="2023-01-01")) == []
    )
    assert (
        walk(
            PatentQuery(
                text="电池", region_code="440000", filing_from="2018-01-01", filing_to="2019-01-01"
            )
        )
        == []
    )
    shape, params = db._shape_and_params(
        PatentQuery(region_code="440000", filing_from="2018-01-01", filing_to="2019-12-31")
    )
    assert shape.years == 2
    assert (params["year_0"], params["year_1"]) == ("2018", "2019")
    assert "UNION ALL" in sql(db._page_statement(shape, False, True))
    assert "UNION ALL" not in sql(db._page_statement(shape, False, True, few=True))
