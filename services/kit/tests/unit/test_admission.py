"""Admission: each call goes to its lane, a full lane refuses at once (RESOURCE_EXHAUSTED +
RetryInfo, sent from the health lane), idle streams are cancelled, and a unary call whose
deadline passed while it waited is not run."""

from __future__ import annotations

import threading
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from prometheus_client import REGISTRY

from puhui.kit import auth, config
from puhui.kit.admission import HEALTH, REFLECTION, STREAM, UNARY, Admission, Lane, StreamWatch
from puhui.kit.interceptors import ServiceInterceptor


class Aborted(Exception):
    pass


class FakeContext:
    """The part of grpc.ServicerContext the admission and the interceptor use."""

    def __init__(self, remaining: float = 10.0) -> None:
        self.remaining = remaining
        self.status: grpc.Status | None = None
        self.aborted_code: Any = None
        self.cancelled = False

    def time_remaining(self) -> float:
        return self.remaining

    def abort_with_status(self, status: grpc.Status) -> None:
        self.status = status
        raise Aborted

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.aborted_code = code
        raise Aborted

    def code(self) -> Any:
        return self.aborted_code

    def cancel(self) -> None:
        self.cancelled = True

    def invocation_metadata(self) -> tuple[()]:
        return ()

    def peer(self) -> str:
        return "ipv4:127.0.0.1:5000"

    def is_active(self) -> bool:
        return not self.cancelled


class Details:
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


def handlers() -> dict[str, grpc.RpcMethodHandler]:
    def unary(request: Any, context: Any) -> Any:
        return request

    def stream(request: Any, context: Any) -> Any:
        yield request

    def chat(requests: Any, context: Any) -> Any:
        yield from requests

    return {
        "/t.S/Get": grpc.unary_unary_rpc_method_handler(unary),
        "/t.S/Export": grpc.unary_stream_rpc_method_handler(stream),
        "/grpc.health.v1.Health/Check": grpc.unary_unary_rpc_method_handler(unary),
        "/grpc.health.v1.Health/Watch": grpc.unary_stream_rpc_method_handler(stream),
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": (
            grpc.stream_stream_rpc_method_handler(chat)
        ),
    }


@pytest.fixture
def setup():  # type: ignore[no-untyped-def]
    cfg = config.load(
        config.ServiceConfig,
        {},
        node_id="440000",
        grpc_workers=1,
        grpc_queue=1,
        grpc_stream_workers=1,
        grpc_reflection_workers=1,
        grpc_stream_idle_seconds=5.0,
    )
    admission = Admission(cfg, "admtest")
    interceptor = ServiceInterceptor(
        "admtest", "440000", auth.RejectingVerifier(), telemetry=False, admission=admission
    )
    table = handlers()

    def call(method: str) -> grpc.RpcMethodHandler:
        return interceptor.intercept_service(lambda _d: table[method], Details(method))  # type: ignore[no-any-return]

    yield admission, call
    admission.stop()


def behavior_of(handler: grpc.RpcMethodHandler) -> Any:
    for kind in ("unary_unary", "unary_stream", "stream_unary", "stream_stream"):
        if getattr(handler, kind) is not None:
            return getattr(handler, kind)
    raise AssertionError("no behaviour")


def refused(name: str) -> float:
    labels = {"node": "440000", "service": "admtest", "lane": name}
    return REGISTRY.get_sample_value("puhui_grpc_server_refused_total", labels) or 0.0


def details_of(status: grpc.Status) -> tuple[str, float]:
    proto = rpc_status.status_pb2.Status.FromString(
        dict(status.trailing_metadata)[  # type: ignore[attr-defined]
            "grpc-status-details-bin"
        ]
    )
    reason, delay = "", -1.0
    for detail in proto.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            delay = retry.retry_delay.ToTimedelta().total_seconds()
    return reason, delay


def test_each_call_runs_on_its_lane_and_watch_keeps_its_own_pool(setup):
    admission, call = setup
    lanes = admission.lanes
    assert behavior_of(call("/t.S/Get")).experimental_thread_pool is lanes[UNARY]
    assert behavior_of(call("/t.S/Export")).experimental_thread_pool is lanes[STREAM]
    assert (
        behavior_of(call("/grpc.health.v1.Health/Check")).experimental_thread_pool
        is (lanes[HEALTH])
    )
    reflection = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
    assert behavior_of(call(reflection)).experimental_thread_pool is lanes[REFLECTION]
    # Watch is non-blocking on the health servicer's own pool: left as it is
    assert not hasattr(
        behavior_of(call("/grpc.health.v1.Health/Watch")), "experimental_thread_pool"
    )
    assert admission.capacity == 2 + 1 + 1  # unary 1 + queue 1, one stream, one reflection


