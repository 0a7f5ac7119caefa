"""The interceptor's validation layer over a real gRPC server: undecodable bytes, hostile
fields and 10,000 bad values all answer INVALID_ARGUMENT with ErrorInfo, counted in the
RPC metrics, before the handler runs."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from prometheus_client import REGISTRY

from puhui.feedback.v1 import feedback_pb2
from puhui.kit import auth
from puhui.kit.interceptors import ServiceInterceptor

pytestmark = pytest.mark.integration

SERVICE = "puhui.kittest.v1.ValidationService"
NODE = "449900"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[grpc.Channel, list[object]]]:
    seen: list[object] = []

    def sync(request: feedback_pb2.SyncKioskRatingsRequest, _context) -> object:
        seen.append(request)
        return feedback_pb2.SyncKioskRatingsResponse(accepted=len(request.ratings))

    def stream(request: feedback_pb2.SyncKioskRatingsRequest, _context) -> Iterator[object]:
        seen.append(request)
        yield feedback_pb2.SyncKioskRatingsResponse()

    handlers = {
        "Sync": grpc.unary_unary_rpc_method_handler(
            sync,
            request_deserializer=feedback_pb2.SyncKioskRatingsRequest.FromString,
            response_serializer=feedback_pb2.SyncKioskRatingsResponse.SerializeToString,
        ),
        "Stream": grpc.unary_stream_rpc_method_handler(
            stream,
            request_deserializer=feedback_pb2.SyncKioskRatingsRequest.FromString,
            response_serializer=feedback_pb2.SyncKioskRatingsResponse.SerializeToString,
        ),
    }
    interceptor = ServiceInterceptor("kittest", NODE, auth.RejectingVerifier())
    server = grpc.server(futures.ThreadPoolExecutor(4), interceptors=[interceptor])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel, seen
    finally:
        server.stop(0)


def _call(channel: grpc.Channel, method: str, payload: bytes) -> grpc.RpcError:
    path = f"/{SERVICE}/{method}"
    if method == "Stream":
        with pytest.raises(grpc.RpcError) as info:
            list(channel.unary_stream(path)(payload, timeout=10))
    else:
        with pytest.raises(grpc.RpcError) as info:
            channel.unary_unary(path)(payload, timeout=10)
    return info.value


def _details(error: grpc.RpcError) -> tuple[error_details_pb2.ErrorInfo, list[str]]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    for detail in status.details:
        detail.Unpack(info) or detail.Unpack(bad)
    return info, [v.field for v in bad.field_violations]


def _handled(method: str, code: str) -> float:
    value = REGISTRY.get_sample_value(
        "puhui_grpc_server_handled_total",
        {"node": NODE, "service": "kittest", "method": method, "code": code},
    )
    return value or 0.0


@pytest.mark.parametrize("method", ["Sync", "Stream"])
def test_undecodable_bytes_are_a_counted_malformed_request(server, method):
    channel, seen = server
    before = _handled(f"ValidationService/{method}", "INVALID_ARGUMENT")
    seen.clear()
    error = _call(channel, method, b"\x0a\x05ab")  # a string field of 5 bytes, 2 present
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    info, _ = _details(error)
    assert info.reason == "MALFORMED_REQUEST"
    assert info.domain == "puhui.cn"
    assert "SyncKioskRatingsRequest" in (error.details() or "")
    assert _handled(f"ValidationService/{method}", "INVALID_ARGUMENT") == before + 1
    assert seen == []


def test_hostile_fields_are_refused_before_the_handler(server):
    channel, seen = server
    seen.clear()
    request = feedback_pb2.SyncKioskRatingsRequest(kiosk_id="k\x00")
    request.ratings.add().rated_at.seconds = 253_402_300_800  # 10000-01-01
    error = _call(channel, "Sync", request.SerializeToString())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    info, fields = _details(error)
    assert info.reason == "FIELD_INVALID"
    assert fields == ["kiosk_id", "ratings[0].rated_at"]
    assert seen == []


def test_the_valid_maximum_time_reaches_the_handler(server):
    channel, seen = server
    seen.clear()
    request = feedback_pb2.SyncKioskRatingsRequest(kiosk_id="k")
    request.ratings.add().rated_at.FromJsonString("9999-12-31T23:59:59.999999999Z")
    channel.unary_unary(f"/{SERVICE}/Sync")(request.SerializeToString(), timeout=10)
    assert len(seen) == 1


@pytest.mark.parametrize("count", [900, 10_000])
def test_thousands_of_bad_values_stay_invalid_argument(server, count):
    """10,000 violations once made a ~400 KB trailer: the client saw RESOURCE_EXHAUSTED."""
    channel, _ = server
    request = feedback_pb2.SyncKioskRatingsRequest(kiosk_id="k")
    for _ in range(count):
        request.ratings.add(client_rating_id="坏\x00")
    error = _call(channel, "Sync", request.SerializeToString())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    info, fields = _details(error)
    if count > 1000:  # over the repeated-field limit: one violation for the field
        assert info.reason == "FIELD_OUT_OF_RANGE"
        assert fields == ["ratings"]
    else:
        assert 0 < len(fields) <= 20
        assert fields[0] == "ratings[0].client_rating_id"
        assert info.metadata["violations"] == str(count)
