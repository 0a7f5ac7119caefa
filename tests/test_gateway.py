"""The HTTP front door (`puhui-gateway`) in front of one node's real services: JSON with the
protos' HTTP bindings, the bearer token from `Authorization`, errors as `google.rpc.Status`
JSON with their details and HTTP status, gRPC-Web, the export stream as a streamed HTTP
response, CORS, the OpenAPI document and reference page, and reflection with comments."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import requests
import yaml
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from puhui.data.v1 import data_pb2
from puhui.kit import gateway
from tests.gateway_node import ORIGIN, Node, node_with_gateway

pytestmark = pytest.mark.integration

ADMIN = {"Authorization": "Bearer admin-token"}
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


@pytest.fixture(scope="module")
def node(
    kafka_bootstrap: str, postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Node]:
    with node_with_gateway(kafka_bootstrap, postgres_admin_url, tmp_path_factory.mktemp("gw")) as n:
        yield n


def details(body: dict[str, Any], type_url: str) -> list[dict[str, Any]]:
    return [d for d in body.get("details", []) if d.get("@type") == type_url]


def test_json_reads_use_the_http_bindings_and_proto3_json_names(node: Node) -> None:
    provinces = requests.get(f"{node.url}/v1/divisions", timeout=10)
    assert provinces.status_code == 200
    assert provinces.headers["Content-Type"].startswith("application/json")
    codes = {d["code"] for d in provinces.json()["divisions"]}
    assert {"440000", "320000"} <= codes
    cities = requests.get(f"{node.url}/v1/divisions", params={"parentCode": "440000"}, timeout=10)
    assert "440100" in {d["code"] for d in cities.json()["divisions"]}
    one = requests.get(f"{node.url}/v1/divisions/440100", timeout=10).json()
    assert one["code"] == "440100"
    # A path variable holding "/" travels as %2F (an IPC group).
    group = requests.get(f"{node.url}/v1/ipcEntries/G06F%2017%2F00", timeout=10)
    assert group.status_code == 200, group.text
    assert group.json()["symbol"] == "G06F 17/00"


def test_register_sign_in_and_the_bearer_token_from_the_authorization_header(
    node: Node,
) -> None:
    email = f"gw-{uuid.uuid4().hex[:8]}@example.cn"
    made = requests.post(
        f"{node.url}/v1/persons",
        json={"displayName": "网关", "email": email, "password": "correct horse 42"},
        timeout=10,
    )
    assert made.status_code == 200, made.text
    signed = requests.post(
        f"{node.url}/v1/tokens:signIn",
        json={"login": email, "password": "correct horse 42"},
        timeout=10,
    )
    assert signed.status_code == 200, signed.text
    token = signed.json()["accessToken"]
    assert isinstance(signed.json()["expiresInSeconds"], str)  # int64 is a JSON string
    me = requests.get(f"{node.url}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["personId"] == made.json()["person"]["personId"]

    anonymous = requests.get(f"{node.url}/v1/me", timeout=10)
    assert anonymous.status_code == 401
    body = anonymous.json()
    assert body["code"] == 16  # UNAUTHENTICATED
    assert details(body, ERROR_INFO)[0]["domain"] == "puhui.cn"


def test_bad_input_is_400_with_every_field_violation_and_nothing_written(node: Node) -> None:
    bad = requests.post(
        f"{node.url}/v1/persons",
        json={"displayName": "", "email": "not-an-email", "password": "x"},
        timeout=10,
    )
    assert bad.status_code == 400
    body = bad.json()
    assert body["code"] == 3  # INVALID_ARGUMENT
    fields = {v["field"] for d in details(body, BAD_REQUEST) for v in d["fieldViolations"]}
    assert {"email", "password"} <= fields
    assert details(body, ERROR_INFO)[0]["domain"] == "puhui.cn"

    missing = requests.get(f"{node.url}/v1/divisions/999999", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["code"] == 5

    empty = requests.post(f"{node.url}/v1/persons", timeout=10)  # no body: the empty message
    assert empty.status_code == 400
    assert details(empty.json(), BAD_REQUEST)

    malformed = requests.post(
        f"{node.url}/v1/persons",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert malformed.status_code == 400
    assert malformed.json()["code"] == 3


def _put_patents(node: Node, count: int) -> list[str]:
    numbers = []
    for i in range(count):
        number = f"CN2026{uuid.uuid4().int % 10**8:08d}"
        patent = {
            "applicationNumber": number,
            "office": "CN",
            "kind": "A",
            "title": f"网关导出测试 {i}",
            "ipcCodes": ["G06F 17/30"],
            "filingDate": "2026-01-02",
        }
        put = requests.put(
            f"{node.url}/v1/patents/{number}", json=patent, headers=ADMIN, timeout=10
        )
        assert put.status_code == 200, put.text
        numbers.append(put.json()["patent"]["applicationNumber"])
    return numbers


def _frames(raw: bytes) -> list[tuple[int, bytes]]:
    out, at = [], 0
    while at < len(raw):
        flags, size = struct.unpack(">BI", raw[at : at + 5])
        out.append((flags, raw[at + 5 : at + 5 + size]))
        at += 5 + size
    return out


def test_export_streams_over_connect_as_a_streamed_http_response(node: Node) -> None:
    numbers = _put_patents(node, 3)
    request = {"search": {"query": "网关导出测试"}, "chunkSize": 1}
    body = json.dumps(request).encode()
    with requests.post(
        f"{node.url}/puhui.data.v1.DataService/ExportPatents",
        data=struct.pack(">BI", 0, len(body)) + body,
        headers={"Content-Type": "application/connect+json", **ADMIN},
        stream=True,
        timeout=30,
    ) as reply:
        assert reply.status_code == 200
        assert reply.headers["Content-Type"] == "application/connect+json"
        assert "Content-Length" not in reply.headers  # streamed, not buffered
        frames = _frames(reply.raw.read())
    messages = [json.loads(data) for flags, data in frames if flags == 0]
    end = [json.loads(data) for flags, data in frames if flags & 0x02]
    assert end == [{}] or end == [{"metadata": end[0].get("metadata", {})}]
    exported = {p["applicationNumber"] for m in messages for p in m.get("patents", [])}
    assert set(numbers) <= exported
    assert len(messages) >= 3  # one chunk per record


def test_grpc_web_for_browsers(node: Node) -> None:
    message = data_pb2.GetDivisionRequest(code="440300").SerializeToString()
    reply = requests.post(
        f"{node.url}/puhui.data.v1.ReferenceService/GetDivision",
        data=struct.pack(">BI", 0, len(message)) + message,
        headers={"Content-Type": "application/grpc-web+proto", "Origin": ORIGIN},
        timeout=10,
    )
    assert reply.status_code == 200
    assert reply.headers["Access-Control-Allow-Origin"] == ORIGIN
    frames = _frames(reply.content)
    division = data_pb2.Division.FromString(frames[0][1])
    assert division.code == "440300"
    trailer = frames[-1]
    assert trailer[0] & 0x80  # the trailers frame
    assert b"grpc-status:0" in trailer[1].lower().replace(b" ", b"")


def test_cors_preflight_allows_the_configured_origin_only(node: Node) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    ok = requests.options(
        f"{node.url}/v1/tokens:signIn", headers={"Origin": ORIGIN, **preflight}, timeout=10
    )
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "authorization" in ok.headers["Access-Control-Allow-Headers"].lower()
    other = requests.options(
        f"{node.url}/v1/tokens:signIn",
        headers={"Origin": "https://elsewhere.example", **preflight},
        timeout=10,
    )
    assert "Access-Control-Allow-Origin" not in other.headers


def test_openapi_document_and_reference_page_carry_the_proto_comments(node: Node) -> None:
    reply = requests.get(f"{node.url}/openapi.yaml", timeout=10)
    assert reply.status_code == 200
    document = yaml.safe_load(reply.text)
    assert document["openapi"].startswith("3.")
    operations = {
        op["operationId"]: op for path in document["paths"].values() for op in path.values()
    }
    assert "DataService_GetPatent" in operations
    assert "FederationService_ListNodes" not in operations  # no federation service here
    assert "common written form" in operations["DataService_GetPatent"]["description"]
    page = requests.get(f"{node.url}/reference", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "common written form" in page.text


def test_reflection_serves_descriptors_with_their_comments(node: Node) -> None:
    with grpc.insecure_channel(node.grpc["data"]) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="puhui.data.v1.DataService"
        )
        reply = next(iter(stub.ServerReflectionInfo(iter([request]), timeout=10)))
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in reply.file_descriptor_response.file_descriptor_proto
    ]
    data = next(f for f in files if f.name == "puhui/data/v1/data.proto")
    comments = " ".join(loc.leading_comments for loc in data.source_code_info.location)
    assert "common written form" in comments


def test_the_portal_is_served_and_uses_only_the_public_json_api(node: Node) -> None:
    page = requests.get(f"{node.url}/portal/", timeout=10)
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    script = requests.get(f"{node.url}/portal/app.js", timeout=10)
    assert script.status_code == 200
    document = yaml.safe_load(requests.get(f"{node.url}/openapi.yaml", timeout=10).text)
    templates = [
        re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        for path in document["paths"]
    ]
    called = set(re.findall(r"[\"`]/v1/([A-Za-z]+(?::[A-Za-z]+)?)", script.text))
    assert len(called) >= 8
    for path in called:
        assert any(t.match(f"/v1/{path}") for t in templates), path
    if shutil.which("node"):  # the script at least parses
        check = subprocess.run(
            ["node", "--check", str(gateway.ROOT / "portal" / "app.js")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stderr


def test_quota_exhausted_is_429_with_retry_info(node: Node) -> None:
    # Anonymous callers get 30 data requests a minute (PUHUI_DATA_QUOTAS).
    for _ in range(40):
        reply = requests.get(f"{node.url}/v1/trademarks:search", timeout=10)
        if reply.status_code != 200:
            break
    assert reply.status_code == 429, reply.text
    body = reply.json()
    assert body["code"] == 8  # RESOURCE_EXHAUSTED
    retry = details(body, "type.googleapis.com/google.rpc.RetryInfo")
    assert retry
    assert retry[0]["retryDelay"].endswith("s")
    assert details(body, ERROR_INFO)[0]["domain"] == "puhui.cn"
