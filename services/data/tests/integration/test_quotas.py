"""Quotas in Redis through a real gRPC server: metadata on every response, RESOURCE_EXHAUSTED
with RetryInfo, anonymous callers per address, export records per day."""

from __future__ import annotations

import uuid

import grpc
import pytest
from prometheus_client import REGISTRY

from puhui.data.tests.support import error_reason, retry_delay, serving_us_grants
from puhui.data.v1 import data_pb2
from puhui.kit.testing import bearer

pytestmark = pytest.mark.integration

NOW = 1_800_000_010.0  # 50 s before a minute ends; fixed so windows cannot roll mid-test


@pytest.fixture
def limited(database_url, redis_url):
    with serving_us_grants(
        clock=lambda: NOW,
        database_url=database_url,
        redis_url=redis_url,
        quota_limits="anonymous=3/10,innovator=6/30,institution=50/1000,node=100/100000",
        quota_namespace=f"test:data:quota:{uuid.uuid4().hex}",
    ) as (_, stub):
        yield stub


def refusals(quota: str) -> float:
    """puhui_data_quota_rejections_total{quota=...} summed over nodes, from the registry."""
    return sum(
        s.value
        for family in REGISTRY.collect()
        if family.name == "puhui_data_quota_rejections"
        for s in family.samples
        if s.name.endswith("_total") and s.labels.get("quota") == quota
    )


def test_requests_per_minute_with_metadata_and_retry_info(limited):
    stub = limited
    refused_before = refusals("requests_per_minute")
    request = data_pb2.GetPatentRequest(number="US11803561B1")
    remaining = []
    for _ in range(3):
        reply, call = stub.GetPatent.with_call(request, timeout=10)
        assert reply.title == "Approximation query"
        headers = dict(call.initial_metadata())
        assert headers["ratelimit-limit"] == "3"
        assert headers["ratelimit-reset"] == "50"
        assert headers["ratelimit-records-limit"] == "10"
        left = headers["ratelimit-remaining"]
        assert headers["x-throttling-control"].endswith(f"(requests={left}/3, records=10/10)")
        remaining.append(headers["ratelimit-remaining"])
    assert remaining == ["2", "1", "0"]
    with pytest.raises(grpc.RpcError) as err:
        stub.GetPatent(request, timeout=10)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert retry_delay(err.value) == 50
    assert refusals("requests_per_minute") == refused_before + 1
    # A signed-in innovator has a window of its own and a higher limit.
    _, call = stub.GetPatent.with_call(request, metadata=bearer("innovator-token"), timeout=10)
    assert dict(call.initial_metadata())["ratelimit-remaining"] == "5"


def test_export_records_per_day(limited):
    stub = limited
    search = data_pb2.SearchPatentsRequest(office="US")
    # institution: 1,000 records a day; the 129 US grants fit, the trailer says what is left.
    call = stub.ExportPatents(
        data_pb2.ExportPatentsRequest(search=search, chunk_size=50),
        metadata=bearer("staff-token"),
        timeout=30,
    )
    assert sum(len(c.patents) for c in call) == 129
    assert dict(call.trailing_metadata())["ratelimit-records-remaining"] == str(1000 - 129)
    # innovator: 30 a day; three chunks of 10 arrive, then RESOURCE_EXHAUSTED (resume later
    # from the last cursor).
    received, last_cursor = [], ""
    stream = stub.ExportPatents(
        data_pb2.ExportPatentsRequest(search=search, chunk_size=10),
        metadata=bearer("innovator-token"),
        timeout=30,
    )

    def drain() -> None:
        nonlocal received, last_cursor
        for chunk in stream:
            received += chunk.patents
            last_cursor = chunk.cursor

    with pytest.raises(grpc.RpcError) as err:
        drain()
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert len(received) == 30
    assert last_cursor
    assert retry_delay(err.value) > 0


def test_an_export_beyond_the_open_streams_is_refused_until_one_ends(database_url):
    with serving_us_grants(database_url=database_url, grpc_workers=2, export_streams=1) as (
        app,
        stub,
    ):
        request = data_pb2.ExportPatentsRequest(
            search=data_pb2.SearchPatentsRequest(office="US"), chunk_size=50
        )
        with app.servicer._export_stream():  # the one stream this node allows is open
            with pytest.raises(grpc.RpcError) as err:
                list(stub.ExportPatents(request, timeout=10))
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "PUHUI_DATA_EXPORT_STREAMS" in (err.value.details() or "")
            assert retry_delay(err.value) == 10
            assert error_reason(err.value) == "EXPORT_STREAMS_EXHAUSTED"
            # searches still have their worker
            reply = stub.SearchPatents(data_pb2.SearchPatentsRequest(office="US"), timeout=10)
            assert reply.total_size == 101  # more than the exact-count limit
        assert sum(len(c.patents) for c in stub.ExportPatents(request, timeout=10)) == 129
