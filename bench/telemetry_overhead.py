"""What metrics and tracing cost on the foundation read RPC, measured on vs off in one run.

Three catalog processes (`python -m puhui.catalog`) over the same PostgreSQL database serve
CatalogService.GetInstitution:
- off:    PUHUI_TELEMETRY=off (no server span, no RPC metrics),
- on:     the default (server span created, RED metrics recorded; no trace export),
- export: the default plus OTEL_EXPORTER_OTLP_ENDPOINT (http://, plaintext) pointing at an
          OTLP receiver in its own process that drops what it gets (spans batched and
          exported every 0.5 s).
The load generator (bench/harness.py, grpc.aio, one process) drives them in alternating
rounds (off, on, export, off, on, export, …) so that drift on a shared machine spreads over
all three; the no-op grpcio server is the ceiling, measured in the same run.

Target (issue 8): on and export lose at most 10% of the off throughput.

    python -m bench.telemetry_overhead [--quick] [--rounds 3] [--duration 8]

(run as a module, like bench.grpc_read, whose seeding it reuses)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import ExitStack, contextmanager

import grpc

from bench import harness
from bench.grpc_read import GET, seed_institution
from puhui.catalog.v1 import catalog_pb2
from puhui.kit.testing import infra, temporary_database

VARIANTS = ("off", "on", "export")


def run_collector(port_file: str) -> None:
    """An OTLP/gRPC trace receiver that accepts and drops everything (own process)."""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    class Drop(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):  # type: ignore[no-untyped-def]
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Drop(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


@contextmanager
def collector() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.telemetry_overhead", "--collector"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=harness.ROOT,
    )
    try:
        assert proc.stdout is not None
        yield f"127.0.0.1:{int(proc.stdout.readline())}"
    finally:
        proc.terminate()
        proc.wait(10)


def interceptor_cpu_us(telemetry: bool, calls: int = 20000) -> float:
    """CPU microseconds per call of the server interceptor around a no-op handler, in this
    process (less noisy than throughput on a shared machine: process time, not wall time)."""
    from puhui.kit import auth, tracing
    from puhui.kit.interceptors import ServiceInterceptor

    tracing.setup("catalog", "440000")

    class Context:
        def invocation_metadata(self):  # type: ignore[no-untyped-def]
            return (("user-agent", "grpc-python"),)

        def peer(self) -> str:
            return "ipv4:127.0.0.1:5555"

        def code(self) -> None:
            return None

    interceptor = ServiceInterceptor(
        "catalog", "440000", auth.RejectingVerifier(), telemetry=telemetry
    )
    handle = interceptor._unary(lambda request, context: request, "CatalogService/GetInstitution")
    context = Context()
    for _ in range(1000):
        handle(b"x", context)
    started = time.process_time()
    for _ in range(calls):
        handle(b"x", context)
    return (time.process_time() - started) / calls * 1e6


def merge(results: list[harness.LoadResult]) -> harness.LoadResult:
    return harness.LoadResult(
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
        seconds=sum(r.seconds for r in results),
        latencies=[x for r in results for x in r.latencies],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s per variant")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per round")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--collector", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.collector:
        run_collector("")
        return
    if args.quick:
        args.rounds, args.duration = 1, 3.0

    request_noop = catalog_pb2.GetInstitutionRequest(
        institution_id="440000-000001"
    ).SerializeToString()
    with harness.noop_ceiling() as noop:
        ceiling = harness.load(
            noop,
            harness.NOOP_METHOD,
            request_noop,
            concurrency=args.concurrency,
            duration=args.duration,
        )

    rounds: dict[str, list[harness.LoadResult]] = {v: [] for v in VARIANTS}
    with temporary_database(infra("PUHUI_POSTGRES_URL"), "bench") as url, ExitStack() as stack:
        endpoint = stack.enter_context(collector())
        base = {
            "PUHUI_NODE_ID": "440000",
            "PUHUI_DATABASE_URL": url,
            "PUHUI_KAFKA_BOOTSTRAP": os.environ.get(
                "PUHUI_KAFKA_BOOTSTRAP", infra("PUHUI_KAFKA_BOOTSTRAP")
            ),
        }
        env = {
            "off": {**base, "PUHUI_TELEMETRY": "off"},
            "on": {**base, "PUHUI_TELEMETRY": "on"},
            "export": {
                **base,
                "PUHUI_TELEMETRY": "on",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{endpoint}",
            },
        }
        institution_id = seed_institution(url)
        targets = {}
        for variant in VARIANTS:  # one at a time: concurrent migrations of one database race
            targets[variant] = stack.enter_context(harness.spawn_service("catalog", env[variant]))
        request = catalog_pb2.GetInstitutionRequest(
            institution_id=institution_id
        ).SerializeToString()
        for _ in range(args.rounds):
            for variant in VARIANTS:
                rounds[variant].append(
                    harness.load(
                        targets[variant],
                        GET,
                        request,
                        concurrency=args.concurrency,
                        duration=args.duration,
                    )
                )

    off, on, export = (merge(rounds[v]) for v in VARIANTS)
    cpu_off = min(interceptor_cpu_us(False) for _ in range(3))
    cpu_on = min(interceptor_cpu_us(True) for _ in range(3))
    figures = {
        **off.summary("off_"),
        **on.summary("on_"),
        **export.summary("export_"),
        "interceptor_cpu_per_call_off": {"value": round(cpu_off, 1), "unit": "us"},
        "interceptor_cpu_per_call_on": {"value": round(cpu_on, 1), "unit": "us"},
        "telemetry_cpu_per_rpc": {"value": round(cpu_on - cpu_off, 1), "unit": "us"},
        "telemetry_cpu_share_of_off_rpc": {
            "value": round((cpu_on - cpu_off) * off.rps / 1e6 * 100, 2),
            "unit": "% of 1 core at off req/s",
        },
    }
    per_round = {v: [round(r.rps, 1) for r in rounds[v]] for v in VARIANTS}
    harness.write_result(
        "telemetry_overhead",
        figures,
        ceiling=ceiling.summary("off_"),
        ratios={
            "req_per_s (on/off)": on.rps / off.rps,
            "req_per_s (export/off)": export.rps / off.rps,
            "p99 (on/off)": on.percentile(0.99) / off.percentile(0.99),
            "p99 (export/off)": export.percentile(0.99) / off.percentile(0.99),
            "req_per_s (off/noop)": off.rps / ceiling.rps,
        },
        conditions={
            "rpc": "CatalogService.GetInstitution (PostgreSQL primary-key read)",
            "variants": {
                "off": "PUHUI_TELEMETRY=off",
                "on": "default: server span + RED metrics, no export",
                "export": "default + OTLP/gRPC export to a dropping receiver (own process)",
            },
            "ceiling": "no-op grpcio sync server, 16 workers, echo",
            "client": "grpc.aio, one process",
            "concurrency": args.concurrency,
            "rounds": args.rounds,
            "round_duration_s": args.duration,
            "order": "alternating off, on, export per round",
            "req_per_s_per_round": per_round,
            "note": "2-core machine shared with other work: figures are noisy",
        },
        targets={"throughput loss (1 - on/off, 1 - export/off)": "<= 10%"},
    )
    print(
        f"throughput loss: on {1 - on.rps / off.rps:+.1%}, export {1 - export.rps / off.rps:+.1%} "
        f"(per round req/s: {per_round})"
    )


if __name__ == "__main__":
    main()
