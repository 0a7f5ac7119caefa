"""Benchmark harness shared by every benchmark in bench/.

- `machine()` describes the machine; `write_result()` writes bench/results/<name>.json
  (machine, date, figures with units, ceiling measured in the same run, ratio) and prints
  a table.
- `load()` is the load generator: a grpc.aio client with N concurrent callers for a fixed
  duration, reporting req/s, p50 and p99.
- `NoopCeiling` starts bench/noop_server.py in its own process: the ceiling for RPC figures.
- `spawn_service()` runs a real service as its own process (`python -m puhui.<service>`),
  so the load generator never shares a GIL with the server it measures.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

from puhui.kit.testing import free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
    }


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    server_cpu_seconds: float | None = None  # of the measured window, when a pid was given

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self, prefix: str = "") -> dict[str, dict[str, float | str]]:
        return {
            f"{prefix}req_per_s": {"value": round(self.rps, 1), "unit": "req/s"},
            f"{prefix}p50": {"value": round(self.percentile(0.50) * 1000, 3), "unit": "ms"},
            f"{prefix}p99": {"value": round(self.percentile(0.99) * 1000, 3), "unit": "ms"},
            f"{prefix}errors": {"value": self.errors, "unit": "requests"},
            **(
                {
                    f"{prefix}server_cpu": {
                        "value": round(self.server_cpu_seconds / self.requests * 1e6),
                        "unit": "µs CPU/req",
                    }
                }
                if self.server_cpu_seconds is not None and self.requests
                else {}
            ),
        }


def load(
    target: str,
    method: str,
    request: bytes | Callable[[int], bytes],
    *,
    concurrency: int = 32,
    duration: float = 10.0,
    warmup: float = 2.0,
    metadata: tuple[tuple[str, str], ...] = (),
    server_pid: int | None = None,
) -> LoadResult:
    """Call `method` on `target` from `concurrency` callers for `duration` seconds (after
    `warmup`); with `server_pid`, also the server process's CPU over the measured window."""

    async def run() -> LoadResult:
        async with grpc.aio.insecure_channel(target) as channel:
            call = channel.unary_unary(method)
            latencies: list[float] = []
            errors = 0
            counter = 0
            measuring = False
            stop_at = 0.0

            async def worker() -> None:
                nonlocal errors, counter
                while True:
                    now = time.perf_counter()
                    if measuring and now >= stop_at:
                        return
                    counter += 1
                    body = request(counter) if callable(request) else request
                    started = time.perf_counter()
                    try:
                        await call(body, timeout=10, metadata=metadata)
                        ok = True
                    except grpc.aio.AioRpcError:
                        ok = False
                    if measuring:
                        latencies.append(time.perf_counter() - started)
                        if not ok:
                            errors += 1

            tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
            await asyncio.sleep(warmup)
            cpu_before = process_cpu_seconds(server_pid) if server_pid else 0.0
            measuring = True
            began = time.perf_counter()
            stop_at = began + duration
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - began
            cpu = process_cpu_seconds(server_pid) - cpu_before if server_pid else None
            return LoadResult(len(latencies) - errors, errors, elapsed, latencies, cpu)

    return asyncio.run(run())


def wait_serving(target: str, timeout: float = 60.0) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise TimeoutError(f"{target} did not become SERVING within {timeout}s")


@contextmanager
def noop_ceiling(workers: int = 4) -> Iterator[str]:
    with noop_ceiling_process(workers) as (target, _pid):
        yield target


@contextmanager
def noop_ceiling_process(workers: int = 4) -> Iterator[tuple[str, int]]:
    """The no-op server in its own process: (address, pid)."""
    proc = subprocess.Popen(
        [PYTHON, str(ROOT / "bench" / "noop_server.py"), "--port", "0", "--workers", str(workers)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


NOOP_METHOD = "/puhui.bench.v1.Noop/Echo"


@contextmanager
def spawn_service(service: str, env: dict[str, str]) -> Iterator[str]:
    """Run `python -m puhui.<service>` with `env`; yield its gRPC address once SERVING."""
    with spawn_service_process(service, env) as (target, _pid):
        yield target


@contextmanager
def spawn_service_process(service: str, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """As spawn_service, yielding (address, pid)."""
    port = free_port()
    full_env = {
        **os.environ,
        "PUHUI_GRPC_PORT": str(port),
        "PUHUI_METRICS_PORT": "0",
        "PUHUI_LOG_LEVEL": "WARNING",
        **env,
    }
    proc = subprocess.Popen(
        [PYTHON, "-m", f"puhui.{service}"], env=full_env, stdout=subprocess.DEVNULL
    )
    target = f"127.0.0.1:{port}"
    try:
        wait_serving(target)
        yield target, proc.pid
    finally:
        proc.terminate()
        proc.wait(15)


def write_result(
    name: str,
    figures: dict[str, dict[str, Any]],
    *,
    ceiling: dict[str, dict[str, Any]],
    ratios: dict[str, float],
    conditions: dict[str, Any],
    targets: dict[str, str] | None = None,
) -> Path:
    """Write bench/results/<name>.json and print a table."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {
        "name": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "conditions": conditions,
        "figures": figures,
        "ceiling": ceiling,
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
        "targets": targets or {},
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\n{name}  ({result['date']}, {result['machine']['cores']} cores)")
    print(f"{'figure':<36}{'ours':>14}{'ceiling':>14}")
    for key, fig in figures.items():
        ceil = ceiling.get(key, {})
        ours = f"{fig['value']:>10} {fig['unit']:<4}"
        print(f"{key:<36}{ours}{ceil.get('value', ''):>10} {ceil.get('unit', '')}")
    for key, ratio in result["ratios"].items():
        print(f"{'ratio ' + key:<36}{ratio:>14}")
    for key, target in (targets or {}).items():
        print(f"target {key}: {target}")
    print(f"written to {path.relative_to(ROOT)}")
    return path
