"""Feedback: ratings accepted per second at 16 concurrent clients, and satisfaction-index
query latency over 1,000,000 stored ratings, beside the no-op gRPC ceiling.

- The feedback service runs as its own process (`python -m puhui.feedback`, interceptors,
  metrics, PostgreSQL/Redis/Kafka from `make up`), so the outbox relay and the index
  consumer run as they would in production.
- 1,000,000 ratings are generated with a fixed seed (1,000 institutions, 10,000 service
  items, the whole of 2026 up to November, a realistic level mix) and COPYed into
  PostgreSQL; the aggregate rows the index consumer maintains are then built from them with
  one SQL statement that folds exactly as `adapters/indices.py` does (a bulk-loaded
  database has no events to replay).
- SubmitRating: every call uses a fresh one-time token of a pre-recorded case (cases are
  COPYed in too, tokens known to the bench); one in ten is a bad review, which also opens
  a rectification ticket in the same transaction.
- GetSatisfactionIndex cycles through institution, service-item and node scopes and month,
  quarter and year periods.
- For comparison, the same figures computed by scanning the ratings table (what indices
  avoid) are timed in-process.

    python bench/feedback_ratings.py [--quick] [--concurrency 16] [--duration 10]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import text

try:  # `python -m bench.feedback_ratings` from the repository root
    from bench import harness
except ImportError:  # `python bench/feedback_ratings.py`
    import harness  # type: ignore[no-redef]
from puhui.feedback.adapters.indices import read_index
from puhui.feedback.v1 import feedback_pb2 as fb
from puhui.kit import migrations
from puhui.kit.db import Database
from puhui.kit.testing import infra, temporary_database

NODE = "330000"
INSTITUTIONS = 1_000
ITEMS = 10_000
SERVICE = "/puhui.feedback.v1.FeedbackService/"
START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_S = int((datetime(2026, 11, 26, tzinfo=UTC) - START).total_seconds())
LEVELS = [1, 2, 3, 4, 5]
LEVEL_WEIGHTS = [55, 25, 12, 5, 3]

RATING_COLUMNS = (
    "rating_id, case_id, stage, channel, level, indicators, comment, real_name, rater, late, "
    "flagged, excluded, rated_at, received_at, ticket_id, institution_id, service_item_id, "
    "node_id, kiosk_id, client_rating_id"
)
CASE_COLUMNS = (
    "case_id, institution_id, service_item_id, person_id, node_id, request_id, recorded_by, "
    "recorded_at, token_hash, completed_at, invitation_expires_at, rated_stages"
)

# Folds ratings into (scope, period) rows exactly as adapters/indices.py folds events.
BUILD_INDEX = """
INSERT INTO satisfaction_index (scope, period, rating_count, satisfied_count, bad_count,
    tickets_on_time, tickets_breached, follow_ups, appeals_filed, appeals_upheld)
SELECT s.scope, p.period, count(*),
       sum(CASE WHEN r.level <= 3 THEN 1 ELSE 0 END),
       sum(CASE WHEN r.level >= 4 THEN 1 ELSE 0 END), 0, 0, 0, 0, 0
FROM (SELECT institution_id, service_item_id, node_id, level,
             rated_at AT TIME ZONE 'Asia/Shanghai' AS local FROM ratings WHERE NOT excluded) r
CROSS JOIN LATERAL (VALUES ('institution:' || r.institution_id), ('item:' || r.service_item_id),
                           ('node:' || r.node_id), ('all')) s(scope)
CROSS JOIN LATERAL (VALUES (to_char(r.local, 'YYYY-MM')), (to_char(r.local, 'YYYY-"Q"Q')),
                           (to_char(r.local, 'YYYY'))) p(period)
