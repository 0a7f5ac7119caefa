"""`make fuzz`: >= 10,000 generated requests per service against a node of the four
services on the local PostgreSQL, Redis and Kafka; writes bench/results/fuzz.json.

    .venv/bin/python -m tests.fuzz [--per-service N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime

from bench.harness import RESULTS, machine
from puhui.kit.db import normalise_url
from puhui.kit.testing import infra, temporary_database
from tests.fuzz import harness


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-service", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--output", default=str(RESULTS / "fuzz.json"))
    args = parser.parse_args(argv)
    admin = normalise_url(infra("PUHUI_POSTGRES_URL"))
    with ExitStack() as stack:

        def database(label: str) -> str:
            return stack.enter_context(temporary_database(admin, label))

        with harness.node(
            database, infra("PUHUI_KAFKA_BOOTSTRAP"), infra("PUHUI_REDIS_URL")
        ) as targets:
            per_rpc = max(math.ceil(args.per_service / len(t.rpcs)) for t in targets)
            started = time.monotonic()
            reports = harness.fuzz_node(targets, per_rpc, args.seed)
            seconds = time.monotonic() - started
    result = summary(targets, reports, per_rpc, args.seed, seconds)
    with open(args.output, "w") as out:
        out.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    totals = result["totals"]
    print(json.dumps(totals, indent=2))
    for line in _failures(reports):
        print(line)
    print(f"written to {args.output}")
    return 1 if any(totals[k] for k in ("INTERNAL", "UNKNOWN", "hangs", "broken")) else 0


def _failures(reports: dict[str, harness.Report]) -> Iterator[str]:
    for report in reports.values():
        yield from report.failures


def summary(
    targets: list[harness.Target],
    reports: dict[str, harness.Report],
    per_rpc: int,
    seed: int,
    seconds: float,
) -> dict[str, object]:
    codes = {
        path: dict(sorted(counts.items()))
        for r in reports.values()
        for path, counts in sorted(r.codes.items())
    }
    every = [c for counts in codes.values() for c in counts.items()]
    return {
        "name": "fuzz",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "conditions": {
            "seed": seed,
            "requests_per_rpc": per_rpc,
            "tokens": [t or "(none)" for t in harness.TOKENS],
            "undecodable_share": 0.1,
            "deadline_seconds": 10.0,
            "node": harness.NODE,
            "databases": "PostgreSQL 15, one per service; Redis 7; Kafka 4",
            "seconds": round(seconds, 1),
        },
        "totals": {
            "requests": sum(r.requests for r in reports.values()),
            "rpcs": len(codes),
            "INTERNAL": sum(n for c, n in every if c == "INTERNAL"),
            "UNKNOWN": sum(n for c, n in every if c == "UNKNOWN"),
            "hangs": sum(r.hangs for r in reports.values()),
            "writes_by_rejected_requests": sum(r.writes for r in reports.values()),
            "broken": sum(r.broken for r in reports.values()),
        },
        "services": {
            t.service: {
                "requests": reports[t.service].requests,
                "rpcs": len(t.rpcs),
                "codes": dict(
                    sorted(
                        sum(
                            (reports[t.service].codes[rpc.path] for rpc in t.rpcs),
                            start=harness.Counter(),
                        ).items()
                    )
                ),
            }
            for t in targets
        },
        "codes_per_rpc": codes,
    }


if __name__ == "__main__":
    sys.exit(main())
