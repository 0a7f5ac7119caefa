"""The ceiling: a grpcio sync server whose one method returns its request unchanged.

Same thread-pool size as the services (PUHUI_GRPC_WORKERS, default 4), no interceptors,
no database. Run: python bench/noop_server.py --port 0  (prints the port it bound).
"""

from __future__ import annotations

import argparse
import signal
import threading
from concurrent import futures

import grpc

METHOD = "/puhui.bench.v1.Noop/Echo"


def _echo(request: bytes, _context: grpc.ServicerContext) -> bytes:
    return request


def serve(port: int, workers: int = 16) -> tuple[grpc.Server, int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    handler = grpc.method_handlers_generic_handler(
        "puhui.bench.v1.Noop", {"Echo": grpc.unary_unary_rpc_method_handler(_echo)}
    )
    server.add_generic_rpc_handlers((handler,))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server, bound


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    server, port = serve(args.port, args.workers)
    print(port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    server.stop(1).wait()


if __name__ == "__main__":
    main()