GROUP BY s.scope, p.period
"""


def institution(n: int) -> str:
    return f"{NODE}-{n:06d}"


def item(n: int) -> str:
    return f"item-{n:05d}"


def token(n: int) -> str:
    return f"bench-token-{n}"


def _ts(moment: datetime) -> str:
    return moment.isoformat()


def copy_ratings(conn: psycopg.Connection, count: int, seed: int) -> float:
    rng = random.Random(seed)
    started = time.perf_counter()
    with conn.cursor() as cur, cur.copy(f"COPY ratings ({RATING_COLUMNS}) FROM STDIN") as copy:
        buf = io.StringIO()
        for n in range(count):
            it = rng.randrange(ITEMS)
            level = rng.choices(LEVELS, LEVEL_WEIGHTS)[0]
            rated = START + timedelta(seconds=rng.randrange(SPAN_S))
            channel = 1 + n % 3
            buf.write(
                f"r-{n}\tc-{n}\t3\t{channel}\t{level}\t{{}}\t\tf\t\tf\tf\tf\t{_ts(rated)}\t{_ts(rated)}\t"
                f"\t{institution(it // 10)}\t{item(it)}\t{NODE}\t\\N\t\\N\n"
            )
            if n % 20_000 == 19_999:
                copy.write(buf.getvalue())
                buf = io.StringIO()
        copy.write(buf.getvalue())
    conn.commit()
    return time.perf_counter() - started


def copy_cases(conn: psycopg.Connection, count: int, seed: int) -> None:
    rng = random.Random(seed + 1)
    now = datetime.now(UTC)
    with conn.cursor() as cur, cur.copy(f"COPY service_cases ({CASE_COLUMNS}) FROM STDIN") as copy:
        buf = io.StringIO()
        for n in range(count):
            it = rng.randrange(ITEMS)
            digest = hashlib.sha256(token(n).encode()).hexdigest()
            buf.write(
                f"bench-case-{n}\t{institution(it // 10)}\t{item(it)}\t\t{NODE}\treq-{n}\tbench\t"
                f"{_ts(now)}\t{digest}\t{_ts(now)}\t{_ts(now + timedelta(days=15))}\t\n"
            )
        copy.write(buf.getvalue())
    conn.commit()


def prepare(url: str, ratings: int, cases: int, seed: int) -> dict[str, float]:
    migrations.upgrade("feedback", url)
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        copied = copy_ratings(conn, ratings, seed)
        copy_cases(conn, cases, seed)
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute(BUILD_INDEX)
            cur.execute("SELECT count(*) FROM satisfaction_index")
            rows = cur.fetchone()[0]  # type: ignore[index]
        conn.commit()
        built = time.perf_counter() - started
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return {
        "copy_s": copied,
        "copy_rows_per_s": ratings / copied,
        "index_build_s": built,
        "index_rows": rows,
    }


def rating_request(n: int) -> bytes:
    bad = n % 10 == 0
    return fb.SubmitRatingRequest(
        rating_token=token(n),
        stage=fb.CASE_STAGE_COMPLETION,
        channel=fb.RATING_CHANNEL_ONLINE if n % 2 else fb.RATING_CHANNEL_ON_SITE,
        level=fb.RATING_LEVEL_DISSATISFIED if bad else fb.RATING_LEVEL_SATISFIED,
        indicators=[fb.IndicatorScore(indicator="efficiency", level=2)],
        comment="办理很快" if not bad else "等候时间太长",
    ).SerializeToString()


def index_requests(seed: int) -> list[bytes]:
    rng = random.Random(seed + 2)
    periods = [f"2026-{m:02d}" for m in range(1, 12)] + [
        "2026-Q1",
        "2026-Q2",
        "2026-Q3",
        "2026-Q4",
        "2026",
    ]
    reqs = []
    for n in range(600):
        period = rng.choice(periods)
        if n % 3 == 0:
            req = fb.GetSatisfactionIndexRequest(
                institution_id=institution(rng.randrange(INSTITUTIONS)), period=period
            )
        elif n % 3 == 1:
            req = fb.GetSatisfactionIndexRequest(
                service_item_id=item(rng.randrange(ITEMS)), period=period
            )
        else:
            req = fb.GetSatisfactionIndexRequest(node_id=NODE, period=period)
        reqs.append(req.SerializeToString())
    return reqs


def scan_latencies(
    url: str, seed: int, queries: int
) -> tuple[list[float], list[float], list[float]]:
    """What indices avoid: the same figures by scanning ratings (institution-year, node-year),
    beside reading the aggregate row for the same institution-year, all in-process."""
    rng = random.Random(seed + 3)
    sql = text(
        "SELECT count(*), sum(CASE WHEN level >= 4 THEN 1 ELSE 0 END) FROM ratings "
        "WHERE NOT excluded AND {where} AND rated_at >= :a AND rated_at < :b"
    )
    db = Database(url)
    db.start()
    inst, node, row = [], [], []
    try:
        with db.transaction() as s:
            for _ in range(queries):
                started = time.perf_counter()
                read_index(s, f"institution:{institution(rng.randrange(INSTITUTIONS))}", "2026")
                row.append(time.perf_counter() - started)
            for _ in range(queries):
                started = time.perf_counter()
                s.execute(
                    text(sql.text.format(where="institution_id = :i")),
                    {
                        "i": institution(rng.randrange(INSTITUTIONS)),
                        "a": START,
                        "b": START.replace(year=2027),
                    },
                ).one()
                inst.append(time.perf_counter() - started)
            for _ in range(max(3, queries // 20)):
                started = time.perf_counter()
                s.execute(
                    text(sql.text.format(where="node_id = :i")),
                    {"i": NODE, "a": START, "b": START.replace(year=2027)},
                ).one()
                node.append(time.perf_counter() - started)
    finally:
        db.stop()
    return inst, node, row


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 s per figure instead of 10 (still 1,000,000 ratings)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument(
        "--cases", type=int, default=120_000, help="one-time tokens available to SubmitRating"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-kafka", action="store_true", help="run the service without Kafka (events wait)"
    )
    parser.add_argument("--name", default="feedback_ratings")
    args = parser.parse_args()
    duration = 3.0 if args.quick else args.duration
    warmup = 1.0 if args.quick else 2.0
    conc = args.concurrency

    load_before = os.getloadavg()
    with harness.noop_ceiling() as noop:
        ceiling = harness.load(
            noop,
            harness.NOOP_METHOD,
            rating_request(1),
            concurrency=conc,
            duration=duration,
            warmup=warmup,
        )

    with temporary_database(infra("PUHUI_POSTGRES_URL"), "bench") as url:
        print(f"loading {args.ratings:,} ratings and {args.cases:,} cases ...", flush=True)
        loaded = prepare(url, args.ratings, args.cases, args.seed)
        env = {
            "PUHUI_NODE_ID": NODE,
            "PUHUI_DATABASE_URL": url,
            "PUHUI_KAFKA_BOOTSTRAP": "" if args.no_kafka else infra("PUHUI_KAFKA_BOOTSTRAP"),
            "PUHUI_REDIS_URL": infra("PUHUI_REDIS_URL"),
            "PUHUI_FEEDBACK_BREACH_CHECK_SECONDS": "3600",
        }
        with harness.spawn_service("feedback", env) as target:
            index_q = harness.load(
                target, SERVICE + "GetSatisfactionIndex",
                (lambda reqs: lambda n: reqs[n % len(reqs)])(index_requests(args.seed)),
                concurrency=conc, duration=duration, warmup=warmup,
            )  # fmt: skip
            index_c1 = harness.load(
                target, SERVICE + "GetSatisfactionIndex",
                (lambda reqs: lambda n: reqs[n % len(reqs)])(index_requests(args.seed)),
                concurrency=1, duration=duration, warmup=warmup,
            )  # fmt: skip
            ratings = harness.load(
                target, SERVICE + "SubmitRating", rating_request,
                concurrency=conc, duration=duration, warmup=warmup,
            )  # fmt: skip
        scan_inst, scan_node, row_read = scan_latencies(url, args.seed, 40 if args.quick else 100)
    load_after = os.getloadavg()

    figures = {
        "ratings_accepted_per_s": {"value": round(ratings.rps, 1), "unit": "ratings/s"},
        "rating_p50": {"value": round(ratings.percentile(0.5) * 1000, 3), "unit": "ms"},
        "rating_p99": {"value": round(ratings.percentile(0.99) * 1000, 3), "unit": "ms"},
        "rating_errors": {"value": ratings.errors, "unit": "requests"},
        "index_query_per_s": {"value": round(index_q.rps, 1), "unit": "req/s"},
        "index_query_p50": {"value": round(index_q.percentile(0.5) * 1000, 3), "unit": "ms"},
        "index_query_p99": {"value": round(index_q.percentile(0.99) * 1000, 3), "unit": "ms"},
        "index_query_errors": {"value": index_q.errors, "unit": "requests"},
        "index_query_c1_p50": {"value": round(index_c1.percentile(0.5) * 1000, 3), "unit": "ms"},
        "index_query_c1_p99": {"value": round(index_c1.percentile(0.99) * 1000, 3), "unit": "ms"},
        "index_row_read_p50": {"value": round(pct(row_read, 0.5), 3), "unit": "ms"},
        "scan_institution_year_p50": {"value": round(pct(scan_inst, 0.5), 3), "unit": "ms"},
        "scan_institution_year_p99": {"value": round(pct(scan_inst, 0.99), 3), "unit": "ms"},
        "scan_node_year_p50": {"value": round(pct(scan_node, 0.5), 3), "unit": "ms"},
        "stored_ratings": {"value": args.ratings, "unit": "ratings"},
        "copy_rate": {"value": round(loaded["copy_rows_per_s"]), "unit": "rows/s"},
        "index_build": {"value": round(loaded["index_build_s"], 1), "unit": "s"},
        "index_rows": {"value": loaded["index_rows"], "unit": "rows"},
    }
    ceil = {
        "ratings_accepted_per_s": {"value": round(ceiling.rps, 1), "unit": "req/s"},
        "rating_p50": {"value": round(ceiling.percentile(0.5) * 1000, 3), "unit": "ms"},
        "rating_p99": {"value": round(ceiling.percentile(0.99) * 1000, 3), "unit": "ms"},
        "index_query_per_s": {"value": round(ceiling.rps, 1), "unit": "req/s"},
        "index_query_p50": {"value": round(ceiling.percentile(0.5) * 1000, 3), "unit": "ms"},
        "index_query_p99": {"value": round(ceiling.percentile(0.99) * 1000, 3), "unit": "ms"},
    }
    harness.write_result(
        args.name + ("_quick" if args.quick else ""),
        figures,
        ceiling=ceil,
        ratios={
            "ratings/s (ours/noop)": ratings.rps / ceiling.rps,
            "index query req/s (ours/noop)": index_q.rps / ceiling.rps,
            "index query p99 (ours/noop)": index_q.percentile(0.99) / ceiling.percentile(0.99),
            "scan / index row read, one institution-year (p50, in-process)": pct(scan_inst, 0.5)
            / pct(row_read, 0.5),
        },
        conditions={
            "stored_ratings": args.ratings,
            "institutions": INSTITUTIONS,
            "service_items": ITEMS,
            "node": NODE,
            "data": f"seeded generator (seed={args.seed}), COPY into PostgreSQL; "
            "indices folded by one SQL statement equivalent to the event consumer",
            "service": "python -m puhui.feedback, own process, Redis on, Kafka "
            + ("off" if args.no_kafka else "on (outbox relay and index consumer running)"),
            "rating_mix": "fresh one-time token per call, 10% bad reviews (each opens a ticket), "
            "1 indicator",
            "index_mix": "institution / item / node scopes x month, quarter and year periods",
            "client": "bench/harness.py grpc.aio load generator, one process, anonymous caller",
            "concurrency": conc,
            "duration_s": duration,
            "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
            "note": "the 2-core machine is shared with other test and bench runs; "
            "see load_average_before_after",
            "script": str(Path(__file__).name),
        },
    )


if __name__ == "__main__":
    main()
