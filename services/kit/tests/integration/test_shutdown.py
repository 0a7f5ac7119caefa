"""`kill -TERM` of a service under load: it exits within 10 s, and every request it had
accepted before the signal completes (requests sent afterwards may be refused)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from puhui.catalog.v1 import catalog_pb2
from puhui.kit.testing import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# One DB-backed read per service; NOT_FOUND is a completed request too.
READS = {
    "catalog": (
        "/puhui.catalog.v1.CatalogService/SearchInstitutions",
        catalog_pb2.SearchInstitutionsRequest(query="知识产权", page_size=20).SerializeToString(),
    ),
}
COMPLETED = {grpc.StatusCode.OK, grpc.StatusCode.NOT_FOUND}


def wait_serving(address: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            assert proc.poll() is None, "service exited during start-up"
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise AssertionError("service never became SERVING")


@pytest.mark.parametrize("service", sorted(READS))
def test_sigterm_under_load_drains_and_exits_within_10s(service, database_url, kafka_bootstrap):
    method, body = READS[service]
    port = free_port()
    env = {
        **os.environ,
        "PUHUI_NODE_ID": "440000",
        "PUHUI_DATABASE_URL": database_url,
        "PUHUI_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PUHUI_GRPC_PORT": str(port),
        "PUHUI_METRICS_PORT": "0",
        "PUHUI_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen([sys.executable, "-m", f"puhui.{service}"], env=env, stdout=subprocess.DEVNULL)
    address = f"127.0.0.1:{port}"
    calls: list[tuple[float, float, grpc.StatusCode]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def caller() -> None:
        with grpc.insecure_channel(address) as channel:
            call = channel.unary_unary(method)
            while not stop.is_set():
                started = time.monotonic()
                try:
                    call(body, timeout=15)
                    code = grpc.StatusCode.OK
                except grpc.RpcError as exc:
                    code = exc.code()
                with lock:
                    calls.append((started, time.monotonic(), code))

    try:
        wait_serving(address, proc)
        threads = [threading.Thread(target=caller) for _ in range(16)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        exited = time.monotonic()
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
    for t in threads:
        t.join(20)

    assert proc.returncode == 0
    assert exited - signalled < 10.0, f"took {exited - signalled:.1f}s to exit"
    before = [c for c in calls if c[0] < signalled]
    assert len(before) > 50, "the service was under load"
    failed = [c for c in before if c[2] not in COMPLETED]
    assert not failed, f"{len(failed)} requests accepted before SIGTERM failed: {failed[:3]}"
