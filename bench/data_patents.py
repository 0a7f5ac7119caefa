"""Data service at 1,000,000 generated patent records: import, search, export, mirror.

Records are SYNTHETIC, from the seeded generator `puhui.data.synthetic` (CNIPA-export-style
CSV rows: check-digit application numbers, kind codes, Chinese titles shaped like the real
ones, real IPC symbols of the shipped edition, real GB/T 2260 province labels); seed 20260101.

Figures, each beside a ceiling measured in the same run:

* import records/s — `python -m puhui.data import --format cnipa-csv` path (parse, validate,
  normalise, upsert, change feed, mirror events in the outbox; batches of 1,000) into an empty
  PostgreSQL database — beside a raw `COPY` of the same normalised rows into a table of the
  same shape and indexes (ratio = ours / COPY).
* search p50/p99 at 16 concurrent clients over gRPC — the data service as its own process
  (`python -m puhui.data`), a fixed mix of realistic searches (3-4 character Chinese text,
  applicant, IPC prefix, province + date range, office + legal status, a narrow search with
  facets), page size 20, total counts — beside the no-op gRPC server (bench/harness.py).
  Target p99 ≤ 50 ms.
* export records/s over one ExportPatents stream (chunks of 1,000) — beside a raw psycopg
  keyset read of the same rows. Target ≥ 20,000/s.
* mirror catch-up records/s: a province node (kit EventConsumer, one transaction per event)
  consuming the hub's compacted mirror topic — beside a raw kafka-python read of the same
  topic. Measured on `--mirror-records` (default 5,000) records, not the million.

    python bench/data_patents.py [--quick] [--records N] [--mirror-records N] [--duration S]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import grpc
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

try:  # `python -m bench.data_patents` from the repository root
    from bench import harness
except ImportError:  # `python bench/data_patents.py`
    import harness  # type: ignore[no-redef]
from puhui.common.v1 import common_pb2
from puhui.data import synthetic
from puhui.data.server import build
from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.kit import migrations
from puhui.kit.db import normalise_url
from puhui.kit.testing import infra, running, temporary_database

logger = logging.getLogger(__name__)


SEED = 20260101
SERVICE = "/puhui.data.v1.DataService/"


def plain_url(url: str) -> str:
    return normalise_url(url).replace("postgresql+psycopg://", "postgresql://")


# -- import ------------------------------------------------------------------------------------


def measure_import(url: str, csv_path: Path, records: int) -> dict[str, float]:
    app = build(database_url=url, node_id="000000", quota_enabled=False)
    app.db.start()
    try:
        started = time.perf_counter()
        counts = app.importer(1000).run("cnipa-csv", csv_path)
        seconds = time.perf_counter() - started
    finally:
        app.db.stop()
    if counts.inserted != records or counts.rejected:
        raise SystemExit(f"import went wrong: {counts}")
    return {"records": records, "seconds": seconds, "rps": records / seconds}


def measure_copy(url: str) -> dict[str, float]:
    """Raw COPY of the imported (normalised) rows into a table of the same shape."""
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS patents_copy")
        conn.execute("CREATE TABLE patents_copy (LIKE patents INCLUDING ALL)")
        buffer = bytearray()
        with conn.cursor().copy("COPY patents TO STDOUT") as out:
            for block in out:
                buffer += block
        rows = conn.execute("SELECT count(*) FROM patents").fetchone()[0]
        started = time.perf_counter()
        with conn.cursor().copy("COPY patents_copy FROM STDIN") as copy:
            step = 1 << 20
            for i in range(0, len(buffer), step):
                copy.write(bytes(buffer[i : i + step]))
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE patents_copy")
        conn.execute("ANALYZE")
    return {"records": rows, "seconds": seconds, "rps": rows / seconds}


# -- search --------------------------------------------------------------------------------------


def search_mix() -> list[bytes]:
    dr = common_pb2.DateRange
    requests = [
        data_pb2.SearchPatentsRequest(query="无人机", page_size=20),
        data_pb2.SearchPatentsRequest(query="储能电池", page_size=20),
        data_pb2.SearchPatentsRequest(query="知识图谱", office="CN", page_size=20),
        data_pb2.SearchPatentsRequest(applicant="信息技术有限公司", page_size=20),
        data_pb2.SearchPatentsRequest(ipc_prefix="G06F 16/", page_size=20),
        data_pb2.SearchPatentsRequest(
            ipc_prefix="H04L", legal_status="有权-审定授权", page_size=20
        ),
        data_pb2.SearchPatentsRequest(
            region_code="440000",
            filing_date=dr(**{"from": "2018-01-01", "to": "2020-12-31"}),
            page_size=20,
        ),
        data_pb2.SearchPatentsRequest(
            office="CN",
            publication_date=dr(**{"from": "2023-06-01", "to": "2023-06-30"}),
            page_size=20,
        ),
        data_pb2.SearchPatentsRequest(
            region_code="410000",
            ipc_prefix="A01B",
            facets=["ipc_section", "year", "province"],
            page_size=20,
        ),
    ]
    return [r.SerializeToString() for r in requests]


def database_backends_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL backend connected to the database of `url`
    (the server runs on this machine): the database's share of a request's cost."""
    name = make_url(url).database
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        pids = [
            r[0]
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        ]
    found: dict[int, float] = {}
    for pid in pids:
        try:
            found[pid] = harness.process_cpu_seconds(pid)
        except (OSError, ValueError, IndexError):
            continue
    return found


