"""Catalog search and Match at 10,000 institutions and 100,000 service items.

The catalog runs as its own process (`python -m puhui.catalog`, interceptors, metrics,
PostgreSQL from `make up`) over a database bulk-loaded by the seeded example generator
(`puhui.catalog.seed`) as the hub 000000 holds it: institutions of all 31 mainland provinces
in the national proportions; the load generator is bench/harness.py's grpc.aio client with 16
concurrent callers, and the ceiling is the no-op grpcio server measured in the same run.

Each search figure cycles through a fixed mix of realistic requests (region with and without
category, two- and three-character Chinese text, tier, IPC, status), anonymous, page size 20,
total counts included. Match cycles through innovator profiles in cities and counties of
eight provinces.

Searches run twice: with the service's total cache (the default: a total is reused only at
the catalog version it was counted at, so it is exact; the bench writes nothing while it
runs, so after priming every total of the mix is reused) and, in a second service process,
with it off (PUHUI_CATALOG_COUNT_CACHE=0: every search counts), reported as *_nocache_*.
CPU per request is reported for the service process and for PostgreSQL's backends.

Targets (issue 4): search p99 ≤ 50 ms, Match p99 ≤ 100 ms on this 2-core machine.

    python bench/catalog_search.py [--quick] [--concurrency 16] [--duration 10]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from sqlalchemy import create_engine, text

try:  # `python -m bench.catalog_search` from the repository root
    from bench import harness
except ImportError:  # `python bench/catalog_search.py`: bench/ is the script's folder
    import harness  # type: ignore[no-redef]
from puhui.catalog import domain as d
from puhui.catalog import seed
from puhui.catalog.v1 import catalog_pb2 as pb
from puhui.kit import migrations
from puhui.kit.db import Database, normalise_url
from puhui.kit.testing import infra, temporary_database

# The hub: the national catalog every province publishes into, where 10,000 institutions live.
NODE = "000000"
INSTITUTIONS = 10_000
ITEMS = 100_000
SERVICE = "/puhui.catalog.v1.CatalogService/"
NATIONAL_DESIGNATIONS = (pb.INSTITUTION_TIER_TISC, pb.INSTITUTION_TIER_UNIVERSITY_CENTRE)
APPROVED = pb.INSTITUTION_STATUS_APPROVED

CITIES = ["440300", "320500", "330100", "510100", "420100", "370200", "610100", "350200"]
COUNTIES = ["440305", "320505", "330106", "510107", "420106", "370212", "610113", "350203"]


def build_catalog(url: str, seed_value: int) -> dict[str, float]:
    """Generate and bulk-load exactly INSTITUTIONS and ITEMS; returns load figures."""
    institutions, items = seed.generate(NODE, INSTITUTIONS, seed_value, items_scale=1.4)
    if len(items) < ITEMS:
        raise SystemExit(f"generator made only {len(items)} items")
    items = items[:ITEMS]
    migrations.upgrade("catalog", url)
    db = Database(url)
    db.start()
    try:
        started = time.perf_counter()
        seed.bulk_load(db, institutions, items)
        loaded = time.perf_counter() - started
    finally:
        db.stop()
    # What autovacuum would have done by the time a real catalog reached this size.
    engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()
    return {"bulk_load_s": loaded, "rows_per_s": (len(institutions) + len(items)) / loaded}


def institution_requests() -> list[bytes]:
    q = pb.SearchInstitutionsRequest
    reqs = []
    for n, city in enumerate(CITIES):
        county = COUNTIES[n]
        reqs += [
            q(region_code=city),
            q(region_code=county),
            q(region_code=city, category=1 + n % 8),
            q(query="深圳"),
            q(query="支持中心", region_code=city),
            q(query="知识产权服务网点"),
            q(tiers=[NATIONAL_DESIGNATIONS[0], NATIONAL_DESIGNATIONS[1]], region_code=city),
            q(ipc_prefix=["G06F", "H04L", "A61K", "C12N"][n % 4], region_code=city),
            q(statuses=[APPROVED], tiers=[pb.INSTITUTION_TIER_PREFECTURE_CENTRE]),
        ]  # fmt: skip
    for r in reqs:
        r.page_size = 20
    return [r.SerializeToString() for r in reqs]


def item_requests() -> list[bytes]:
    q = pb.SearchServiceItemsRequest
    reqs = []
    for n, city in enumerate(CITIES):
        county = COUNTIES[n]
        reqs += [
            q(region_code=city, categories=[1 + n % 8]),
            q(region_code=county),
            q(query="检索", region_code=city),
            q(query="专利导航"),
            q(query="维权", region_code=county),
            q(service_code="PS-01", region_code=city, cost_class=pb.COST_CLASS_FREE),
            q(categories=[pb.SERVICE_CATEGORY_TRAINING], channel=pb.CHANNEL_ONLINE),
            q(ipc_prefix="G06F", categories=[pb.SERVICE_CATEGORY_PATENT_ANALYSIS]),
        ]  # fmt: skip
    for r in reqs:
        r.page_size = 20
    return [r.SerializeToString() for r in reqs]


def match_requests() -> list[bytes]:
    reqs = []
    for n, region in enumerate(COUNTIES + CITIES):
        stage = list(d.Stage)[n % len(d.Stage)]
        reqs.append(
            pb.MatchRequest(
                profile=pb.InnovatorProfile(
                    region_code=region,
                    innovator_type=1 + n % 4,
                    enterprise_size=1 + n % 4,
                    stage=int(stage),
                    ipc_fields=[["G06F 16/00"], ["H04L"], ["A61K"], []][n % 4],
                    needs=[] if n % 3 == 0 else [1 + n % 8, 1 + (n + 3) % 8],
                    needs_text="检索" if n % 5 == 0 else "",
                ),
                max_results=20,
            ).SerializeToString()
        )
    return reqs


def children_cpu_seconds() -> float:
    """CPU time (user + system) of this process's children: the spawned catalog service.
    Independent of what else shares the machine, unlike latencies."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            total += int(fields[11]) + int(fields[12])
    return total / tick


