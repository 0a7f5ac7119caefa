"""An upgrade on the local stack, as docs/ops/upgrade.md prescribes, with traffic running.

The old version is the real previous release of the data service: the tree of the commit
before its newest migration, exported from git and run in its own processes. The new version
is this tree. Steps: the old server serves on its schema; a new server started before the
migrations refuses readiness and says why; the runbook's migration step (executed as written)
expands the schema while the old server keeps serving; the new server goes Ready; the old one
leaves the endpoints and drains on SIGTERM. A client that, like a Kubernetes Service, sends
only to Ready endpoints must see no failed request throughout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.kit import migrations
from puhui.kit.testing import free_port, temporary_database

from .test_deploy_runbooks import run_block, runbook_blocks

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = "services/data/migrations/versions"
PYTHON = Path(sys.executable)
# `puhui ...` of whichever tree PYTHONPATH puts first (the console script is puhui.cli:main).
PUHUI = [str(PYTHON), "-c", "import sys; from puhui.cli import main; sys.exit(main())"]


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout


def previous_release(into: Path) -> str:
    """Export the tree of the commit before the data service's newest migration as
    `into/puhui` (the layout the installed package has); return that commit."""
    (head,) = migrations.heads("data")
    newest = next(ROOT.joinpath(VERSIONS).glob(f"{head}_*.py")).relative_to(ROOT)
    added = git("log", "--diff-filter=A", "--format=%H", "-1", "--", str(newest)).decode().strip()
    assert added, f"{newest} is not in git history: the upgrade test needs the repository"
    old = f"{added}^"
    with tarfile.open(fileobj=BytesIO(git("archive", "--format=tar", old, "services"))) as tar:
        tar.extractall(into, filter="data")
    (into / "services").rename(into / "puhui")
    return old


class Server:
    """One data server process of a given code tree (None: this tree)."""

    def __init__(self, tree: Path | None, database_url: str, logs: Path, name: str) -> None:
        self.port, self.health_port = free_port(), free_port()
        env = {
            **os.environ,
            "PUHUI_DATABASE_URL": database_url,
            "PUHUI_MIGRATE_ON_START": "false",
            "PUHUI_GRPC_HOST": "127.0.0.1",
            "PUHUI_GRPC_PORT": str(self.port),
            "PUHUI_HEALTH_PORT": str(self.health_port),
            "PUHUI_METRICS_PORT": "0",
            "PUHUI_KAFKA_BOOTSTRAP": "",
            "PUHUI_DATA_QUOTA_ENABLED": "false",
            "PUHUI_SHUTDOWN_GRACE_SECONDS": "5",
            "PUHUI_STATE": str(logs / name),
        }
        if tree is not None:
            env["PYTHONPATH"] = str(tree)
        self.log = logs / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*PUHUI, "serve", "data"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=logs,
            )
        self.address = f"127.0.0.1:{self.port}"

    def health(self) -> str:
        try:
            with grpc.insecure_channel(f"127.0.0.1:{self.health_port}") as channel:
                status = (
                    health_pb2_grpc.HealthStub(channel)
                    .Check(health_pb2.HealthCheckRequest(), timeout=1)
                    .status
                )
        except grpc.RpcError as exc:
            return f"DOWN ({exc.code().name})"
        return health_pb2.HealthCheckResponse.ServingStatus.Name(status)

    def wait(self, status: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            if self.health() == status:
                return
            time.sleep(0.2)
        raise AssertionError(f"not {status} within {timeout}s:\n{self.log.read_text()}")

    def wait_log(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log.read_text():
            assert time.monotonic() < deadline, f"{text!r} not logged:\n{self.log.read_text()}"
            time.sleep(0.2)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


class Traffic(threading.Thread):
    """Calls a public read in a loop on the Ready endpoints, round robin, like a Service."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.endpoints: list[str] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.ok: dict[str, int] = {}
        self.failures: list[str] = []

    def set_endpoints(self, endpoints: list[str]) -> None:
        with self.lock:
            self.endpoints = list(endpoints)

    def run(self) -> None:
        stubs: dict[str, data_pb2_grpc.ReferenceServiceStub] = {}
        channels: list[grpc.Channel] = []
        turn = 0
        while not self.done.is_set():
            with self.lock:
                endpoints = list(self.endpoints)
            if not endpoints:
                time.sleep(0.05)
                continue
            address = endpoints[turn % len(endpoints)]
            turn += 1
            if address not in stubs:
                channels.append(grpc.insecure_channel(address))
                stubs[address] = data_pb2_grpc.ReferenceServiceStub(channels[-1])
            try:
                stubs[address].ListNiceClasses(data_pb2.ListNiceClassesRequest(), timeout=5)
                self.ok[address] = self.ok.get(address, 0) + 1
            except grpc.RpcError as exc:
                self.failures.append(f"{address}: {exc.code().name} {exc.details()}")
            time.sleep(0.02)
        for channel in channels:
            channel.close()


@pytest.fixture
def data_database(postgres_admin_url: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, "upgrade") as url:
        yield url


def test_upgrade_old_to_new_with_traffic_and_no_failed_request(
    data_database: str, tmp_path: Path
) -> None:
    old_tree = tmp_path / "old"
    previous_release(old_tree)
    venv_bin = str(PYTHON.parent)
    # The previous release migrates its own schema and serves.
    subprocess.run(
        [*PUHUI, "migrate", "data"],
        env={**os.environ, "PYTHONPATH": str(old_tree), "PUHUI_DATABASE_URL": data_database},
        check=True,
        capture_output=True,
    )
    before = migrations.current("data", data_database)
    servers: list[Server] = []
    traffic = Traffic()
    try:
        old = Server(old_tree, data_database, tmp_path, "old")
        servers.append(old)
        old.wait("SERVING")
        traffic.set_endpoints([old.address])
        traffic.start()
        # The new release started before its migrations: alive, never Ready, and it says why.
        new = Server(None, data_database, tmp_path, "new")
        servers.append(new)
        new.wait("NOT_SERVING")
        new.wait_log("schema behind the code")
        assert new.health() == "NOT_SERVING"
        # The runbook's step: migrations first, as written.
        step = runbook_blocks("upgrade.md")["local-migrate"]
        out = run_block(
            step,
            {"PUHUI_DATABASE_URL": data_database, "PATH": f"{venv_bin}:{os.environ['PATH']}"},
            ROOT,
        )
        assert migrations.current("data", data_database) != before, out
        new.wait("SERVING")
        traffic.set_endpoints([old.address, new.address])
        time.sleep(1)
        # The old pod leaves the endpoints (preStop), then drains on SIGTERM.
        traffic.set_endpoints([new.address])
        time.sleep(0.5)
        assert old.stop() == 0, old.log.read_text()
        time.sleep(1)
    finally:
        traffic.done.set()
        if traffic.is_alive():
            traffic.join(timeout=10)
        for server in servers:
            server.stop()
    assert traffic.failures == [], traffic.failures[:5]
    assert traffic.ok.get(old.address, 0) > 10, traffic.ok
    assert traffic.ok.get(new.address, 0) > 10, traffic.ok
