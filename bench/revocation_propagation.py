"""Revocation propagation (ADR 0014): from a sign-out's reply at 440000 to the revocation
being in the revocation store that 320000's catalog/data/feedback verifier checks on every
call (so the token is refused from then on).

- An in-process federation (`puhui.federation.testing`): the hub's federation service,
  440000 with identity and catalog, 320000 with catalog; each app its own PostgreSQL
  database; the shared Kafka. Identity records each revocation in its outbox; the relay
  publishes it to `puhui.440000.identity.revocations`; 320000's `RevocationFollower` (no
  consumer group) applies it. Run without Redis (the embedded default) and with identity on
  Redis (`--redis`).
- One person signs in and out `--count` times in a row (default 200); the lag of each is
  measured by polling the store every 1 ms.
- Ceiling: the same path without databases and gRPC — a record produced by a plain
  idempotent producer to a fresh one-partition topic and read by a plain group-less consumer
  (`--count` records, one at a time).

    python bench/revocation_propagation.py [--count 200] [--redis]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
import uuid
from typing import Any

try:  # `python -m bench.revocation_propagation` from the repository root
    from bench import harness
except ImportError:  # `python bench/revocation_propagation.py`
    import harness  # type: ignore[no-redef]
from puhui.federation.testing import Federation
from puhui.identity.v1 import identity_pb2, identity_pb2_grpc
from puhui.kit import kafka
from puhui.kit.revocation import revocation_key
from puhui.kit.testing import infra, temporary_database

PASSWORD = "correct horse battery 7"  # noqa: S105 (a throwaway bench account)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def measure(count: int, redis_url: str) -> list[float]:
    bootstrap = infra("PUHUI_KAFKA_BOOTSTRAP")
    admin = infra("PUHUI_POSTGRES_URL")
    with contextlib.ExitStack() as stack:

        def database(label: str) -> str:
            return stack.enter_context(temporary_database(admin, label))

        fed = Federation(stack, bootstrap=bootstrap, database=database, redis_url=redis_url)
        fed.start_hub(national_models=False)
        gd = fed.start_node("440000", ("identity", "catalog"))
        js = fed.start_node("320000", ("catalog",))
        fed.join(gd)
        stub = identity_pb2_grpc.IdentityServiceStub(gd.channel("identity"))
        login = f"bench-{uuid.uuid4().hex[:10]}@example.cn"
        stub.RegisterPerson(
            identity_pb2.RegisterPersonRequest(display_name="基准", email=login, password=PASSWORD),
            timeout=15,
        )
        store = js.verifier.revocations  # type: ignore[union-attr]
        verify = gd.app("identity").jwt_verifier.verify
        lags: list[float] = []
        for _ in range(count):
            session = stub.SignIn(
                identity_pb2.SignInRequest(login=login, password=PASSWORD), timeout=15
            )
            key = revocation_key("440000", verify(session.access_token).token_id)
            stub.SignOut(
                identity_pb2.SignOutRequest(),
                metadata=[("authorization", f"Bearer {session.access_token}")],
                timeout=15,
            )
            started = time.monotonic()
            while not store.is_revoked(key):
                if time.monotonic() - started > 30:
                    raise RuntimeError("a revocation did not arrive within 30 s")
                time.sleep(0.001)
            lags.append(time.monotonic() - started)
        return lags


def ceiling(count: int) -> list[float]:
    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition

    bootstrap = infra("PUHUI_KAFKA_BOOTSTRAP")
    topic = f"bench.revocation-ceiling.{uuid.uuid4().hex[:8]}"
    kafka.ensure_topics(bootstrap, [topic], partitions=1)
    producer = kafka.make_producer(bootstrap, "bench-revocation-ceiling")
    consumer = KafkaConsumer(
        **kafka.client_settings(), bootstrap_servers=kafka.servers(bootstrap), group_id=None
    )
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_end(tp)
    consumer.position(tp)
    lags: list[float] = []
    try:
        for i in range(count):
            started = time.monotonic()
            producer.send(topic, value=str(i).encode()).get(10)
            got = False
            while not got:
                got = bool(consumer.poll(timeout_ms=200, max_records=1))
            lags.append(time.monotonic() - started)
    finally:
        producer.close(timeout=2)
        consumer.close()
    return lags


def figures(lags: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(lags) * 1000, 1),
        "p99_ms": round(percentile(lags, 0.99) * 1000, 1),
        "max_ms": round(max(lags) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--redis", action="store_true", help="identity on Redis")
    args = parser.parse_args()
    redis_url = infra("PUHUI_REDIS_URL") if args.redis else ""
    ours = figures(measure(args.count, redis_url))
    ceil = figures(ceiling(args.count))
    result: dict[str, dict[str, Any]] = {
        f"revocation_{k}": {"value": v, "unit": "ms"} for k, v in ours.items()
    }
    harness.write_result(
        "revocation_propagation" + ("_redis" if args.redis else ""),
        result,
        ceiling={f"revocation_{k}": {"value": v, "unit": "ms"} for k, v in ceil.items()},
        ratios={"p99_vs_kafka_round_trip": ours["p99_ms"] / max(ceil["p99_ms"], 0.001)},
        conditions={
            "count": args.count,
            "identity_revocation_store": "redis" if args.redis else "memory",
            "path": "SignOut reply at 440000 -> outbox -> relay -> Kafka -> 320000's follower",
            "ceiling": "plain producer send + group-less consumer poll, same Kafka",
        },
        targets={"revocation_p99_ms": "<= 5000 (issue 16)"},
    )


if __name__ == "__main__":
    main()