def measure_search(
    target: str, concurrency: int, duration: float, server_pid: int | None = None, url: str = ""
) -> tuple[harness.LoadResult, float | None]:
    """The search mix at `concurrency`; (load result, database CPU seconds of the window)."""
    mix = search_mix()
    # Warm the service's connection pools first, so the database backends exist before the
    # measured window and their CPU can be read before and after it.
    harness.load(
        target, SERVICE + "SearchPatents", lambda i: mix[i % len(mix)],
        concurrency=concurrency, duration=1.0, warmup=0.5,
    )  # fmt: skip
    before = database_backends_cpu(url) if url else {}
    result = harness.load(
        target,
        SERVICE + "SearchPatents",
        lambda i: mix[i % len(mix)],
        concurrency=concurrency,
        duration=duration,
        server_pid=server_pid,
    )
    if not url:
        return result, None
    after = database_backends_cpu(url)
    db_cpu = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
    return result, db_cpu


def print_search(search: harness.LoadResult, db_cpu: float | None) -> None:
    per_request = (search.server_cpu_seconds or 0.0) / max(1, search.requests) * 1e6
    database = (db_cpu or 0.0) / max(1, search.requests) * 1e6
    print(
        f"search: p50 {search.percentile(0.5) * 1000:.1f} ms"
        f" p99 {search.percentile(0.99) * 1000:.1f} ms, {search.rps:.0f} req/s,"
        f" {search.errors} errors; CPU/req: service {per_request:.0f} µs,"
        f" PostgreSQL {database:.0f} µs (load {os.getloadavg()[0]:.1f})",
        flush=True,
    )


# -- export --------------------------------------------------------------------------------------


def measure_export(target: str, limit: int) -> dict[str, float]:
    request = data_pb2.ExportPatentsRequest(
        search=data_pb2.SearchPatentsRequest(office="CN"), chunk_size=1000
    )
    received = 0
    with grpc.insecure_channel(
        target, options=[("grpc.max_receive_message_length", 64 << 20)]
    ) as channel:
        stub = data_pb2_grpc.DataServiceStub(channel)
        started = time.perf_counter()
        stream = stub.ExportPatents(request, timeout=3600)
        for chunk in stream:
            received += len(chunk.patents)
            if received >= limit:
                stream.cancel()
                break
        seconds = time.perf_counter() - started
    return {"records": received, "seconds": seconds, "rps": received / seconds}


