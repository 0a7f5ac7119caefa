"""A search that runs past PUHUI_DATA_SEARCH_TIMEOUT_MS in PostgreSQL is stopped there and
answered DEADLINE_EXCEEDED; the worker and the database backend are free again."""

from __future__ import annotations

import grpc
import psycopg
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import make_url

from puhui.data.tests.support import error_reason, serving_us_grants
from puhui.data.v1 import data_pb2

pytestmark = pytest.mark.integration


def timeouts() -> float:
    return REGISTRY.get_sample_value("puhui_data_search_timeouts_total", {"node": "000000"}) or 0


def test_a_search_past_the_time_limit_is_stopped_and_refused(database_url):
    plain = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    with serving_us_grants(database_url=database_url, search_timeout_ms=300) as (app, stub):
        search = data_pb2.SearchPatentsRequest(office="US", page_size=5)
        assert len(stub.SearchPatents(search, timeout=10).patents) == 5
        before = timeouts()
        # Another session holds the table: the search waits for it past its limit.
        with psycopg.connect(plain) as holder:
            holder.execute("LOCK TABLE patents IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(grpc.RpcError) as err:
                stub.SearchPatents(search, timeout=10)
            holder.rollback()
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "PUHUI_DATA_SEARCH_TIMEOUT_MS" in (err.value.details() or "")
        assert error_reason(err.value) == "TIME_LIMIT_EXCEEDED"
        assert timeouts() == before + 1
        # The same kind of limit holds for the other data sets' searches (one transaction).
        with psycopg.connect(plain) as holder:
            holder.execute("LOCK TABLE trademarks IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(grpc.RpcError) as err:
                stub.SearchTrademarks(data_pb2.SearchTrademarksRequest(office="CN"), timeout=10)
            holder.rollback()
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        # Once the table is free, searches answer again on the same connections.
        assert len(stub.SearchPatents(search, timeout=10).patents) == 5
        # Writes are not limited: they do not run on the searches' connections.
        assert app.search_db is not app.db


def test_the_search_pool_is_watched_beside_the_main_one(database_url):
    labels = {"node": "000000", "service": "data", "pool": "search_read"}
    with serving_us_grants(database_url=database_url) as (_, stub):
        stub.SearchPatents(data_pb2.SearchPatentsRequest(office="US"), timeout=10)
        assert REGISTRY.get_sample_value("puhui_db_pool_connections", labels) >= 1
    assert REGISTRY.get_sample_value("puhui_db_pool_connections", labels) is None
