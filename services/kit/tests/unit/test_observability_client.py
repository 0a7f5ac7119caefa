"""The kit's gRPC client interceptor (default deadline, CLIENT span whose context reaches
the server, RED metrics) and the server interceptor's telemetry switch."""

from __future__ import annotations

import secrets
from concurrent import futures

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from puhui.kit import auth, grpc_client, tracing
from puhui.kit.interceptors import ServiceInterceptor

SERVICE = "puhui.obstest.v1.Echo"


@pytest.fixture
def server():
    seen: dict[str, object] = {}

    def echo(request: bytes, context: grpc.ServicerContext) -> bytes:
        seen["time_remaining"] = context.time_remaining()
        seen["metadata"] = dict(context.invocation_metadata())
        seen["server_trace_id"] = trace.get_current_span().get_span_context().trace_id
        if request == b"missing":
            context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
        return request

    def make(telemetry: bool, name: str):  # type: ignore[no-untyped-def]
        srv = grpc.server(
            futures.ThreadPoolExecutor(max_workers=2),
            interceptors=[
                ServiceInterceptor(name, "440000", auth.RejectingVerifier(), telemetry=telemetry)
            ],
        )
        handler = grpc.method_handlers_generic_handler(
            SERVICE, {"Say": grpc.unary_unary_rpc_method_handler(echo)}
        )
        srv.add_generic_rpc_handlers((handler,))
        port = srv.add_insecure_port("127.0.0.1:0")
        srv.start()
        servers.append(srv)
        return f"127.0.0.1:{port}"

    servers: list[grpc.Server] = []
    yield make, seen
    for srv in servers:
        srv.stop(0)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_client_sets_a_default_deadline_traces_and_counts(server):
    make, seen = server
    exporter = InMemorySpanExporter()
    tracing.setup("obstest", "440000", exporter=exporter)
    caller = f"caller{secrets.token_hex(3)}"
    address = make(True, "echo")
    labels = {"node": "440000", "service": caller, "target_service": "echo", "method": "Echo/Say"}
    try:
        with grpc_client.insecure_channel(
            address, node="440000", service=caller, target_service="echo", default_timeout=7
        ) as channel:
            say = channel.unary_unary(f"/{SERVICE}/Say")
            assert say(b"hello") == b"hello"
            assert 0 < seen["time_remaining"] <= 7.5  # type: ignore[operator]  # 7 s plus clock granularity
            assert "traceparent" in seen["metadata"]  # type: ignore[operator]
            with pytest.raises(grpc.RpcError) as failure:
                say(b"missing", timeout=30)
            assert failure.value.code() == grpc.StatusCode.NOT_FOUND
            assert seen["time_remaining"] > 7  # type: ignore[operator]  # the caller's own deadline wins
        assert tracing.flush()
    finally:
        tracing.stop_export(exporter=exporter)
    assert value("puhui_grpc_client_handled_total", code="OK", **labels) == 1
    assert value("puhui_grpc_client_handled_total", code="NOT_FOUND", **labels) == 1
    assert value("puhui_grpc_client_handling_seconds_count", **labels) == 2
    spans = exporter.get_finished_spans()
    clients = [s for s in spans if s.kind == trace.SpanKind.CLIENT]
    servers = [s for s in spans if s.kind == trace.SpanKind.SERVER]
    assert [s.name for s in clients] == ["Echo/Say", "Echo/Say"]
    assert [s.parent.span_id for s in servers if s.parent] == [c.context.span_id for c in clients]
    assert clients[1].status.status_code == trace.StatusCode.ERROR


def test_telemetry_off_records_no_rpc_metrics_and_no_server_span(server):
    make, seen = server
    name = f"quiet{secrets.token_hex(3)}"
    with grpc.insecure_channel(make(False, name)) as channel:
        assert channel.unary_unary(f"/{SERVICE}/Say")(b"x", timeout=5) == b"x"
    assert seen["server_trace_id"] == 0
    assert (
        REGISTRY.get_sample_value(
            "puhui_grpc_server_handled_total",
            {"node": "440000", "service": name, "method": "Echo/Say", "code": "OK"},
        )
        is None
    )
    loud = f"loud{secrets.token_hex(3)}"
    with grpc.insecure_channel(make(True, loud)) as channel:
        assert channel.unary_unary(f"/{SERVICE}/Say")(b"x", timeout=5) == b"x"
    assert (
        REGISTRY.get_sample_value(
            "puhui_grpc_server_handled_total",
            {"node": "440000", "service": loud, "method": "Echo/Say", "code": "OK"},
        )
        == 1
    )
