"""`puhui run` (what `make run` starts): the local federation comes up, answers a
cross-node call, and Ctrl-C stops everything within 10 s."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from puhui.federation.local import HUB, NODES, port, services_of
from puhui.federation.v1 import federation_pb2 as fpb
from puhui.federation.v1 import federation_pb2_grpc

pytestmark = pytest.mark.integration


def busy(p: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", p)) == 0


def test_puhui_run_starts_the_local_federation_and_stops_on_ctrl_c(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    taken = [port(n, s) for n in NODES for s in services_of(n) if busy(port(n, s))]
    if taken:
        pytest.fail(
            f"ports of the local federation are busy ({taken[:3]}): stop `make run` first",
            pytrace=False,
        )
    env = {**os.environ, "PUHUI_STATE": str(tmp_path), "PUHUI_KAFKA_BOOTSTRAP": kafka_bootstrap}
    env.pop("PUHUI_DATABASE_URL", None)
    out = (tmp_path / "run.out").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "puhui.cli", "run"], env=env, stdout=out, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 240
        text = ""
        while time.monotonic() < deadline and proc.poll() is None:
            text = (tmp_path / "run.out").read_text()
            if "Ctrl-C stops everything." in text:
                break
            time.sleep(0.5)
        assert "Ctrl-C stops everything." in text, text[-2000:]
        for node in NODES:
            for service in services_of(node):
                assert f"grpc 127.0.0.1:{port(node, service)}" in text
        assert "[joined]" in text
        assert "puhui signin" in text

        with grpc.insecure_channel(f"127.0.0.1:{port('320000', 'catalog')}") as channel:
            found = catalog_pb2_grpc.CatalogServiceStub(channel).SearchInstitutions(
                catalog_pb2.SearchInstitutionsRequest(query="中心"), timeout=10
            )
        assert found.total_size > 0  # seeded example institutions
        with grpc.insecure_channel(f"127.0.0.1:{port(HUB, 'federation')}") as channel:
            nodes = federation_pb2_grpc.FederationServiceStub(channel).ListNodes(
                fpb.ListNodesRequest(), timeout=10
            )
        assert {"440000", "320000"} <= {n.node_id for n in nodes.nodes}
    finally:
        signalled = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    took = time.monotonic() - signalled
    assert took < 10, f"Ctrl-C took {took:.1f}s"
    assert proc.returncode == 0
