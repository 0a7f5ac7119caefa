"""`puhui run` (what `make run` starts): the local federation comes up with its sample data
mirrored and its local accounts, prints one `ready` line, answers a cross-node call; every
command its banner prints works pasted into a fresh shell; its node logs are JSON lines
only; each node's gateway serves JSON (the README's curl examples run verbatim); Ctrl-C
stops everything within 10 s.

The tests share one federation (starting it takes a minute on a small machine) and run in
file order: the last one stops it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from puhui.federation.local import HUB, NODES, gateway_port, port, services_of
from puhui.federation.v1 import federation_pb2 as fpb
from puhui.federation.v1 import federation_pb2_grpc

pytestmark = [pytest.mark.integration, pytest.mark.slow]
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


@dataclass
class Run:
    proc: subprocess.Popen[bytes]
    out: Path
    state: Path

    def text(self) -> str:
        return self.out.read_text()


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[Run]:
    ports = [port(n, s) for n in NODES for s in services_of(n)] + [gateway_port(n) for n in NODES]
    taken = [p for p in ports if busy(p)]
    if taken:
        pytest.fail(
            f"ports of the local federation are busy ({taken[:3]}): stop `make run` first",
            pytrace=False,
        )
    tmp = tmp_path_factory.mktemp("run")
    env = {
        **os.environ,
        "PUHUI_STATE": str(tmp / "state"),
        "PUHUI_KAFKA_BOOTSTRAP": kafka_bootstrap,
    }
    env.pop("PUHUI_DATABASE_URL", None)
    out = tmp / "run.out"
    with out.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "puhui.cli", "run"], env=env, stdout=sink, stderr=sink
        )
    run = Run(proc, out, tmp / "state")
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if any(line.startswith(("ready", "NOT ready")) for line in run.text().splitlines()):
                break
            time.sleep(0.5)
        yield run
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_puhui_run_starts_the_local_federation_and_prints_one_ready_line(federation: Run):
    text = federation.text()
    ready = [line for line in text.splitlines() if line.startswith(("ready", "NOT ready"))]
    assert len(ready) == 1, text[-3000:]
    assert ready[0].startswith("ready: 3 nodes, 13 services in "), text[-3000:]
    assert text.splitlines()[-1] == ready[0]  # the last line: nothing after it to wait for
    for node in NODES:
        for service in services_of(node):
            assert f"grpc 127.0.0.1:{port(node, service)}" in text
    assert text.count("[joined]") == 2
    assert "mirrored to 440000 and 320000" in text
    assert "grpcurl" not in text
    with grpc.insecure_channel(f"127.0.0.1:{port('320000', 'catalog')}") as channel:
        found = catalog_pb2_grpc.CatalogServiceStub(channel).SearchInstitutions(
            catalog_pb2.SearchInstitutionsRequest(query="中心"), timeout=10
        )
    assert found.total_size > 0  # seeded example institutions
    with grpc.insecure_channel(f"127.0.0.1:{port(HUB, 'federation')}") as channel:
        stub = federation_pb2_grpc.FederationServiceStub(channel)
        nodes = stub.ListNodes(fpb.ListNodesRequest(), timeout=10)
        status = stub.GetFederationStatus(fpb.GetFederationStatusRequest(), timeout=10)
    assert {"440000", "320000"} <= {n.node_id for n in nodes.nodes}
    assert status.hub_data_records > 200  # the shipped patents and trademarks
    mirrors = {p.node_id: p.mirror_in_sync for p in status.provinces if p.node_id != HUB}
    assert mirrors == {"440000": True, "320000": True}


def banner_commands(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Try"))
    end = next(i for i, line in enumerate(lines) if line.startswith("Ctrl-C"))
    return [line.strip().split("    # ")[0] for line in lines[start + 1 : end]]


def test_every_banner_command_works_pasted_into_a_fresh_shell(federation: Run, tmp_path: Path):
    commands = banner_commands(federation.text())
    assert len(commands) >= 10
    shell = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    outputs = {}
    for command in commands:
        done = subprocess.run(
            ["/bin/bash", "-c", command],
            env=shell,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        outputs[command] = done.stdout

    def output(word: str) -> str:
        return next(out for command, out in outputs.items() if f" {word} " in f"{command} ")

    assert "at node 440000" in output("register")
    assert int(output("search").split()[0]) > 0
    assert int(output("patents").split()[0]) > 0  # the hub's records, mirrored to 320000
    assert output("match").count("符合需求") >= 1  # free-text needs, in Chinese
    assert output("federation").count("= hub") == 2
    assert json.loads(output("status"))["ok"] is True
    staff = [out for command, out in outputs.items() if "staff." in command]
    assert len(staff) == 2
    assert all(out.startswith("signed in as") for out in staff)

    # The saved session (the admin's, signed in last) refreshes itself at the real identity
    # service once it is about to expire: no second sign-in after 15 minutes.
    session_file = tmp_path / ".state" / "cli" / "session.json"
    session = json.loads(session_file.read_text())
    session["expires_at"] = time.time() + 5
    session_file.write_text(json.dumps(session))
    search = next(c for c in commands if " search " in c and "--hub" not in c)
    done = subprocess.run(
        ["/bin/bash", "-c", f"{search} --json"], env=shell, cwd=tmp_path,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total_size"] > 0
    renewed = json.loads(session_file.read_text())
    assert renewed["access_token"] != session["access_token"]
    assert renewed["refresh_token"] != session["refresh_token"]  # rotated
    assert renewed["expires_at"] > time.time() + 600


def test_gateways_serve_json_and_the_readme_curl_examples(federation: Run, tmp_path: Path):
    text = federation.text()
    for node in NODES:
        assert f"api http://127.0.0.1:{gateway_port(node)}/" in text
        assert f"portal http://127.0.0.1:{gateway_port(node)}/portal/" in text
    run_readme_curl_examples(tmp_path)


def test_node_logs_are_json_lines_only(federation: Run):
    for log in sorted((federation.state / "logs").glob("*.log")):
        if log.name.endswith("-gateway.log"):
            continue  # the Go gateway's own log, not a node process's
        for line in log.read_text().splitlines():
            if line.strip():
                json.loads(line)  # jq reads every line


def test_ctrl_c_stops_everything_within_10_s(federation: Run):
    signalled = time.monotonic()
    federation.proc.send_signal(signal.SIGINT)
    federation.proc.wait(timeout=30)
    took = time.monotonic() - signalled
    assert took < 10, f"Ctrl-C took {took:.1f}s"
    assert federation.proc.returncode == 0
