"""`kill -TERM` of a service under load: it exits within 10 s, and every request it had
accepted completes.

"Accepted" is the server's own account: a request still in the socket buffer when the drain
starts (possible on a loaded machine even if it was sent before the signal) is refused
(UNAVAILABLE/CANCELLED) without ever reaching a handler. The service logs its drain
accounting at exit; the test requires that no handler was still running after the grace
period and none finished with its RPC cancelled under it, and that every request failed on
the client side was one the server refused, never a handler's error.
"""

from __future__ import annotations

import json
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
REFUSED = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}


def wait_serving(address: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            assert proc.poll() is None, "service exited during start-up"
            try:
                if (
                    stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                    == health_pb2.HealthCheckResponse.SERVING
                ):
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise AssertionError("service never became SERVING")


@pytest.mark.parametrize("service", sorted(READS))
def test_sigterm_under_load_drains_and_exits_within_10s(
    service, database_url, kafka_bootstrap, tmp_path
):
    method, body = READS[service]
    port = free_port()
    env = {
        **os.environ,
        "PUHUI_NODE_ID": "440000",
        "PUHUI_DATABASE_URL": database_url,
        "PUHUI_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PUHUI_GRPC_PORT": str(port),
        "PUHUI_METRICS_PORT": "0",
        "PUHUI_LOG_LEVEL": "INFO",
    }
    log_path = tmp_path / "service.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", f"puhui.{service}"], env=env, stdout=subprocess.DEVNULL, stderr=log
    )
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

    log.close()
    assert proc.returncode == 0
    assert exited - signalled < 10.0, f"took {exited - signalled:.1f}s to exit"
    before = [c for c in calls if c[0] < signalled]
    assert len(before) > 50, "the service was under load"
    completed = [c for c in before if c[2] in COMPLETED]
    assert len(completed) > 50
    errors = [c for c in calls if c[2] not in COMPLETED | REFUSED]
    assert not errors, f"requests failed inside the service: {errors[:3]}"
    drain = [
        line
        for line in map(_json_or_none, log_path.read_text().splitlines())
        if line and "drain_in_flight_at_stop" in line
    ]
    assert len(drain) == 1, "the service reports its drain"
    assert drain[0]["drain_still_running"] == 0, drain[0]
    assert drain[0]["drain_cut_short"] == 0, drain[0]


def _json_or_none(line: str) -> dict | None:
    try:
        return json.loads(line)
    except ValueError:
        return None
