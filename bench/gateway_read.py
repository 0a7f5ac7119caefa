"""The HTTP gateway's cost: one read RPC through `puhui-gateway` (JSON) and directly (gRPC).

CatalogService.GetInstitution (a PostgreSQL primary-key read on every call) in one catalog
process, called in the same run

- directly over gRPC (the grpc.aio load generator of bench/harness.py), the ceiling;
- as `GET /v1/institutions/{id}` through the gateway (JSON, HTTP/1.1 keep-alive, one
  connection per caller; an asyncio client on raw streams, so the client costs about what
  grpc.aio costs).

Four callers by default: on the 2 shared cores, 16 callers saturate client, gateway,
service and PostgreSQL, and p99 then measures the queue (callers / req/s) rather than what
the gateway adds to a call. Rounds alternate direct and gateway runs; each side's figure
is its best round (load from other work on the shared machine moves between runs).

Targets (issue 20): gateway ≥ 0.5× the direct req/s; added p99 (gateway p99 − direct p99)
≤ 5 ms. The gateway process's CPU per request is written beside it.

    python -m bench.gateway_read [--concurrency 4] [--duration 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from bench import harness
from bench.grpc_read import GET_INSTITUTION, seed_institution
from puhui.catalog.v1 import catalog_pb2
from puhui.kit import gateway
from puhui.kit.testing import infra, temporary_database


async def _http_get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


def http_load(
    address: str,
    path: str,
    *,
    concurrency: int,
    duration: float,
    server_pid: int,
    warmup: float = 2.0,
) -> harness.LoadResult:
    host, port = address.split(":")
    request = f"GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: application/json\r\n\r\n".encode()

    async def run() -> harness.LoadResult:
        latencies: list[float] = []
        errors = 0
        measuring = False
        stop_at = 0.0

        async def worker() -> None:
            nonlocal errors
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                while True:
                    now = time.perf_counter()
                    if measuring and now >= stop_at:
                        return
                    started = time.perf_counter()
                    status = await _http_get(reader, writer, request)
                    if measuring:
                        latencies.append(time.perf_counter() - started)
                        if status != 200:
                            errors += 1
            finally:
                writer.close()

        tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
        await asyncio.sleep(warmup)
        cpu_before = harness.process_cpu_seconds(server_pid)
        measuring = True
        began = time.perf_counter()
        stop_at = began + duration
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
        cpu = harness.process_cpu_seconds(server_pid) - cpu_before
        return harness.LoadResult(len(latencies) - errors, errors, elapsed, latencies, cpu)

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--name", default="gateway_read")
    args = parser.parse_args()
    run = {"concurrency": args.concurrency, "duration": args.duration}

    direct: list[harness.LoadResult] = []
    through: list[harness.LoadResult] = []
    with temporary_database(infra("PUHUI_POSTGRES_URL"), "bench") as url:
        env = {
            "PUHUI_NODE_ID": "440000",
            "PUHUI_DATABASE_URL": url,
            "PUHUI_KAFKA_BOOTSTRAP": infra("PUHUI_KAFKA_BOOTSTRAP"),
        }
        institution_id = seed_institution(url)
        request = catalog_pb2.GetInstitutionRequest(institution_id=institution_id)
        listen = f"127.0.0.1:{harness.free_port()}"
        with harness.spawn_service_process("catalog", env) as (target, pid):
            argv = gateway.command(listen, gateway.upstreams({"catalog": target}))
            with gateway.serving(argv) as served:
                # Alternating rounds: load from the other work on the machine moves between
                # runs; each side's figure is its best round.
                for _ in range(args.rounds):
                    direct.append(
                        harness.load(
                            target,
                            GET_INSTITUTION,
                            request.SerializeToString(),
                            server_pid=pid,
                            **run,
                        )
                    )
                    through.append(
                        http_load(
                            listen,
                            f"/v1/institutions/{institution_id}",
                            server_pid=served.pid,
                            **run,
                        )
                    )
    best_direct = _best(direct)
    best_through = _best(through)
    added_p99 = best_through.percentile(0.99) - best_direct.percentile(0.99)
    harness.write_result(
        args.name,
        {
            **best_through.summary(),
            "added_p99": {"value": round(added_p99 * 1000, 3), "unit": "ms"},
        },
        ceiling=best_direct.summary(),
        ratios={
            "req_per_s (gateway/direct)": best_through.rps / best_direct.rps,
            "p99 (gateway/direct)": best_through.percentile(0.99) / best_direct.percentile(0.99),
        },
        conditions={
            "rpc": "CatalogService.GetInstitution (PostgreSQL primary-key read on every call)",
            "gateway": "GET /v1/institutions/{id}, JSON, HTTP/1.1 keep-alive, puhui-gateway "
            "(vanguard) → gRPC h2c to the catalog process; server_cpu is the gateway's",
            "ceiling": "the same RPC over gRPC directly (grpc.aio)",
            "rounds": "alternating direct/gateway; each figure is that side's best round "
            "(highest req/s; its p50/p99)",
            "direct_rounds": [_round(r) for r in direct],
            "gateway_rounds": [_round(r) for r in through],
            "client": "one asyncio process on the same 2 cores as gateway, service, database",
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "load_average_at_end": os.getloadavg()[0],
        },
        targets={"req_per_s ratio": ">= 0.5", "added p99": "<= 5 ms"},
    )


def _best(results: list[harness.LoadResult]) -> harness.LoadResult:
    return max(results, key=lambda r: r.rps)


def _round(result: harness.LoadResult) -> dict[str, float]:
    return {
        "req_per_s": round(result.rps, 1),
        "p50_ms": round(result.percentile(0.5) * 1000, 3),
        "p99_ms": round(result.percentile(0.99) * 1000, 3),
    }


if __name__ == "__main__":
    main()
