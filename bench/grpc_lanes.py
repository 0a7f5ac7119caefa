"""Issue 16: what the server's admission lanes cost a unary call, beside grpc.aio.

Four echo servers (bench/lanes_server.py), each in its own process with the same number of
workers, measured one after the other in one run with the same grpc.aio load generator as
bench/grpc_read: the plain synchronous server, the same with the kit's interceptor, the same
with the interceptor and the admission lanes, and grpc.aio with the echo as a synchronous
handler in its migration thread pool. ADR 0013 quotes the figures.

    python -m bench.grpc_lanes [--concurrency 16] [--duration 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from bench import harness

MODES = ("sync", "interceptor", "lanes", "aio")


@contextmanager
def server(mode: str, workers: int) -> Iterator[tuple[str, int]]:
    script = harness.ROOT / "bench" / "lanes_server.py"
    proc = subprocess.Popen(
        [harness.PYTHON, str(script), "--mode", mode, "--workers", str(workers)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield f"127.0.0.1:{int(proc.stdout.readline())}", proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--name", default="grpc_lanes")
    args = parser.parse_args()
    results = {}
    for mode in MODES:
        with server(mode, args.workers) as (target, pid):
            results[mode] = harness.load(
                target,
                harness.NOOP_METHOD,
                b"ping",
                server_pid=pid,
                concurrency=args.concurrency,
                duration=args.duration,
            )
    figures = {}
    for mode in MODES:
        figures.update(results[mode].summary(f"{mode}_"))
    sync = results["sync"]
    harness.write_result(
        args.name,
        figures,
        ceiling=sync.summary(),
        ratios={
            f"{mode} {figure} (/sync)": value
            for mode in MODES[1:]
            for figure, value in (
                ("req_per_s", results[mode].rps / sync.rps),
                ("p99", results[mode].percentile(0.99) / sync.percentile(0.99)),
            )
        },
        conditions={
            "rpc": "echo of 4 bytes, no database",
            "servers": "one process each, measured one after the other",
            "workers": args.workers,
            "client": "grpc.aio, one process, on the same 2 cores as the server",
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "load_average_at_end": os.getloadavg()[0],
        },
    )


if __name__ == "__main__":
    main()
