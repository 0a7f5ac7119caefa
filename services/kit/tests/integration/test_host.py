"""The server bootstrap: health waits for dependencies, reflection lists the services,
metrics are served on their own port."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from puhui.kit import config
from puhui.kit.server import ServiceApp, ServiceHost
from puhui.kit.testing import free_port, load_infra

from .conftest import metadata

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class BareApp(ServiceApp):
    name = "kittest"

    def grpc_services(self):
        return []


def health_status(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        return (
            health_pb2_grpc.HealthStub(channel)
            .Check(health_pb2.HealthCheckRequest(), timeout=2)
            .status
        )


def test_not_serving_until_kafka_answers_then_serving(database_url, tmp_path):
    port, controller = free_port(), free_port()
    cfg = config.load(
        config.ServiceConfig,
        {},
        service="kittest",
        node_id="440000",
        database_url=database_url,
        kafka_bootstrap=f"127.0.0.1:{port}",
        migrate_on_start=False,
    )
    app = BareApp(cfg, metadata)
    host = ServiceHost(app, readiness_interval=0.3)
    host.start()
    broker = None
    try:
        time.sleep(1.5)
        assert health_status(host.address) == health_pb2.HealthCheckResponse.NOT_SERVING
        code, body = healthz(host)
        assert code == 503
        assert body.splitlines()[0] == "NOT_SERVING"
        assert f"kafka: Kafka at 127.0.0.1:{port} does not answer" in body.splitlines()
        broker = load_infra().start_kafka(tmp_path / "kafka", port, controller)
        assert host.wait_ready(30)
        assert health_status(host.address) == health_pb2.HealthCheckResponse.SERVING
        assert healthz(host) == (200, "SERVING")

        with grpc.insecure_channel(host.address) as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            responses = stub.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            )
            names = {s.name for r in responses for s in r.list_services_response.service}
        assert {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= names

        body = (
            urllib.request.urlopen(
                f"http://127.0.0.1:{host.metrics_server.port}/metrics", timeout=5
            )
            .read()
            .decode()
        )
        assert 'puhui_dependency_up{dependency="kafka",node="440000",service="kittest"} 1.0' in body
    finally:
        host.stop(grace=1)
        if broker is not None:
            broker.stop()
    assert health_status_or_down(host.address)


def healthz(host: ServiceHost) -> tuple[int, str]:
    """/healthz on the metrics port: (HTTP status, body)."""
    url = f"http://127.0.0.1:{host.metrics_server.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode().strip()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode().strip()


def health_status_or_down(address: str) -> bool:
    """After stop the server no longer answers."""
    try:
        health_status(address)
    except grpc.RpcError as exc:
        return exc.code() == grpc.StatusCode.UNAVAILABLE
    return False