def measure_raw_read(url: str, limit: int) -> dict[str, float]:
    received, after = 0, ""
    with psycopg.connect(plain_url(url)) as conn:
        started = time.perf_counter()
        while received < limit:
            rows = conn.execute(
                "SELECT * FROM patents WHERE office = 'CN' AND record_id > %s"
                " ORDER BY record_id LIMIT 1000",
                (after,),
            ).fetchall()
            if not rows:
                break
            received += len(rows)
            after = rows[-1][0]
        seconds = time.perf_counter() - started
    return {"records": received, "seconds": seconds, "rps": received / seconds}


# -- mirror --------------------------------------------------------------------------------------


def measure_mirror(
    admin: str, bootstrap: str, records: int, work: Path
) -> tuple[dict[str, float], dict[str, float]]:
    stream = f"mirror.b{uuid.uuid4().hex[:10]}"
    csv_path = synthetic.write_cnipa_csv(work / "mirror.csv", records, seed=SEED + 1)
    with (
        temporary_database(admin, "benchhub") as hub_url,
        temporary_database(admin, "benchprov") as prov_url,
    ):
        hub = build(
            node_id="000000",
            database_url=hub_url,
            kafka_bootstrap=bootstrap,
            mirror_stream=stream,
            quota_enabled=False,
            grpc_port=0,
            metrics_port=0,
        )
        with running(hub):
            hub.importer(1000).run("cnipa-csv", csv_path)
            deadline = time.monotonic() + 600
            while hub.relay is not None and hub.relay.backlog()[0] and time.monotonic() < deadline:
                time.sleep(0.5)
            topic = hub.mirror_topic()
        raw = raw_kafka_read(bootstrap, topic, records)
        province = build(
            node_id="440000",
            database_url=prov_url,
            kafka_bootstrap=bootstrap,
            mirror_stream=stream,
            quota_enabled=False,
            grpc_port=0,
            metrics_port=0,
        )
        engine = create_engine(normalise_url(prov_url))
        try:
            with running(province):
                started = time.perf_counter()
                deadline = time.monotonic() + 3600
                count = 0
                while count < records and time.monotonic() < deadline:
                    time.sleep(0.25)
                    with engine.connect() as conn:
                        count = conn.execute(text("SELECT count(*) FROM patents")).scalar_one()
                seconds = time.perf_counter() - started
        finally:
            engine.dispose()
    return {"records": count, "seconds": seconds, "rps": count / seconds}, raw


def raw_kafka_read(bootstrap: str, topic: str, records: int) -> dict[str, float]:
    from puhui.kit import kafka

    consumer = kafka.make_consumer(bootstrap, f"bench-raw-{uuid.uuid4()}", "bench-raw")
    consumer.subscribe(topics=[topic])
    received = 0
    started = time.perf_counter()
    deadline = time.monotonic() + 300
    try:
        while received < records and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                received += len(batch)
    finally:
        consumer.close(autocommit=False)
    seconds = time.perf_counter() - started
    return {"records": received, "seconds": seconds, "rps": received / seconds}


def serving_env(url: str) -> dict[str, str]:
    return {
        "PUHUI_DATABASE_URL": url,
        "PUHUI_NODE_ID": "000000",
        "PUHUI_MIGRATE_ON_START": "false",
        "PUHUI_DATA_QUOTA_ENABLED": "false",
        "PUHUI_KAFKA_BOOTSTRAP": "",
        "PUHUI_REDIS_URL": "",
    }


def search_only(url: str, concurrency: int, duration: float) -> None:
    """Iterate on search: the mix against an already loaded database; prints, writes nothing."""
    with harness.spawn_service_process("data", serving_env(url)) as (target, pid):
        search, db_cpu = measure_search(target, concurrency, duration, pid, url)
    print_search(search, db_cpu)


