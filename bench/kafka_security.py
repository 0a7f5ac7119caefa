"""Kafka produce and consume throughput with SASL_SSL (SCRAM-SHA-512 over TLS) against
plaintext, in the same run on the same broker (docs/adr/0022).

- One extra single-node KRaft cluster (`puhui.kit.kafka_testing.secured_cluster`, in a
  temporary folder) with a PLAINTEXT and a SASL_SSL listener; the shared broker is not used.
- For each transport, in rounds of alternating order (`--rounds`, default 3; the best counts,
  so a burst of other load on the shared cores does not decide the ratio): the kit's
  producer (idempotent, acks=all) sends `--count` records of `--size` bytes to a fresh
  3-partition topic, flushing every 1000; then a group-less consumer reads them all back.
- Ours = SASL_SSL, ceiling = PLAINTEXT; the ratios are SASL_SSL / PLAINTEXT throughput.

    python bench/kafka_security.py [--count 10000] [--size 512] [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from kafka.structs import TopicPartition

try:  # `python -m bench.kafka_security` from the repository root
    from bench import harness
except ImportError:  # `python bench/kafka_security.py`
    import harness  # type: ignore[no-redef]
from puhui.kit import kafka
from puhui.kit.kafka_testing import secured_cluster

WINDOW = 1000  # records sent between flushes


def produce(
    bootstrap: str, security: kafka.KafkaSecurity, topic: str, count: int, size: int
) -> float:
    """Records per second from the first send to the end of flush; every record must be
    acknowledged (the kit's 12 s delivery timeout can expire records on a loaded machine:
    then the round is invalid and the bench stops)."""
    producer = kafka.make_producer(bootstrap, "bench-kafka-security", security=security)
    value = b"x" * size
    try:
        started = time.perf_counter()
        sent = []
        for i in range(count):
            sent.append(producer.send(topic, value, key=str(i).encode()))
            if i % WINDOW == WINDOW - 1:  # bounded backlog: nothing waits out the timeout
                producer.flush(timeout=60)
        producer.flush(timeout=60)
        elapsed = time.perf_counter() - started
        failed = sum(1 for future in sent if future.failed())
        if failed:
            raise RuntimeError(f"{failed} of {count} records not acknowledged; use a lower --count")
        return count / elapsed
    finally:
        producer.close(timeout=10)


def consume(bootstrap: str, security: kafka.KafkaSecurity, topic: str, count: int) -> float:
    """Records per second reading `count` records from the start of every partition."""
    consumer = kafka.make_consumer(bootstrap, None, "bench-kafka-security", security=security)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        seen = 0
        started = time.perf_counter()
        deadline = time.monotonic() + 120
        while seen < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"read {seen} of {count} records from {topic}")
            seen += sum(len(r) for r in consumer.poll(timeout_ms=500).values())
        return count / (time.perf_counter() - started)
    finally:
        consumer.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    best: dict[str, dict[str, float]] = {"plaintext": {}, "sasl_ssl": {}}
    with (
        tempfile.TemporaryDirectory(prefix="bench-kafka-security-") as tmp,
        secured_cluster(Path(tmp)) as cluster,
    ):
        transports = {
            "plaintext": (cluster.plaintext, kafka.KafkaSecurity()),
            "sasl_ssl": (cluster.sasl_ssl, cluster.admin()),
        }
        for round_no in range(args.rounds):
            order = list(transports.items())
            for name, (bootstrap, security) in order if round_no % 2 else order[::-1]:
                topic = f"bench.security.{name}.{uuid.uuid4().hex[:8]}"
                kafka.ensure_topics(cluster.sasl_ssl, [topic], security=cluster.admin())
                rates = {
                    "produce": produce(bootstrap, security, topic, args.count, args.size),
                    "consume": consume(bootstrap, security, topic, args.count),
                }
                for what, rate in rates.items():
                    best[name][what] = max(best[name].get(what, 0.0), rate)

    def figures(name: str) -> dict[str, dict[str, float | str]]:
        return {
            f"{what}_records_per_s": {"value": round(rate), "unit": "rec/s"}
            for what, rate in best[name].items()
        }

    harness.write_result(
        "kafka_security",
        figures("sasl_ssl"),
        ceiling=figures("plaintext"),
        ratios={
            f"{what}_sasl_ssl_vs_plaintext": best["sasl_ssl"][what] / best["plaintext"][what]
            for what in ("produce", "consume")
        },
        conditions={
            "count": args.count,
            "record_bytes": args.size,
            "rounds": args.rounds,
            "ours": "SASL_SSL (SCRAM-SHA-512, TLS 1.3, ECDSA P-256 broker certificate)",
            "ceiling": "PLAINTEXT listener of the same broker, same run",
            "producer": "kit producer: idempotent, acks=all, linger 5 ms; 3 partitions",
            "consumer": "kit consumer, group-less, from the beginning of every partition",
        },
    )


if __name__ == "__main__":
    main()