def database_cpu_seconds(url: str) -> float:
    """CPU time of the PostgreSQL backends serving `url`'s database (the service's pool
    connections), read from /proc: the database's share of each request. 0 when the
    server's processes are not readable (another host or user)."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            pids = list(
                conn.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalars()
            )
    finally:
        engine.dispose()
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def cycle(requests: list[bytes]) -> Callable[[int], bytes]:
    return lambda n: requests[n % len(requests)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per figure instead of 10")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--name", default="catalog_search")
    parser.add_argument(
        "--note", default="", help="what else loaded the machine during the run (conditions)"
    )
    args = parser.parse_args()
    duration = 3.0 if args.quick else args.duration
    warmup = 1.0 if args.quick else 2.0
    conc = args.concurrency
    load_at_start = os.getloadavg()

    with harness.noop_ceiling() as noop:
        ceiling = harness.load(
            noop,
            harness.NOOP_METHOD,
            institution_requests()[0],
            concurrency=conc,
            duration=duration,
            warmup=warmup,
        )

    with temporary_database(infra("PUHUI_POSTGRES_URL"), "bench") as url:
        load_figures = build_catalog(url, args.seed)
        env = {"PUHUI_NODE_ID": NODE, "PUHUI_DATABASE_URL": url, "PUHUI_KAFKA_BOOTSTRAP": ""}
        cpu_ms: dict[str, float] = {}
        db_cpu_ms: dict[str, float] = {}

        def measure(
            service_env: dict[str, str], runs: list[tuple[str, str, int]]
        ) -> dict[str, harness.LoadResult]:
            """Start the service with `service_env`, prime it, run each (label, method,
            concurrency); returns the results by label."""
            out: dict[str, harness.LoadResult] = {}
            with harness.spawn_service("catalog", service_env) as target:
                # Steady state: every statement shape planned, every pool connection open
                # (and, with the total cache on, every total of the mix counted once).
                prime = institution_requests() + item_requests() + match_requests()
                methods = ["SearchInstitutions"] * len(institution_requests())
                methods += ["SearchServiceItems"] * len(item_requests())
                methods += ["Match"] * len(match_requests())
                with grpc.insecure_channel(target) as channel:
                    for _ in range(3):
                        for method, body in zip(methods, prime, strict=True):
                            channel.unary_unary(SERVICE + method)(body, timeout=30)
                for label, method, concurrency in runs:
                    requests = {
                        "SearchInstitutions": institution_requests,
                        "SearchServiceItems": item_requests,
                        "Match": match_requests,
                    }[method]()
                    before = children_cpu_seconds()
                    db_before = database_cpu_seconds(url)
                    result = harness.load(
                        target, SERVICE + method, cycle(requests),
                        concurrency=concurrency, duration=duration, warmup=warmup,
                    )  # fmt: skip
                    # The warm-up's requests are not counted; the figures below scale by time.
                    spent = children_cpu_seconds() - before
                    cpu_ms[label] = 1000 * spent / max(1, result.requests)
                    db_spent = database_cpu_seconds(url) - db_before
                    db_cpu_ms[label] = 1000 * db_spent / max(1, result.requests)
                    out[label] = result
            return out

        cached = measure(
            env,
            [
                ("inst", "SearchInstitutions", conc),
                ("items", "SearchServiceItems", conc),
                ("match", "Match", conc),
                ("match_c1", "Match", 1),
            ],
        )
        # The same searches with the total cache off: every search counts its total.
        uncached = measure(
            {**env, "PUHUI_CATALOG_COUNT_CACHE": "0"},
            [
                ("inst_nocache", "SearchInstitutions", conc),
                ("items_nocache", "SearchServiceItems", conc),
            ],
        )
    inst, items, match, match_single = (
        cached["inst"], cached["items"], cached["match"], cached["match_c1"]
    )  # fmt: skip
    inst_nc, items_nc = uncached["inst_nocache"], uncached["items_nocache"]

    def cpu(label: str, spent: dict[str, float] | None = None) -> dict[str, Any]:
        return {
            "value": round((spent or cpu_ms)[label] * duration / (duration + warmup), 2),
            "unit": "ms CPU/req",
        }

    figures = {
        **inst.summary("search_institutions_"),
        **items.summary("search_items_"),
        **match.summary("match_"),
        **{k: v for k, v in match_single.summary("match_c1_").items() if "errors" not in k},
        **inst_nc.summary("search_institutions_nocache_"),
        **items_nc.summary("search_items_nocache_"),
        "server_cpu_search_institutions": cpu("inst"),
        "server_cpu_search_items": cpu("items"),
        "server_cpu_match": cpu("match"),
        "server_cpu_search_institutions_nocache": cpu("inst_nocache"),
        "server_cpu_search_items_nocache": cpu("items_nocache"),
        # PostgreSQL's share, from its backends' CPU time.
        "database_cpu_search_institutions": cpu("inst", db_cpu_ms),
        "database_cpu_search_items": cpu("items", db_cpu_ms),
        "database_cpu_match": cpu("match", db_cpu_ms),
        "database_cpu_search_institutions_nocache": cpu("inst_nocache", db_cpu_ms),
        "database_cpu_search_items_nocache": cpu("items_nocache", db_cpu_ms),
        "bulk_load": {"value": round(load_figures["bulk_load_s"], 1), "unit": "s"},
        "bulk_load_rate": {"value": round(load_figures["rows_per_s"]), "unit": "rows/s"},
    }
    ceil = {
        **ceiling.summary("search_institutions_"),
        **ceiling.summary("search_items_"),
        **ceiling.summary("match_"),
    }
    harness.write_result(
        args.name,
        figures,
        ceiling=ceil,
        ratios={
            "search_institutions req/s (ours/noop)": inst.rps / ceiling.rps,
            "search_items req/s (ours/noop)": items.rps / ceiling.rps,
            "match req/s (ours/noop)": match.rps / ceiling.rps,
            "search_institutions p99 (ours/noop)": inst.percentile(0.99) / ceiling.percentile(0.99),
            "search_items p99 (ours/noop)": items.percentile(0.99) / ceiling.percentile(0.99),
            "search_institutions p99, total cache off (ours/noop)": inst_nc.percentile(0.99)
            / ceiling.percentile(0.99),
            "search_items p99, total cache off (ours/noop)": items_nc.percentile(0.99)
            / ceiling.percentile(0.99),
            "match p99 (ours/noop)": match.percentile(0.99) / ceiling.percentile(0.99),
        },
        conditions={
            "institutions": INSTITUTIONS,
            "service_items": ITEMS,
            "node": NODE,
            "data": f"puhui.catalog.seed.generate(node={NODE}, seed={args.seed}), bulk-loaded",
            "database": "PostgreSQL 15 (make up), pg_trgm GIN on search text",
            "service": "python -m puhui.catalog, own process, Kafka off",
            "total_cache": "search_* figures: on (the default; totals reused at the catalog "
            "version they were counted at, exact; no writes during the run, so after priming "
            "every total of the mix is reused); search_*_nocache_*: a second service process "
            "with PUHUI_CATALOG_COUNT_CACHE=0, every search counting its total",
            "client": "bench/harness.py grpc.aio load generator, one process, anonymous caller",
            "concurrency": conc,
            "duration_s": duration,
            "search_mix": "region, region+category, 2-8 char Chinese text, tier, IPC, status; "
            "page 20",
            "match_mix": "16 profiles over 8 cities and 8 counties in 8 provinces, max_results 20",
            "script": str(Path(__file__).name),
            # Other work on the machine shares its 2 cores; figures degrade with it.
            "load_average_1m": {"start": load_at_start[0], "end": os.getloadavg()[0]},
            "load_average_5m": {"start": load_at_start[1], "end": os.getloadavg()[1]},
            **({"machine_note": args.note} if args.note else {}),
        },
        targets={"search p99": "<= 50 ms", "Match p99": "<= 100 ms"},
    )


if __name__ == "__main__":
    main()
