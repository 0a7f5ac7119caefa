"""Foundation benchmark: real read RPCs of our services beside a no-op grpcio server.

The ceiling is bench/noop_server.py (same thread-pool size, no interceptors, no database).
Measured in the same run with the same grpc.aio load generator, each service in its own
process with the whole kit (interceptor, caller identity, RED metrics, tracing, health):

- IdentityService.GetJwks — the read every verifier of the network makes; the node's key
  set is served from memory for PUHUI_IDENTITY_JWKS_CACHE_SECONDS (PostgreSQL behind it).
  This is the figure held against the targets: it isolates what the kit and the service
  add to a gRPC call.
- CatalogService.GetInstitution — a PostgreSQL primary-key read on every call, no cache.
  Reported beside it: on a 2-core machine the database round trip (PostgreSQL's CPU, the
  driver, the session) costs more than the whole no-op RPC, so this figure shows that
  cost rather than the kit's.

Targets (issue 2): real ≥ 60% of the no-op req/s; real p99 ≤ 2× the no-op p99. Server CPU
per request (the process's CPU seconds / requests) is written beside each figure: it is
steadier than req/s when other work shares the machine.

    python -m bench.grpc_read [--concurrency 32] [--duration 10]
"""

from __future__ import annotations

import argparse
import base64
import os

from bench import harness
from puhui.catalog import domain, seed
from puhui.catalog.v1 import catalog_pb2
from puhui.identity.v1 import identity_pb2
from puhui.kit import migrations
from puhui.kit.db import Database
from puhui.kit.testing import infra, temporary_database

GET_JWKS = "/puhui.identity.v1.IdentityService/GetJwks"
GET_INSTITUTION = "/puhui.catalog.v1.CatalogService/GetInstitution"


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


def identity_env(url: str) -> dict[str, str]:
    return {
        "PUHUI_NODE_ID": "440000",
        "PUHUI_DATABASE_URL": url,
        "PUHUI_REDIS_URL": infra("PUHUI_REDIS_URL"),
        "PUHUI_KAFKA_BOOTSTRAP": infra("PUHUI_KAFKA_BOOTSTRAP"),
        "PUHUI_IDENTITY_ID_NUMBER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "PUHUI_IDENTITY_KEY_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--name", default="grpc_read")
    parser.add_argument(
        "--env", action="append", default=[], help="extra KEY=VALUE for the service processes"
    )
    args = parser.parse_args()
    extra = dict(kv.split("=", 1) for kv in args.env)
    run = {"concurrency": args.concurrency, "duration": args.duration}

    workers = int(extra.get("PUHUI_GRPC_WORKERS", "4"))
    with harness.noop_ceiling_process(workers) as (noop, pid):
        request = identity_pb2.GetJwksRequest().SerializeToString()
        ceiling = harness.load(noop, harness.NOOP_METHOD, request, server_pid=pid, **run)

    postgres = infra("PUHUI_POSTGRES_URL")
    with temporary_database(postgres, "bench") as url:
        env = {**identity_env(url), **extra}
        with harness.spawn_service_process("identity", env) as (target, pid):
            request = identity_pb2.GetJwksRequest().SerializeToString()
            real = harness.load(target, GET_JWKS, request, server_pid=pid, **run)

    with temporary_database(postgres, "bench") as url:
        env = {
            "PUHUI_NODE_ID": "440000",
            "PUHUI_DATABASE_URL": url,
            "PUHUI_KAFKA_BOOTSTRAP": infra("PUHUI_KAFKA_BOOTSTRAP"),
            **extra,
        }
        institution_id = seed_institution(url)
        with harness.spawn_service_process("catalog", env) as (target, pid):
            request = catalog_pb2.GetInstitutionRequest(
                institution_id=institution_id
            ).SerializeToString()
            database = harness.load(target, GET_INSTITUTION, request, server_pid=pid, **run)

    figures = {**real.summary(), **database.summary("get_institution_")}
    harness.write_result(
        args.name,
        figures,
        ceiling=ceiling.summary(),
        ratios={
            "req_per_s (real/noop)": real.rps / ceiling.rps,
            "p99 (real/noop)": real.percentile(0.99) / ceiling.percentile(0.99),
            "get_institution req_per_s (real/noop)": database.rps / ceiling.rps,
            "get_institution p99 (real/noop)": (
                database.percentile(0.99) / ceiling.percentile(0.99)
            ),
        },
        conditions={
            "rpc": "IdentityService.GetJwks (key set served from memory, "
            "PUHUI_IDENTITY_JWKS_CACHE_SECONDS=10 in front of PostgreSQL)",
            "get_institution_rpc": "CatalogService.GetInstitution (PostgreSQL primary-key "
            "read on every call, no cache)",
            "ceiling": f"no-op grpcio sync server, {workers} workers (as the services), echo",
            "client": "grpc.aio, one process, on the same 2 cores as server and database",
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "service_env": dict(extra),
            "load_average_at_end": os.getloadavg()[0],
        },
        targets={"req_per_s ratio": ">= 0.60", "p99 ratio": "<= 2.0"},
    )


if __name__ == "__main__":
    main()