def test_a_full_lane_refuses_at_once_with_retry_info_from_the_health_lane(setup):
    admission, call = setup
    lanes = admission.lanes
    release = threading.Event()
    before = refused(UNARY)
    lanes[UNARY].submit(release.wait)  # the worker
    lanes[UNARY].submit(release.wait)  # the one queued call allowed
    try:
        refusal = behavior_of(call("/t.S/Get"))
        assert refusal.experimental_thread_pool is lanes[HEALTH]
        context = FakeContext()
        with pytest.raises(Aborted):
            refusal(b"", context)
        assert context.status is not None
        assert context.status.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "PUHUI_GRPC_QUEUE" in context.status.details
        assert details_of(context.status) == ("WORKERS_EXHAUSTED", 1.0)
        assert refused(UNARY) == before + 1
        # health and streams do not wait for the unary lane
        assert behavior_of(call("/grpc.health.v1.Health/Check"))(b"ok", FakeContext()) == b"ok"
        assert behavior_of(call("/t.S/Export")).experimental_thread_pool is lanes[STREAM]
    finally:
        release.set()
    assert lanes[UNARY].submit(lambda: 1).result(5) == 1
    assert lanes[UNARY].calls == 0
    assert behavior_of(call("/t.S/Get")).experimental_thread_pool is lanes[UNARY]


def test_a_stream_beyond_the_stream_workers_is_refused_streams_exhausted(setup):
    admission, call = setup
    release = threading.Event()
    admission.lanes[STREAM].submit(release.wait)
    try:
        context = FakeContext()
        with pytest.raises(Aborted):
            behavior_of(call("/t.S/Export"))(b"", context)
        assert details_of(context.status) == ("STREAMS_EXHAUSTED", 10.0)  # type: ignore[arg-type]
        assert "PUHUI_GRPC_STREAM_WORKERS" in context.status.details  # type: ignore[union-attr]
    finally:
        release.set()


def test_a_unary_call_whose_deadline_passed_in_the_queue_is_not_run():
    ran = []
    table_handler = grpc.unary_unary_rpc_method_handler(lambda r, c: ran.append(r))
    interceptor = ServiceInterceptor("admtest", "440000", auth.RejectingVerifier())
    handler = interceptor.intercept_service(lambda _d: table_handler, Details("/t.S/Late"))
    context = FakeContext(remaining=0.0)
    with pytest.raises(Aborted):
        handler.unary_unary(b"x", context)
    assert context.aborted_code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert ran == []


def test_streams_idle_too_long_are_cancelled_and_active_ones_kept(setup):
    admission, call = setup
    export = behavior_of(call("/t.S/Export"))
    idle, active = FakeContext(), FakeContext()
    idle_stream = export(b"a", idle)
    active_stream = export(b"b", active)
    assert next(idle_stream) == b"a"  # sent; the client reads no more
    assert next(active_stream) == b"b"
    watch = admission.watch
    assert watch.open_streams == 2
    active_ticket = next(t for t in watch._open if t.context is active)
    idle_ticket = next(t for t in watch._open if t.context is idle)
    active_ticket.touched = idle_ticket.touched + 4.0  # a message 4 s later
    assert watch.sweep(now=idle_ticket.touched + 6.0) == 1
    assert idle.cancelled
    assert not active.cancelled
    assert watch.open_streams == 1
    with pytest.raises(StopIteration):
        next(active_stream)
    assert watch.open_streams == 0


def test_reflection_requests_count_as_activity(setup):
    admission, call = setup
    chat = behavior_of(call("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"))
    context = FakeContext()
    stream = chat(iter([b"1", b"2"]), context)
    assert next(stream) == b"1"
    (ticket,) = admission.watch._open
    first = ticket.touched
    assert next(stream) == b"2"
    assert ticket.touched >= first


def test_zero_idle_seconds_never_cancels():
    watch = StreamWatch(0, {})
    ticket = watch.open(FakeContext(), STREAM)  # type: ignore[arg-type]
    assert watch.sweep(now=ticket.touched + 1e9) == 0
    watch.start()
    watch.stop()


def test_pool_settings_are_checked():
    for env in (
        "PUHUI_GRPC_WORKERS",
        "PUHUI_GRPC_STREAM_WORKERS",
        "PUHUI_GRPC_REFLECTION_WORKERS",
        "PUHUI_GRPC_HEALTH_WORKERS",
    ):
        with pytest.raises(config.ConfigError, match=env):
            config.load(config.ServiceConfig, {env: "0"}).validate()
    with pytest.raises(config.ConfigError, match="PUHUI_GRPC_QUEUE"):
        config.load(config.ServiceConfig, {"PUHUI_GRPC_QUEUE": "-1"}).validate()


def test_slow_calls_shorten_the_queue():
    queued = type("Gauge", (), {"inc": lambda self: None, "dec": lambda self: None})()
    lane = Lane("unary", 2, 100, service="admtest", queued=queued, max_wait=1.0)
    release = threading.Event()
    try:
        for _ in range(4):  # 2 running, 2 waiting
            lane.submit(release.wait)
        lane.mean_seconds = 0.5  # 2 workers clear the 2 waiting + this call in 0.75 s
        assert lane.has_room()
        lane.mean_seconds = 0.8  # 1.2 s: longer than max_wait
        assert not lane.has_room()
        lane.max_wait = 0.0  # only the count bounds it
        assert lane.has_room()
    finally:
        release.set()
        lane.shutdown(wait=True)
    assert lane.calls == 0
    assert lane.mean_seconds < 0.8  # the four calls, each far shorter, pulled it down
