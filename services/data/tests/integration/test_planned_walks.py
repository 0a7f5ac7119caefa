"""A search whose cached count says it walks over many matches reads its page on the walk
connections (planned once, only index walks in record id order): the same pages, counts and
facets as the search planned for its values."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from puhui.common.v1 import common_pb2
from puhui.data.adapters import search as data_search
from puhui.data.adapters.search import SearchCache, SqlPatentSearch, planned_walk
from puhui.data.domain import PatentQuery
from puhui.data.servicer import patent_query
from puhui.data.tests.support import serving_us_grants
from puhui.data.v1 import data_pb2

pytestmark = pytest.mark.integration

WALK_POOL = {"node": "000000", "service": "data", "pool": "walk_read"}

WALKS = [
    data_pb2.SearchPatentsRequest(ipc_prefix="G06F", page_size=4),  # an IPC key
    data_pb2.SearchPatentsRequest(ipc_prefix="G06F 16/", office="US", page_size=4),
    data_pb2.SearchPatentsRequest(  # a year walk
        office="US",
        publication_date=common_pb2.DateRange(**{"from": "2022-01-01", "to": "2024-12-31"}),
        page_size=4,
    ),
    data_pb2.SearchPatentsRequest(
        ipc_prefix="G", facets=["ipc_section", "year", "province"], page_size=4
    ),
]


def walk_pages(stub, request: data_pb2.SearchPatentsRequest, count: int = 3):
    """Up to `count` pages of `request`, following its page tokens."""
    found = []
    current = data_pb2.SearchPatentsRequest()
    current.CopyFrom(request)
    for _ in range(count):
        response = stub.SearchPatents(current, timeout=10)
        found.append(response)
        if not response.next_page_token:
            break
        current.page_token = response.next_page_token
    return found


def test_known_walks_read_their_pages_on_the_walk_connections(database_url, monkeypatch):
    # 129 records: call a walk "over many matches" from 3 up (2,000 at scale).
    monkeypatch.setattr(data_search, "FEW_MATCHES", 3)
    with serving_us_grants(database_url=database_url) as (app, stub):
        assert app.walk_db is not None
        # Its connections are opened when first needed: none before a walk is known.
        assert REGISTRY.get_sample_value("puhui_db_pool_connections", WALK_POOL) == 0
        walk_db = app.reads.walk_db
        for request in WALKS:
            query = patent_query(request, 200)
            assert not planned_walk(query, app.reads.search_cache, 100)
            app.reads.walk_db = None  # every page planned for its values
            planned = walk_pages(stub, request)
            app.reads.walk_db = walk_db
            assert len(planned) >= 2, request
            # The first page counted the matches: the pages are read on the walk connections.
            assert planned_walk(query, app.reads.search_cache, 100), request
            assert walk_pages(stub, request) == planned, request
        assert REGISTRY.get_sample_value("puhui_db_pool_connections", WALK_POOL) >= 1
        with app.walk_db.read_connection() as connection:
            show = {
                name: connection.execute(text(f"SHOW {name}")).scalar_one()
                for name in ("plan_cache_mode", "enable_seqscan", "enable_sort", "jit")
            }
            assert show == {
                "plan_cache_mode": "force_generic_plan",
                "enable_seqscan": "off",
                "enable_sort": "off",
                "jit": "off",
            }
            assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "5s"


def test_a_walk_connection_hands_back_what_is_not_a_known_walk(database_url, monkeypatch):
    monkeypatch.setattr(data_search, "FEW_MATCHES", 3)
    with serving_us_grants(database_url=database_url) as (app, _):
        assert app.walk_db is not None
        query = PatentQuery(ipc_prefix="G06F")
        with app.search_db.read_connection() as connection:
            expected = SqlPatentSearch(connection).search(query, [], "", 4)
        # No count cached: the walk connection reads nothing itself (it could not: no
        # table is found on it here).
        for cache in (SearchCache(), None):
            with app.walk_db.read_connection() as connection:
                connection.execute(text("SET search_path = nowhere"))
                try:
                    got = SqlPatentSearch(connection).search(
                        query, [], "", 4, cache=cache, elsewhere=app.search_db.read_connection
                    )
                finally:
                    connection.execute(text("RESET search_path"))
            assert got == expected


def test_planned_walks_can_be_turned_off(database_url):
    with serving_us_grants(database_url=database_url, planned_walks=False) as (app, stub):
        assert app.walk_db is None
        assert stub.SearchPatents(WALKS[0], timeout=10).patents
