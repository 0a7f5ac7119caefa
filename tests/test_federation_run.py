"""`puhui run` (what `make run` starts): the local federation comes up, answers a
cross-node call, serves JSON through each node's gateway (the README's curl examples run
verbatim), and Ctrl-C stops everything within 10 s."""

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
from puhui.federation.local import HUB, NODES, gateway_port, port, services_of
from puhui.federation.v1 import federation_pb2 as fpb
from puhui.federation.v1 import federation_pb2_grpc

pytestmark = pytest.mark.integration
README = Path(__file__).resolve().parent.parent / "README.md"


def readme_curl_examples() -> str:
    """The bash block of the README's "JSON over HTTP" section."""
    text = README.read_text()
    section = text[text.index("### JSON over HTTP") :]
    start = section.index("```bash\n") + len("```bash\n")
    return section[start : section.index("```", start)]


def run_readme_curl_examples(cwd: Path) -> None:
    script = readme_curl_examples()
    assert script.count("curl ") >= 6
    result = subprocess.run(
        ["bash", "-e", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert '"institutions":' in out  # search at 320000
    assert '"code":"440100"' in out.replace(" ", "")  # divisions of Guangdong
    assert '"personId":' in out  # registered, then GetMe with the bearer token
    assert '"matches":' in out  # Match at 320000 with a 440000 token
    assert "HTTP/1.1 404" in out
    assert '"code":5' in out.replace(" ", "")  # google.rpc.Status NOT_FOUND
    assert "openapi: 3." in out


def busy(p: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", p)) == 0


def test_puhui_run_starts_the_local_federation_and_stops_on_ctrl_c(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    ports = [port(n, s) for n in NODES for s in services_of(n)] + [gateway_port(n) for n in NODES]
    taken = [p for p in ports if busy(p)]
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
        for node in NODES:
            assert f"api http://127.0.0.1:{gateway_port(node)}/" in text
            assert f"portal http://127.0.0.1:{gateway_port(node)}/portal/" in text
        run_readme_curl_examples(tmp_path)

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
