"""A service process configured for telemetry by nothing but the OpenTelemetry SDK's standard
variables: its spans arrive at a real OTLP receiver under the service name it was given,
with the resource attributes it was given, and its access log quotes the same trace id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from puhui.kit import tls
from puhui.kit.testing import otlp_receiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]

METHOD = "/puhui.catalog.v1.CatalogService/GetInstitution"


def start_catalog(state: Path, extra_env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PUHUI_STATE": str(state),  # where its SQLite database goes: not telemetry
        **extra_env,
    }
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "puhui.catalog"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=(state / "stderr.log").open("w"),
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    for line in process.stdout:
        if line.startswith("catalog node="):
            address = line.split("grpc=", 1)[1].split()[0]
            return process, address
        assert time.monotonic() < deadline, "the catalog did not start"
    raise AssertionError(f"the catalog exited: {(state / 'stderr.log').read_text()[-2000:]}")


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def test_spans_reach_a_tls_endpoint_trusting_the_given_certificate(tmp_path):
    """https:// is TLS: the exporter verifies the receiver against
    OTEL_EXPORTER_OTLP_CERTIFICATE (the exporter used to be plaintext whatever it was told)."""
    ca = tls.create_ca("OTLP test CA")
    ca_file, _ = ca.write(tmp_path / "pki", "ca")
    cert, key = tls.issue_node_certificate(
        ca, "440000", dns_names=["localhost"], ip_addresses=["127.0.0.1"]
    ).write(tmp_path / "pki", "collector")
    state = tmp_path / "state"
    state.mkdir()
    with otlp_receiver(tls.server_credentials(cert, key)) as (receiver, endpoint):
        process, address = start_catalog(
            state,
            {
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"https://{endpoint}",
                "OTEL_EXPORTER_OTLP_CERTIFICATE": str(ca_file),
                "OTEL_SERVICE_NAME": "catalog-tls",
            },
        )
        try:
            with grpc.insecure_channel(address) as channel, pytest.raises(grpc.RpcError):
                channel.unary_unary(METHOD)(b"", timeout=10)
            deadline = time.monotonic() + 30
            while not receiver.of_service("catalog-tls"):
                assert time.monotonic() < deadline, (state / "stderr.log").read_text()[-2000:]
                time.sleep(0.2)
        finally:
            stop(process)


def test_spans_reach_the_otlp_endpoint_named_by_the_standard_variables(tmp_path):
    with otlp_receiver() as (receiver, endpoint):
        process, address = start_catalog(
            tmp_path,
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{endpoint}",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                "OTEL_SERVICE_NAME": "catalog-guangdong",
                "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test,puhui.region=south",
                "OTEL_TRACES_SAMPLER": "parentbased_always_on",
            },
        )
        try:
            with grpc.insecure_channel(address) as channel:
                call = channel.unary_unary(METHOD)
                with pytest.raises(grpc.RpcError) as failed:
                    call(b"", timeout=10)  # no id: a caller's mistake, still one RPC span
                assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            deadline = time.monotonic() + 30
            while not receiver.of_service("catalog-guangdong"):
                assert time.monotonic() < deadline, f"no span arrived: {receiver.service_names}"
                time.sleep(0.2)
        finally:
            stop(process)
    spans = receiver.of_service("catalog-guangdong")
    assert "puhui-catalog" not in receiver.service_names
    server = [s for s in spans if s.name == "CatalogService/GetInstitution"]
    assert server, [s.name for s in spans]
    access = [
        json.loads(line)
        for line in (tmp_path / "stderr.log").read_text().splitlines()
        if line.startswith("{") and '"puhui.access"' in line
    ]
    assert [a["trace_id"] for a in access] == [server[0].trace_id.hex()]
    assert access[0]["rpc_code"] == "INVALID_ARGUMENT"
