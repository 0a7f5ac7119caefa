"""Foundation benchmark: one real read RPC of a service beside a no-op grpcio server.

The real RPC is CatalogService.GetInstitution, served by `python -m puhui.catalog` (its own
process: interceptors, tracing, metrics, SQLAlchemy, PostgreSQL from `make up`). The
ceiling is bench/noop_server.py (same thread-pool size, no interceptors, no database),
measured in the same run with the same grpc.aio load generator.

Targets (issue 2): real ≥ 60% of the no-op req/s; real p99 ≤ 2× the no-op p99.

    python -m bench.grpc_read [--concurrency 32] [--duration 10]
"""

from __future__ import annotations

import argparse
import os

from bench import harness
from puhui.catalog import domain, seed
from puhui.catalog.v1 import catalog_pb2
from puhui.kit import migrations
from puhui.kit.db import Database
from puhui.kit.testing import infra, temporary_database

GET = "/puhui.catalog.v1.CatalogService/GetInstitution"


def seed_institution(url: str) -> str:
    """Bulk-load a small generated catalog into the service's database; return the id of an
    approved institution, which any caller (anonymous too) may read."""
    institutions, items = seed.generate("440000", 20, 8)
    migrations.upgrade("catalog", url)
    db = Database(url)
    db.start()
    try:
        seed.bulk_load(db, institutions, items)
    finally:
        db.stop()
    return next(i.institution_id for i in institutions if i.status == domain.Status.APPROVED)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--name", default="grpc_read")
    parser.add_argument(
        "--env", action="append", default=[], help="extra KEY=VALUE for the service process"
    )
    args = parser.parse_args()
    extra = dict(kv.split("=", 1) for kv in args.env)

    workers = int(extra.get("PUHUI_GRPC_WORKERS", "4"))
    with harness.noop_ceiling(workers) as noop:
        request = catalog_pb2.GetInstitutionRequest(
            institution_id="440000-000001"
        ).SerializeToString()
        ceiling = harness.load(
            noop, harness.NOOP_METHOD, request, concurrency=args.concurrency, duration=args.duration
        )

    with temporary_database(infra("PUHUI_POSTGRES_URL"), "bench") as url:
        env = {
            "PUHUI_NODE_ID": "440000",
            "PUHUI_DATABASE_URL": url,
            "PUHUI_KAFKA_BOOTSTRAP": os.environ.get(
                "PUHUI_KAFKA_BOOTSTRAP", infra("PUHUI_KAFKA_BOOTSTRAP")
            ),
            **extra,
        }
        institution_id = seed_institution(url)
        with harness.spawn_service("catalog", env) as target:
            request = catalog_pb2.GetInstitutionRequest(
                institution_id=institution_id
            ).SerializeToString()
            real = harness.load(
                target, GET, request, concurrency=args.concurrency, duration=args.duration
            )

    figures = real.summary()
    ceil = ceiling.summary()
    harness.write_result(
        args.name,
        figures,
        ceiling=ceil,
        ratios={
            "req_per_s (real/noop)": real.rps / ceiling.rps,
            "p99 (real/noop)": real.percentile(0.99) / ceiling.percentile(0.99),
        },
        conditions={
            "rpc": "CatalogService.GetInstitution (PostgreSQL primary-key read)",
            "ceiling": f"no-op grpcio sync server, {workers} workers (as the service), echo",
            "client": "grpc.aio, one process",
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "service_env": dict(extra),
        },
        targets={"req_per_s ratio": ">= 0.60", "p99 ratio": "<= 2.0"},
    )


if __name__ == "__main__":
    main()
