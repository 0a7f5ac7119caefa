"""Kit metrics read at scrape time (database pools) and counted on failure (Redis)."""

from __future__ import annotations

import threading

import pytest
import redis
from prometheus_client import REGISTRY

from puhui.kit import metrics
from puhui.kit import redis as kit_redis
from puhui.kit.admission import Lane
from puhui.kit.db import Database
from puhui.kit.testing import free_port


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_db_pool_gauges_follow_checkouts(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'pool.db'}", pool_size=3)
    db.start()
    labels = {"node": "440000", "service": "pooltest", "pool": "write"}
    metrics.watch_database("440000", "pooltest", db)
    try:
        assert sample("puhui_db_pool_max_connections", **labels) == 3 + 10  # size + overflow
        with db.transaction() as session:
            session.connection()
            assert sample("puhui_db_pool_connections_in_use", **labels) == 1.0
        assert sample("puhui_db_pool_connections_in_use", **labels) == 0.0
        assert sample("puhui_db_pool_connections", **labels) == 1.0
        # SQLite has one engine: the read pool is the write pool and is not counted twice
        assert sample("puhui_db_pool_connections", **{**labels, "pool": "read"}) == 0.0
        db.stop()
        assert sample("puhui_db_pool_connections", **labels) == 0.0
    finally:
        metrics.unwatch_database("440000", "pooltest")
        db.stop()
    assert sample("puhui_db_pool_connections", **labels) is None


def test_redis_errors_are_counted_by_command():
    client = kit_redis.connect(
        f"redis://127.0.0.1:{free_port()}/0", node="440000", service="redistest"
    )
    assert client is not None
    labels = {"node": "440000", "service": "redistest", "operation": "get"}
    before = sample("puhui_redis_errors_total", **labels) or 0.0
    with pytest.raises(redis.ConnectionError):
        client.get("k")
    assert sample("puhui_redis_errors_total", **labels) == before + 1
    client.close()


def test_calls_waiting_for_a_worker_are_counted():
    queued = metrics.GRPC_SERVER_QUEUED.labels(node="000000", service="queue-test")
    labels = {"node": "000000", "service": "queue-test"}
    release = threading.Event()
    with Lane("unary", 1, 3, service="queue-test", queued=queued) as pool:
        busy = pool.submit(release.wait)
        waiting = [pool.submit(lambda i=i: i) for i in range(3)]
        assert REGISTRY.get_sample_value("puhui_grpc_server_queued_requests", labels) >= 3
        assert pool.calls == 4
        assert not pool.has_room()
        release.set()
        assert busy.result(5) is True
        assert [f.result(5) for f in waiting] == [0, 1, 2]
    assert REGISTRY.get_sample_value("puhui_grpc_server_queued_requests", labels) == 0
    assert pool.calls == 0
    assert pool.has_room()
