"""A server can never be starved (issue 16): 64 reflection streams and 16 export streams that
never read, held open against one data service, take none of the workers that health and
unary calls need; calls beyond a lane's capacity are refused at once with RESOURCE_EXHAUSTED
and a RetryInfo; once the streams close, their workers come back."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from puhui.data import synthetic
from puhui.data.server import build
from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.kit.admission import REFLECTION, STREAM, UNARY
from puhui.kit.testing import eventually, running

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REFLECTION_STREAMS = 64
EXPORT_STREAMS = 16
RECORDS = 5000  # several MB of export: more than the HTTP/2 windows of a client not reading


def details(call: grpc.Call) -> tuple[str, float]:
    """(ErrorInfo reason, RetryInfo delay in seconds) of a failed call."""
    status = rpc_status.from_call(call)  # type: ignore[arg-type]
    assert status is not None, f"{call.code()} without details"
    reason, delay = "", -1.0
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            delay = retry.retry_delay.ToTimedelta().total_seconds()
    return reason, delay


def one_request_then_hold(
    stop: threading.Event,
) -> Iterator[reflection_pb2.ServerReflectionRequest]:
    """What grpcurl does: ask, then keep the stream open."""
    yield reflection_pb2.ServerReflectionRequest(list_services="")
    stop.wait()


def test_streams_held_open_starve_neither_health_nor_unary_calls(database_url, tmp_path):
    app = build(
        database_url=database_url,
        grpc_port=0,
        metrics_port=0,
        quota_enabled=False,
        grpc_workers=4,
        grpc_queue=4,
        grpc_stream_workers=2,
        grpc_reflection_workers=4,
        export_streams=3,  # the data service's own limit, above the kit's stream workers
    )
    stop = threading.Event()
    channels: list[grpc.Channel] = []
    calls: list[grpc.Future] = []

    def channel(address: str, *options: tuple[str, int]) -> grpc.Channel:
        channels.append(grpc.insecure_channel(address, options=options))
        return channels[-1]

    with running(app) as host:
        app.importer().run("cnipa-csv", synthetic.write_cnipa_csv(tmp_path / "p.csv", RECORDS))
        lanes = host.admission.lanes  # type: ignore[union-attr]
        try:
            # 64 reflection streams, each on its own connection as 64 grpcurls would be.
            reflections = []
            for _ in range(REFLECTION_STREAMS):
                stub = reflection_pb2_grpc.ServerReflectionStub(channel(host.address))
                reflections.append(stub.ServerReflectionInfo(one_request_then_hold(stop)))
            calls.extend(reflections)
            answered, refused = 0, []
            for responses in reflections:
                try:
                    first = next(responses)
                except grpc.RpcError as err:
                    refused.append(err)
                    continue
                assert first.list_services_response.service
                answered += 1
            assert (answered, len(refused)) == (4, REFLECTION_STREAMS - 4)
            for err in refused:
                assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err  # type: ignore[attr-defined]
                assert details(err) == ("STREAMS_EXHAUSTED", 2.0)  # type: ignore[arg-type]
            assert lanes[REFLECTION].calls == 4

            # 16 exports of MBs whose clients never read a message: the server's sends stop
            # once the client's HTTP/2 window (64 KiB: no BDP probing to widen it) is full.
            request = data_pb2.ExportPatentsRequest(
                search=data_pb2.SearchPatentsRequest(office="CN"), chunk_size=500
            )
            exports = [
                data_pb2_grpc.DataServiceStub(
                    channel(host.address, ("grpc.http2.bdp_probe", 0))
                ).ExportPatents(request)
                for _ in range(EXPORT_STREAMS)
            ]
            calls.extend(exports)
            eventually(
                lambda: sum(c.done() for c in exports) == EXPORT_STREAMS - 2, 10, interval=0.05
            )
            for export in (c for c in exports if c.done()):
                assert export.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert details(export) == ("STREAMS_EXHAUSTED", 10.0)  # type: ignore[arg-type]
            time.sleep(1.0)
            assert sum(not c.done() for c in exports) == 2  # held: their clients do not read
            assert lanes[STREAM].calls == 2

            # Meanwhile health answers within 1 s, and every unary call (2 s deadline) is
            # answered or refused at once, from 16 callers at the same time.
            probe = health_pb2_grpc.HealthStub(channel(host.address))
            data = data_pb2_grpc.DataServiceStub(channel(host.address))
            outcomes: dict[str, int] = {}
            lock = threading.Lock()
            ends = time.monotonic() + 4.0

            def caller() -> None:
                while time.monotonic() < ends:
                    started = time.monotonic()
                    failure = None
                    try:
                        reply = data.SearchPatents(
                            data_pb2.SearchPatentsRequest(office="CN", page_size=20), timeout=2
                        )
                    except grpc.RpcError as err:
                        failure = err
                    assert time.monotonic() - started < 2.0
                    if failure is None:
                        assert len(reply.patents) == 20
                        outcome = "answered"
                    else:
                        assert failure.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, failure  # type: ignore[attr-defined]
                        assert details(failure) == ("WORKERS_EXHAUSTED", 1.0)  # type: ignore[arg-type]
                        outcome = "refused"
                    with lock:
                        outcomes[outcome] = outcomes.get(outcome, 0) + 1

            with futures.ThreadPoolExecutor(16) as pool:
                running_callers = [pool.submit(caller) for _ in range(16)]
                checks = 0
                while time.monotonic() < ends:
                    started = time.monotonic()
                    reply = probe.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    assert reply.status == health_pb2.HealthCheckResponse.SERVING
                    assert time.monotonic() - started < 1.0
                    checks += 1
                    time.sleep(0.1)
                for done in running_callers:
                    done.result()
            assert checks >= 20
            assert outcomes.get("answered", 0) > 0, outcomes
            assert sum(not c.done() for c in exports) == 2  # still held, still harmless
        finally:
            stop.set()
            for call in calls:
                call.cancel()
            for ch in channels:
                ch.close()

        # Everything closed: every worker is back, and streams are served again.
        def idle() -> bool:
            return all(lane.calls == 0 for lane in lanes.values())

        with contextlib.suppress(AssertionError):  # asserted below, with the lanes' counts
            eventually(idle, 10, interval=0.05)
        assert idle(), {name: lane.calls for name, lane in lanes.items()}
        with grpc.insecure_channel(host.address) as ch:
            stub = reflection_pb2_grpc.ServerReflectionStub(ch)
            names = {
                s.name
                for r in stub.ServerReflectionInfo(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
                )
                for s in r.list_services_response.service
            }
            assert "puhui.data.v1.DataService" in names
            exported = data_pb2_grpc.DataServiceStub(ch).ExportPatents(request, timeout=30)
            assert sum(len(chunk.patents) for chunk in exported) == RECORDS
        assert lanes[UNARY].calls == 0
