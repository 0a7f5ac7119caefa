"""Echo servers for bench/grpc_lanes: the same no-op method behind each design of issue 16.

- ``sync``: grpcio's synchronous server, one pool (the ceiling of bench/grpc_read);
- ``interceptor``: as ``sync`` with the kit's ServiceInterceptor (telemetry off), no lanes;
- ``lanes``: as ``interceptor`` with the kit's admission (`puhui.kit.admission`);
- ``aio``: grpc.aio, the echo a synchronous handler run in its migration thread pool.

Each with PUHUI_GRPC_WORKERS threads (``--workers``). Prints the port it bound.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import threading
from concurrent import futures
from typing import Any

import grpc

from puhui.kit import auth, config
from puhui.kit.admission import Admission
from puhui.kit.interceptors import ServiceInterceptor

SERVICE = "puhui.bench.v1.Noop"


def _echo(request: bytes, _context: Any) -> bytes:
    return request


def _handler() -> grpc.GenericRpcHandler:
    return grpc.method_handlers_generic_handler(
        SERVICE, {"Echo": grpc.unary_unary_rpc_method_handler(_echo)}
    )


def serve_sync(mode: str, workers: int) -> tuple[grpc.Server, int]:
    interceptors: list[grpc.ServerInterceptor] = []
    pool: futures.ThreadPoolExecutor = futures.ThreadPoolExecutor(max_workers=workers)
    if mode != "sync":
        admission = None
        if mode == "lanes":
            cfg = config.load(config.ServiceConfig, {}, grpc_workers=workers)
            admission = Admission(cfg, "bench")
            pool = admission.default_pool
        interceptors.append(
            ServiceInterceptor(
                "bench", "000000", auth.RejectingVerifier(), telemetry=False, admission=admission
            )
        )
    server = grpc.server(pool, interceptors=interceptors)
    server.add_generic_rpc_handlers((_handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


async def serve_aio(workers: int) -> None:
    server = grpc.aio.server(migration_thread_pool=futures.ThreadPoolExecutor(workers))
    server.add_generic_rpc_handlers((_handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    await done.wait()
    await server.stop(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("sync", "interceptor", "lanes", "aio"), default="sync")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    if args.mode == "aio":
        asyncio.run(serve_aio(args.workers))
        return
    server, port = serve_sync(args.mode, args.workers)
    print(port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    server.stop(1).wait()


if __name__ == "__main__":
    main()
