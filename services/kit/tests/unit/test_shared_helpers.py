"""The kit's one home for helpers the services used to copy: times, LIKE escaping, the
PostgreSQL check, the next-page token, region prefixes and the test helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import grpc
import pytest
from sqlalchemy import column, create_engine, select, text
from sqlalchemy.orm import Session

from puhui.kit import testing
from puhui.kit.db import LIKE_ESCAPE, is_postgresql, like_escape
from puhui.kit.pagination import page_request
from puhui.kit.times import aware, aware_or_none
from puhui.refdata.divisions import region_prefix


def test_aware_attaches_utc_to_a_naive_value_and_keeps_an_aware_one() -> None:
    naive = datetime(2026, 1, 2, 3, 4, 5)
    assert aware(naive) == naive.replace(tzinfo=UTC)
    east8 = datetime(2026, 1, 2, 11, 4, 5, tzinfo=timezone(timedelta(hours=8)))
    assert aware(east8) is east8
    assert aware_or_none(None) is None


def test_like_escape_matches_wildcards_literally() -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        for needle, haystack, expected in [
            ("50%", "a 50% cut", True),
            ("50%", "a 500 cut", False),
            ("a_b", "xa_by", True),
            ("a_b", "xacby", False),
            ("c\\d", "c\\d", True),
        ]:
            pattern = f"%{like_escape(needle)}%"
            statement = select(column("v").like(pattern, escape=LIKE_ESCAPE)).select_from(
                text("(SELECT :v AS v)")
            )
            assert conn.execute(statement, {"v": haystack}).scalar_one() == expected, needle


def test_is_postgresql_answers_for_sessions_connections_and_engines() -> None:
    engine = create_engine("sqlite://")
    assert not is_postgresql(engine)
    with engine.connect() as conn:
        assert not is_postgresql(conn)
    with Session(engine) as session:
        assert not is_postgresql(session)


def test_token_after_is_empty_on_a_short_page_and_decodes_to_the_last_key() -> None:
    page = page_request(2, "", {"f": 1})
    assert page.token_after(["a"], str) == ""
    assert page.token_after([], str) == ""
    token = page.token_after(["a", "b"], str.upper)
    assert token == page.next_token("B")
    assert page_request(2, token, {"f": 1}).after == "B"


@pytest.mark.parametrize(
    ("code", "prefix"), [("440000", "44"), ("440300", "4403"), ("440305", "440305")]
)
def test_region_prefix(code: str, prefix: str) -> None:
    assert region_prefix(code) == prefix


def test_bearer_metadata() -> None:
    assert testing.bearer("t") == (("authorization", "Bearer t"),)


def test_violations_of_a_call_without_details_is_empty() -> None:
    class Failed(grpc.RpcError, grpc.Call):  # type: ignore[misc]
        def trailing_metadata(self):  # type: ignore[no-untyped-def]
            return ()

        def code(self):  # type: ignore[no-untyped-def]
            return grpc.StatusCode.INVALID_ARGUMENT

        def details(self):  # type: ignore[no-untyped-def]
            return "bad"

    assert testing.violations(Failed()) == {}


def test_eventually_returns_the_first_truthy_answer_and_fails_on_the_deadline() -> None:
    answers = iter([None, 0, "", "done"])
    assert testing.eventually(lambda: next(answers), timeout=5, interval=0) == "done"

    def broken() -> None:
        raise ValueError("still down")

    with pytest.raises(AssertionError) as info:
        testing.eventually(broken, timeout=0.05, interval=0.01, retry_on=(ValueError,))
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(ValueError, match="still down"):  # not retried unless asked
        testing.eventually(broken, timeout=5, interval=0.01)
    with pytest.raises(AssertionError, match="last: 0"):
        testing.eventually(lambda: 0, timeout=0.05, interval=0.01)
