"""The kit's channels retry a call the server refused with UNAVAILABLE (and only that), and
keep their connection alive with pings the kit's servers accept."""

from __future__ import annotations

import json
import threading
from concurrent import futures

import grpc
import pytest

from puhui.kit import grpc_client
from puhui.kit.server import KEEPALIVE_ENFORCEMENT

pytestmark = [pytest.mark.integration]

SERVICE, METHOD = "puhui.retrytest.v1.Probe", "/puhui.retrytest.v1.Probe/Call"


class Flaky:
    """Fails the first `failures` calls with `code`, then answers."""

    def __init__(self, failures: int, code: grpc.StatusCode) -> None:
        self.failures = failures
        self.code = code
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        with self.lock:
            self.calls += 1
            failing = self.calls <= self.failures
        if failing:
            context.abort(self.code, "not now")
        return b"ok"


def serve(handler: Flaky) -> tuple[grpc.Server, str]:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=2), options=list(KEEPALIVE_ENFORCEMENT)
    )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                SERVICE, {"Call": grpc.unary_unary_rpc_method_handler(handler)}
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


def call(address: str) -> bytes:
    with grpc_client.insecure_channel(
        address, node="440000", service="retrytest", target_service="probe"
    ) as channel:
        return channel.unary_unary(METHOD)(b"x", timeout=10)


def test_unavailable_is_retried_until_the_server_answers():
    handler = Flaky(2, grpc.StatusCode.UNAVAILABLE)
    server, address = serve(handler)
    try:
        assert call(address) == b"ok"
    finally:
        server.stop(0)
    assert handler.calls == 3


def test_other_failures_are_not_retried():
    handler = Flaky(1, grpc.StatusCode.INTERNAL)
    server, address = serve(handler)
    try:
        with pytest.raises(grpc.RpcError) as failed:
            call(address)
    finally:
        server.stop(0)
    assert failed.value.code() == grpc.StatusCode.INTERNAL
    assert handler.calls == 1


def test_retries_stop_after_four_attempts():
    handler = Flaky(10, grpc.StatusCode.UNAVAILABLE)
    server, address = serve(handler)
    try:
        with pytest.raises(grpc.RpcError) as failed:
            call(address)
    finally:
        server.stop(0)
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert handler.calls == 4


def test_clients_ping_no_faster_than_servers_accept():
    options = dict(grpc_client.channel_options())
    server = dict(KEEPALIVE_ENFORCEMENT)
    assert (
        options["grpc.keepalive_time_ms"]
        >= server["grpc.http2.min_recv_ping_interval_without_data_ms"]
    )
    policy = json.loads(options["grpc.service_config"])["methodConfig"][0]["retryPolicy"]
    assert policy["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert (
        dict(grpc_client.channel_options([("grpc.enable_retries", 0)]))["grpc.enable_retries"] == 0
    )
