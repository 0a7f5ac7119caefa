"""Streams whose client stopped reading, or keeps them open asking nothing, are cancelled
after PUHUI_GRPC_STREAM_IDLE_SECONDS: the worker blocked sending to them is woken and goes
back to its lane; unary calls beyond their lane are refused at once while health answers."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client import REGISTRY

from puhui.kit import config
from puhui.kit.admission import REFLECTION, STREAM, UNARY
from puhui.kit.server import GrpcService, ServiceApp
from puhui.kit.testing import eventually, running

from .conftest import metadata
from .test_starvation import details

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHUNK = b"x" * 65536
release = threading.Event()


def flood(_request: bytes, context: grpc.ServicerContext):  # type: ignore[no-untyped-def]
    while context.is_active():
        yield CHUNK


def hold(_request: bytes, _context: grpc.ServicerContext) -> bytes:
    release.wait(10)
    return b"done"


class FloodApp(ServiceApp):
    name = "idletest"

    def grpc_services(self):  # type: ignore[no-untyped-def]
        handler = grpc.method_handlers_generic_handler(
            "t.Flood",
            {
                "Flood": grpc.unary_stream_rpc_method_handler(flood),
                "Hold": grpc.unary_unary_rpc_method_handler(hold),
            },
        )
        return [GrpcService("t.Flood", lambda server: server.add_generic_rpc_handlers((handler,)))]


def cancelled(lane: str) -> float:
    labels = {"node": "440000", "service": "idletest", "lane": lane}
    value = REGISTRY.get_sample_value("puhui_grpc_server_idle_streams_cancelled_total", labels)
    return value or 0.0


def test_idle_streams_give_their_workers_back_and_full_lanes_refuse(database_url):
    cfg = config.load(
        config.ServiceConfig,
        {},
        service="idletest",
        node_id="440000",
        database_url=database_url,
        migrate_on_start=False,
        grpc_workers=1,
        grpc_queue=1,
        grpc_stream_workers=1,
        grpc_reflection_workers=1,
        grpc_stream_idle_seconds=1.0,
    )
    before = {lane: cancelled(lane) for lane in (STREAM, REFLECTION)}
    with (
        running(FloodApp(cfg, metadata)) as host,
        grpc.insecure_channel(host.address, options=[("grpc.http2.bdp_probe", 0)]) as ch,
    ):
        lanes = host.admission.lanes  # type: ignore[union-attr]
        stalled = ch.unary_stream("/t.Flood/Flood")(b"")  # never read
        hold_open = threading.Event()

        def ask_then_hold():  # type: ignore[no-untyped-def]
            yield reflection_pb2.ServerReflectionRequest(list_services="")
            hold_open.wait(10)

        idle = reflection_pb2_grpc.ServerReflectionStub(ch).ServerReflectionInfo(ask_then_hold())
        assert next(idle).list_services_response.service
        eventually(
            lambda: lanes[STREAM].calls == 1 and lanes[REFLECTION].calls == 1, 2, interval=0.05
        )

        # One unary call holds the worker, one waits; the third is refused at once.
        release.clear()
        call = ch.unary_unary("/t.Flood/Hold")
        held = [call.future(b"", timeout=10) for _ in range(2)]
        eventually(lambda: lanes[UNARY].calls == 2, 2, interval=0.05)
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as err:
            call(b"", timeout=5)
        assert time.monotonic() - started < 1.0
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert details(err.value) == ("WORKERS_EXHAUSTED", 1.0)  # type: ignore[arg-type]
        health = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        release.set()
        assert [f.result(5) for f in held] == [b"done", b"done"]

        # Within the idle limit (1 s, checked every 0.25 s) both streams are cancelled.
        eventually(
            lambda: lanes[STREAM].calls == 0 and lanes[REFLECTION].calls == 0, 5, interval=0.05
        )
        assert cancelled(STREAM) == before[STREAM] + 1
        assert cancelled(REFLECTION) == before[REFLECTION] + 1
        with pytest.raises(grpc.RpcError) as gone:
            for _ in stalled:
                pass
        assert gone.value.code() == grpc.StatusCode.CANCELLED
        hold_open.set()
        # The stream lane serves again.
        again = ch.unary_stream("/t.Flood/Flood")(b"", timeout=5)
        assert next(again) == CHUNK
        again.cancel()