def measure_serving(
    url: str, concurrency: int, duration: float, export_limit: int
) -> tuple[harness.LoadResult, float | None, dict[str, float], dict[str, float]]:
    env = serving_env(url)
    with harness.spawn_service_process("data", env) as (target, pid):
        search, db_cpu = measure_search(target, concurrency, duration, pid, url)
        print_search(search, db_cpu)
        exported = measure_export(target, export_limit)
        print(f"export: {exported['rps']:.0f} records/s", flush=True)
    raw_read = measure_raw_read(url, export_limit)
    print(f"raw read: {raw_read['rps']:.0f} records/s", flush=True)
    return search, db_cpu, exported, raw_read


@contextmanager
def bench_lock(path: str = "/tmp/puhui-bench.lock") -> Iterator[None]:  # noqa: S108
    """The machine's shared benchmark lock (as `flock /tmp/puhui-bench.lock`), held per slice
    by --build-database so that other benchmarks run between slices."""
    import fcntl

    with open(path, "a") as handle:
        waited = time.perf_counter()
        fcntl.flock(handle, fcntl.LOCK_EX)
        print(f"  (bench lock after {time.perf_counter() - waited:.0f}s)", flush=True)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_database(name: str, records: int, slice_records: int) -> None:
    """Create (or continue) a kept database NAME holding `records` generated patents imported
    by the real importer, in slices of `slice_records`, each slice inside the bench lock (run
    this WITHOUT an outer flock). Prints import records/s (sum of the slices' import time) and
    the COPY ceiling measured on the full table; pass them to --reuse-database runs as
    --import-rps / --copy-rps."""
    admin = normalise_url(infra("PUHUI_POSTGRES_URL"))
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    migrations.upgrade("data", url)
    with psycopg.connect(plain_url(url)) as conn:
        have = conn.execute("SELECT count(*) FROM patents").fetchone()[0]
    print(f"{name}: {have:,} patents already", flush=True)
    seconds = 0.0
    with tempfile.TemporaryDirectory(prefix="data-build-") as tmp:
        full = Path(tmp) / "patents.csv"
        if have < records:
            with bench_lock():
                synthetic.write_cnipa_csv(full, records, seed=SEED)
            print(f"generated {records:,} records", flush=True)
        start = have
        while start < records:
            end = min(records, start + slice_records)
            path = Path(tmp) / f"slice-{start}.csv"
            with full.open(encoding="utf-8") as source, path.open("w", encoding="utf-8") as out:
                out.write(source.readline())  # the header
                for i, line in enumerate(source):  # one line a row: no newline in a field
                    if i >= end:
                        break
                    if i >= start:
                        out.write(line)
            with bench_lock():
                done = measure_import(url, path, end - start)
            seconds += done["seconds"]
            print(
                f"imported {start:,}..{end:,}: {done['rps']:.0f} records/s"
                f" ({time.strftime('%H:%M:%S')}, load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            path.unlink()
            start = end
    if seconds:
        print(f"import: {(records - have) / seconds:.0f} records/s over this run", flush=True)
    with bench_lock():
        copied = measure_copy(url)
    print(f"COPY: {copied['rps']:.0f} records/s; database {url}", flush=True)


def export_only(args: argparse.Namespace, records: int, export_limit: int) -> None:
    """Just the export figure beside its raw-read ceiling, both measured in this run, on a
    freshly imported (or --reuse-database) data set: bench/results/data_export.json."""
    admin = normalise_url(infra("PUHUI_POSTGRES_URL"))
    with tempfile.TemporaryDirectory(prefix="data-bench-") as tmp, ExitStack() as stack:
        if args.reuse_database:
            url = args.reuse_database
        else:
            csv_path = synthetic.write_cnipa_csv(Path(tmp) / "patents.csv", records, seed=SEED)
            url = stack.enter_context(temporary_database(admin, "dataexport"))
            migrations.upgrade("data", url)
            imported = measure_import(url, csv_path, records)
            print(f"import: {imported['rps']:.0f} records/s", flush=True)
            with psycopg.connect(plain_url(url), autocommit=True) as conn:
                conn.execute("ANALYZE")
        env = {
            "PUHUI_DATABASE_URL": url,
            "PUHUI_NODE_ID": "000000",
            "PUHUI_MIGRATE_ON_START": "false",
            "PUHUI_DATA_QUOTA_ENABLED": "false",
            "PUHUI_KAFKA_BOOTSTRAP": "",
            "PUHUI_REDIS_URL": "",
        }
        raw_read = measure_raw_read(url, export_limit)
        print(f"raw read: {raw_read['rps']:.0f} records/s", flush=True)
        with harness.spawn_service("data", env) as target:
            exported = measure_export(target, export_limit)
        print(f"export: {exported['rps']:.0f} records/s", flush=True)
    harness.write_result(
        "data_export",
        {"export_records_per_s": {"value": round(exported["rps"]), "unit": "rec/s"}},
        ceiling={
            "export_records_per_s": {
                "value": round(raw_read["rps"]),
                "unit": "rec/s",
                "what": "psycopg keyset read, all columns, 1,000 rows a query",
            }
        },
        ratios={"export_vs_raw_read": exported["rps"] / raw_read["rps"]},
        conditions={
            "records": records,
            "generator": f"puhui.data.synthetic seed {SEED} (synthetic CNIPA-style rows)",
            "export_records": exported["records"],
            "export_seconds": round(exported["seconds"], 2),
            "export_chunk": 1000,
            "stream": "one ExportPatents stream (office=CN), data service as a subprocess",
            "reused_database": bool(args.reuse_database),
            "load_average": os.getloadavg(),
        },
        targets={"export_records_per_s": "≥ 20,000 rec/s"},
    )


# -- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 records, short runs")
    parser.add_argument(
        "--records", type=int, default=0, help="generated patent records (default 1,000,000)"
    )
    parser.add_argument(
        "--mirror-records", type=int, default=0, help="records for the mirror catch-up (5,000)"
    )
    parser.add_argument(
        "--export-limit", type=int, default=0, help="records read over the export stream (all)"
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=0)
    parser.add_argument(
        "--reuse-database",
        default="",
        help="measure search/export/mirror on an already loaded data database (no import)",
    )
    parser.add_argument(
        "--export-only",
        action="store_true",
        help="only export records/s and its raw-read ceiling → bench/results/data_export.json",
    )
    parser.add_argument(
        "--build-database",
        default="",
        metavar="NAME",
        help="import --records into the kept database NAME in slices, each in the bench lock"
        " (run without an outer flock); then measure with --reuse-database",
    )
    parser.add_argument("--slice", type=int, default=200_000, help="with --build-database")
    parser.add_argument(
        "--search-only",
        action="store_true",
        help="with --reuse-database: only the search mix, printed (nothing written)",
    )
    parser.add_argument("--note", default="", help="a note kept in the result's conditions")
    parser.add_argument("--import-rps", type=float, default=0, help="with --reuse-database")
    parser.add_argument("--copy-rps", type=float, default=0, help="with --reuse-database")
    args = parser.parse_args()
    records = args.records or (20_000 if args.quick else 1_000_000)
    mirror_records = args.mirror_records or (1_000 if args.quick else 5_000)
    duration = args.duration or (5.0 if args.quick else 15.0)
    export_limit = args.export_limit or records
    if args.reuse_database:  # built by an earlier revision: brought to head, as a node's is
        migrations.upgrade("data", args.reuse_database)
    if args.search_only:
        search_only(args.reuse_database, args.concurrency, duration)
        return
    if args.build_database:
        build_database(args.build_database, records, args.slice)
        return
    if args.export_only:
        export_only(args, records, export_limit)
        return
    admin = normalise_url(infra("PUHUI_POSTGRES_URL"))
    bootstrap = infra("PUHUI_KAFKA_BOOTSTRAP")

    with tempfile.TemporaryDirectory(prefix="data-bench-") as tmp:
        work = Path(tmp)
        if args.reuse_database:
            url = args.reuse_database
            imported = {
                "rps": args.import_rps,
                "seconds": records / args.import_rps if args.import_rps else 0,
            }
            copied = {"rps": args.copy_rps}
            search, db_cpu, exported, raw_read = measure_serving(
                url, args.concurrency, duration, export_limit
            )
        else:
            started = time.perf_counter()
            csv_path = synthetic.write_cnipa_csv(work / "patents.csv", records, seed=SEED)
            print(
                f"generated {records:,} records in {time.perf_counter() - started:.1f}s", flush=True
            )
            with temporary_database(admin, "databench") as url:
                migrations.upgrade("data", url)
                imported = measure_import(url, csv_path, records)
                print(f"import: {imported['rps']:.0f} records/s", flush=True)
                copied = measure_copy(url)
                print(f"COPY: {copied['rps']:.0f} records/s", flush=True)
                search, db_cpu, exported, raw_read = measure_serving(
                    url, args.concurrency, duration, export_limit
                )
        with harness.noop_ceiling_process(workers=max(16, args.concurrency)) as (noop, pid):
            ceiling_search = harness.load(
                noop,
                harness.NOOP_METHOD,
                b"",
                concurrency=args.concurrency,
                duration=duration,
                server_pid=pid,
            )
        mirrored, raw_kafka = measure_mirror(admin, bootstrap, mirror_records, work)
        print(f"mirror: {mirrored['rps']:.0f} records/s", flush=True)

    figures = {
        "import_records_per_s": {"value": round(imported["rps"]), "unit": "rec/s"},
        **search.summary("search_"),
        "search_database_cpu": {
            "value": round((db_cpu or 0.0) / max(1, search.requests) * 1e6),
            "unit": "µs CPU/req (PostgreSQL backends of the bench database)",
        },
        "export_records_per_s": {"value": round(exported["rps"]), "unit": "rec/s"},
        "mirror_records_per_s": {"value": round(mirrored["rps"], 1), "unit": "rec/s"},
    }
    ceiling = {
        "import_records_per_s": {
            "value": round(copied["rps"]),
            "unit": "rec/s",
            "what": "PostgreSQL COPY",
        },
        **ceiling_search.summary("search_"),
        "export_records_per_s": {
            "value": round(raw_read["rps"]),
            "unit": "rec/s",
            "what": "psycopg keyset read",
        },
        "mirror_records_per_s": {
            "value": round(raw_kafka["rps"]),
            "unit": "rec/s",
            "what": "kafka-python read",
        },
    }
    ratios = {
        "import_vs_copy": imported["rps"] / copied["rps"] if copied["rps"] else 0.0,
        "search_rps_vs_noop": search.rps / ceiling_search.rps if ceiling_search.rps else 0.0,
        "export_vs_raw_read": exported["rps"] / raw_read["rps"],
        "mirror_vs_raw_kafka": mirrored["rps"] / raw_kafka["rps"] if raw_kafka["rps"] else 0.0,
    }
    harness.write_result(
        "data_patents",
        figures,
        ceiling=ceiling,
        ratios=ratios,
        conditions={
            "records": records,
            "generator": f"puhui.data.synthetic seed {SEED} (synthetic CNIPA-style rows)",
            "import_batch": 1000,
            "search_concurrency": args.concurrency,
            "search_duration_s": duration,
            "search_mix": "9 searches: Chinese text, applicant, IPC prefix, province+dates,"
            " office+status, facets",
            "export_records": exported["records"],
            "export_chunk": 1000,
            "mirror_records": mirror_records,
            "import_seconds": round(imported["seconds"], 1),
            "reused_database": bool(args.reuse_database),
            "mirror_seconds": round(mirrored["seconds"], 1),
            "load_average": os.getloadavg(),
            **({"notes": args.note} if args.note else {}),
        },
        targets={"search_p99": "≤ 50 ms", "export_records_per_s": "≥ 20,000 rec/s"},
    )


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
