"""Federation replication lag: from a province's commit to the hub's national read model.

- Province: a real feedback database (PostgreSQL, migrated) whose events are committed one
  per transaction through the kit outbox at a steady rate (default 200 events/s), and the
  kit OutboxRelay publishing them to the shared Kafka (`puhui.440000.feedback.events`).
- Hub: the federation service's national read model (PostgreSQL) fed by the kit
  EventConsumer with the federation's handler (`national.apply_feedback`, the same as
  `FederationApp` runs), subscribed by topic pattern; its consumer group starts at the
  current end of the topics. Lag = time the hub's transaction committed − the envelope
  time (set when the province's transaction recorded the event).
- Outage: the province's relay is stopped for `--outage-seconds` (default 300 = the
  issue's 5 minutes) while the province keeps committing at the same rate, so the events
  wait in its outbox; then the relay restarts and the province pauses. Catch-up = time
  until every event of the outage is in the hub's read model; rate = events / catch-up
  time (the hub's own apply rate). (The real network cut
  is exercised by tests/test_federation_survival.py; here the relay is stopped so the
  outage length is exact.)
- Ceiling, measured in the same run: the raw Kafka path without databases — the same
  envelopes produced at the same rate and consumed by a plain consumer (lag p50/p99), and a
  plain consumer reading the outage backlog (records/s).

    python bench/federation_lag.py [--quick] [--rate 200] [--seconds 30] [--outage-seconds 300]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC
from typing import Any

try:  # `python -m bench.federation_lag` from the repository root
    from bench import harness
except ImportError:  # `python bench/federation_lag.py`
    import harness  # type: ignore[no-redef]
from puhui.events.v1 import envelope_pb2
from puhui.federation import national
from puhui.federation.adapters import db as hub_tables
from puhui.federation.groups import start_groups_at_end
from puhui.feedback.adapters import db as feedback_tables
from puhui.feedback.v1 import events_pb2 as feedback_events
from puhui.feedback.v1 import feedback_pb2
from puhui.kit import kafka, migrations
from puhui.kit.batching import BatchingEventConsumer
from puhui.kit.db import Database
from puhui.kit.outbox import Outbox, OutboxRelay
from puhui.kit.testing import infra, temporary_database

NODE = "440000"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Writer(threading.Thread):
    """Commits one ServiceCaseRecorded per transaction at `rate` per second, from `threads`
    threads (like concurrent RPC handlers), so the rate holds while commits take longer
    than 1/rate each."""

    def __init__(self, db: Database, outbox: Outbox, rate: float, threads: int = 4) -> None:
        super().__init__(daemon=True)
        self.db, self.outbox, self.rate = db, outbox, rate / threads
        self.threads = threads
        self.stop_event = threading.Event()
        self.ids: dict[str, tuple[str, float]] = {}  # event id -> (phase, envelope time)
        self.committed_at: dict[str, float] = {}  # event id -> when its transaction committed
        self.phase = "warmup"
        self.lock = threading.Lock()

    def run(self) -> None:
        others = [threading.Thread(target=self.write, daemon=True) for _ in range(self.threads - 1)]
        for t in others:
            t.start()
        self.write()
        for t in others:
            t.join(5)

    def write(self) -> None:
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            if self.phase == "paused":
                time.sleep(0.05)
                next_at = time.monotonic()
                continue
            # A trickle while the hub's consumer joins, then the configured rate.
            interval = 1.0 / (5.0 / self.threads if self.phase == "warmup" else self.rate)
            case = feedback_pb2.ServiceCase(
                case_id=str(uuid.uuid4()), institution_id=f"{NODE}-000001", node_id=NODE
            )
            with self.db.transaction() as session:
                env = self.outbox.record(
                    session,
                    feedback_events.ServiceCaseRecorded(service_case=case),
                    subject=f"case/{case.case_id}",
                )
            committed = time.time()
            with self.lock:
                self.ids[env.event_id] = (self.phase, env.time.ToDatetime(UTC).timestamp())
                self.committed_at[env.event_id] = committed
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)


class TimedConsumer(BatchingEventConsumer):
    """The hub's consumer, noting for each record when `poll` returned it and the Kafka
    record timestamp (CreateTime: when the province's relay called `send`), keyed by the
    record key (the event's subject), so the lag splits into its components; and how long
    each step of its loop takes (poll, apply = the database transaction, offset commit)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: dict[str, tuple[float, float]] = {}
        self.steps: dict[str, list[float]] = {"poll": [], "apply": [], "commit": [], "other": []}
        self.records_per_poll: list[int] = []

    def _timed(self, step: str, call: Callable[..., Any], *a: Any, **kw: Any) -> Any:
        started = time.monotonic()
        try:
            return call(*a, **kw)
        finally:
            self.steps[step].append(time.monotonic() - started)

    def poll_once(self) -> int:
        return int(self._timed("other", super().poll_once))

    def _apply_batch(self, records: list[Any]) -> Any:
        return self._timed("apply", super()._apply_batch, records)

    def _ensure_consumer(self):  # type: ignore[no-untyped-def]
        fresh = self._consumer is None
        consumer = super()._ensure_consumer()
        if fresh:
            poll, commit, commit_async = consumer.poll, consumer.commit, consumer.commit_async

            def timed_poll(*a: Any, **kw: Any) -> Any:
                batches = self._timed("poll", poll, *a, **kw)
                now = time.time()
                self.records_per_poll.append(sum(len(r) for r in batches.values()))
                for records in batches.values():
                    for r in records:
                        self.seen[r.key.decode()] = (now, r.timestamp / 1000.0)
                return batches

            consumer.poll = timed_poll
            consumer.commit = lambda *a, **kw: self._timed("commit", commit, *a, **kw)
            consumer.commit_async = lambda *a, **kw: self._timed("commit", commit_async, *a, **kw)
        return consumer

    def stats(self) -> dict[str, Any]:
        # "other" was the whole loop iteration: keep only what the named steps leave.
        whole = self.steps.pop("other")
        out: dict[str, Any] = {
            step: {
                "count": len(v),
                "p50_ms": round(percentile(v, 0.5) * 1e3, 1),
                "p99_ms": round(percentile(v, 0.99) * 1e3, 1),
                "max_ms": round(max(v, default=0.0) * 1e3, 1),
                "total_s": round(sum(v), 1),
            }
            for step, v in self.steps.items()
        }
        out["loop_total_s"] = round(sum(whole), 1)
        out["records_per_poll_mean"] = round(statistics.fmean(self.records_per_poll or [0]), 1)
        return out


def hub_consumer(
    db: Database, bootstrap: str, group: str, on_applied: Callable[[Any], None]
) -> TimedConsumer:
    return TimedConsumer(  # what FederationApp runs for its national models
        db,
        hub_tables.inbox,
        bootstrap,
        group=group,
        handler=national.apply_feedback,
        batch_handler=national.apply_feedback_batch,
        node="000000",
        service="federation",
        pattern=kafka.topic_pattern("feedback"),
        on_applied=on_applied,
    )


def run_hub(args: argparse.Namespace) -> None:
    """The hub's side, in its own process (its own GIL, as in production): apply every
    province's feedback events to the national model; append
    `event_id applied_at polled_at sent_at` lines."""
    import signal

    db = Database(args.hub_url)
    db.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    out = open(args.out, "a", buffering=1)  # noqa: SIM115 (closed below)
    consumer: TimedConsumer | None = None

    def on_applied(envelope: envelope_pb2.EventEnvelope) -> None:
        assert consumer is not None
        polled, sent = consumer.seen.pop(envelope.subject, (0.0, 0.0))
        out.write(f"{envelope.event_id} {time.time():.6f} {polled:.6f} {sent:.3f}\n")

    # Group rebalances (a new topic matching the pattern, created by anyone on the shared
    # broker, makes the hub's group rebalance): their times go in the stats.
    import logging

    rebalances: list[float] = []

    class Rebalances(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "newly assigned partitions" in record.getMessage().lower():
                rebalances.append(time.time())

    coordinator_log = logging.getLogger("kafka.coordinator")
    coordinator_log.setLevel(logging.INFO)
    coordinator_log.addHandler(Rebalances())
    consumer = hub_consumer(db, args.bootstrap, args.group, on_applied)
    consumer.start()
    stop.wait()
    consumer.stop()
    with open(args.out + ".stats", "w") as fh:
        json.dump({**consumer.stats(), "assignments_at": rebalances}, fh)
    out.close()
    db.stop()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    from pathlib import Path

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def code_version() -> str:
    """The commit measured (with "+changes" when the working tree differs from it)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "services/federation", "services/kit"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return head + ("+changes" if dirty else "")


def burn(stop: Any) -> None:
    """Background load: a busy loop until `stop` is set."""
    while not stop.is_set():
        sum(range(10_000))


def read_applied(
    path: str, detail: dict[str, tuple[float, float]] | None = None
) -> dict[str, float]:
    """event id -> applied at; `detail` gets event id -> (polled at, sent at)."""
    applied: dict[str, float] = {}
    with contextlib.suppress(FileNotFoundError), open(path) as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 4:
                applied[parts[0]] = float(parts[1])
                if detail is not None:
                    detail[parts[0]] = (float(parts[2]), float(parts[3]))
    return applied


class AppliedTail:
    """The event ids the hub has appended to its file since the last call (read
    incrementally, so waiting for a large catch-up costs the province's process little)."""

    def __init__(self, path: str) -> None:
        self.path, self.pos = path, 0

    def new_ids(self) -> set[str]:
        with contextlib.suppress(FileNotFoundError), open(self.path, "rb") as fh:
            fh.seek(self.pos)
            data = fh.read()
            end = data.rfind(b"\n") + 1
            self.pos += end
            return {line.split(b" ", 1)[0].decode() for line in data[:end].splitlines()}
        return set()


def measure(args: argparse.Namespace, bootstrap: str, admin_url: str) -> dict[str, Any]:
    with (
        temporary_database(admin_url, "fedlagprov") as prov_url,
        temporary_database(admin_url, "fedlaghub") as hub_url,
    ):
        migrations.upgrade("feedback", prov_url)
        migrations.upgrade("federation", hub_url)
        prov_db, hub_db = Database(prov_url), Database(hub_url)
        prov_db.start()
        hub_db.start()
        outbox = Outbox(feedback_tables.outbox, NODE, "feedback")
        kafka.ensure_topics(bootstrap, [outbox.topic()])
        group = f"bench.federation.{uuid.uuid4().hex[:8]}"
        start_groups_at_end(bootstrap, group, kafka.topic_pattern("feedback"))

        writer = Writer(prov_db, outbox, args.rate)
        out = tempfile.mktemp(prefix="fedlag-", suffix=".txt")  # noqa: S306 (a path for the child)
        hub = subprocess.Popen(
            [sys.executable, __file__, "--role", "hub", "--hub-url", hub_url, "--group", group,
             "--out", out, "--bootstrap", bootstrap],
        )  # fmt: skip
        relay = OutboxRelay(prov_db, outbox, bootstrap)
        relay.start()
        writer.start()
        try:
            # Warm-up: a trickle until the hub's consumer has joined and applied everything.
            warm_deadline = time.monotonic() + 120
            while time.monotonic() < warm_deadline:
                done_ids = read_applied(out)
                warm = [i for i, (p, _) in list(writer.ids.items()) if p == "warmup"]
                if len(warm) > 10 and all(i in done_ids for i in warm):
                    break
                time.sleep(0.5)
            writer.phase = "steady"
            steady_wall = time.time()
            cpu_at = (time.process_time(), process_cpu(hub.pid))
            time.sleep(args.seconds)
            cpu_steady = (time.process_time() - cpu_at[0], process_cpu(hub.pid) - cpu_at[1])
            outage_wall = time.time()
            # -- outage: the relay stops; the province keeps committing -----------------------
            relay.stop()
            writer.phase = "outage"
            time.sleep(args.outage_seconds)
            # Reconnection: the province pauses, so the catch-up rate is the hub's own.
            writer.phase = "paused"
            time.sleep(0.1)
            backlog = sum(1 for p, _ in list(writer.ids.values()) if p == "outage")
            reconnect = time.monotonic()
            reconnect_wall = time.time()
            hub_cpu_at = process_cpu(hub.pid)
            relay = OutboxRelay(prov_db, outbox, bootstrap)
            relay.start()
            outage_ids = [i for i, (p, _) in list(writer.ids.items()) if p == "outage"]
            deadline = reconnect + max(120.0, args.outage_seconds * 3)
            tail = AppliedTail(out)
            remaining = set(outage_ids)
            last_report = time.monotonic()
            while time.monotonic() < deadline:
                remaining -= tail.new_ids()
                if not remaining:
                    break
                time.sleep(0.1)
                if time.monotonic() - last_report > 10:
                    last_report = time.monotonic()
                    done_now = len(outage_ids) - len(remaining)
                    print(f"catch-up: {done_now}/{len(outage_ids)} outage events at the hub")
            caught_up = time.monotonic() - reconnect
            hub_cpu_catch_up = process_cpu(hub.pid) - hub_cpu_at
            done = len(outage_ids) - len(remaining)
            time.sleep(2)
        finally:
            writer.stop_event.set()
            writer.join(5)
            relay.stop()
        time.sleep(2)
        hub.terminate()
        hub.wait(30)
        detail: dict[str, tuple[float, float]] = {}
        applied = read_applied(out, detail)
        os.unlink(out)
        # When the relay had handed the last outage event to the producer: the province's
        # side of the catch-up (the rest is Kafka and the hub).
        sent_outage = [detail[i][1] for i in outage_ids if i in detail]
        relay_drained = max(sent_outage, default=reconnect_wall) - reconnect_wall
        hub_loop: dict[str, Any] = {}
        with contextlib.suppress(FileNotFoundError), open(out + ".stats") as fh:
            hub_loop = json.load(fh)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out + ".stats")
        lags: dict[str, list[float]] = {p: [] for p in ("warmup", "steady", "outage", "paused")}
        # The steady lag in four consecutive parts (they add up to the lag of each event).
        parts: dict[str, list[float]] = {
            "province_commit": [],  # envelope time -> the province's transaction committed
            "outbox_relay": [],  # -> the relay hands the record to the producer (send)
            "kafka_to_hub_poll": [],  # -> the hub's poll returns it (ack, fetch, poll)
            "hub_apply": [],  # -> the hub's read-model transaction committed
        }
        for event_id, (phase, committed) in writer.ids.items():
            if phase == "steady" and committed > outage_wall - 1.0:
                continue  # committed just before the relay stopped: part of the outage
            if event_id in applied:
                lags[phase].append(applied[event_id] - committed)
                polled, sent = detail.get(event_id, (0.0, 0.0))
                if phase == "steady" and polled and event_id in writer.committed_at:
                    done_at = writer.committed_at[event_id]
                    parts["province_commit"].append(done_at - committed)
                    parts["outbox_relay"].append(sent - done_at)
                    parts["kafka_to_hub_poll"].append(polled - sent)
                    parts["hub_apply"].append(applied[event_id] - polled)
        with hub_db.transaction() as s:
            from sqlalchemy import func, select

            counted = s.execute(
                select(func.count()).select_from(hub_tables.national_cases)
            ).scalar_one()
        prov_db.stop()
        hub_db.stop()
    steady = lags["steady"]
    return {
        "steady_events": len(steady),
        "steady_p50_s": percentile(steady, 0.50),
        "steady_p99_s": percentile(steady, 0.99),
        "steady_mean_s": statistics.fmean(steady) if steady else float("nan"),
        "hub_loop": hub_loop,
        "group_rebalances_during_steady": sum(
            1 for at in hub_loop.pop("assignments_at", []) if steady_wall <= at <= outage_wall
        ),
        "cpu_ms_per_event": {
            "province_writers_and_relay_steady": round(
                cpu_steady[0] / max(1, len(steady)) * 1e3, 3
            ),
            "hub_consumer_steady": round(cpu_steady[1] / max(1, len(steady)) * 1e3, 3),
            "hub_consumer_catch_up": round(hub_cpu_catch_up / max(1, done) * 1e3, 3),
        },
        "parts": {
            name: {
                "p50_ms": round(percentile(v, 0.50) * 1000, 1),
                "p99_ms": round(percentile(v, 0.99) * 1000, 1),
                "mean_ms": round(statistics.fmean(v) * 1000, 1) if v else None,
            }
            for name, v in parts.items()
        },
        "outage_seconds": args.outage_seconds,
        "outage_backlog_events": backlog,
        "outage_applied": done,
        "catch_up_s": caught_up,
        "catch_up_rate": done / caught_up if caught_up > 0 else float("nan"),
        "relay_drained_s": relay_drained,
        "counted_at_hub": counted,
        "written": len(writer.ids),
        "steady_missing": sum(
            1 for i, (p, c) in writer.ids.items() if p == "steady" and i not in applied
        ),
    }


def ceiling(bootstrap: str, rate: float, seconds: float, backlog: int) -> dict[str, float]:
    """Raw Kafka: same-size envelopes at the same rate, a plain consumer; then a backlog."""
    topic = f"puhui.{NODE}.benchceiling.events"
    kafka.ensure_topics(bootstrap, [topic])
    producer = kafka.make_producer(bootstrap, "bench-ceiling")
    consumer = kafka.make_consumer(bootstrap, f"bench-ceiling-{uuid.uuid4().hex[:8]}", "bench")
    consumer.subscribe(topics=[topic])
    consumer.poll(timeout_ms=3000)  # join and get an assignment
    consumer.seek_to_end()
    consumer.poll(timeout_ms=500)
    marker = uuid.uuid4().hex.encode()
    lags: list[float] = []
    stop = threading.Event()

    def consume(count: int | None) -> int:
        seen = 0
        while not stop.is_set() and (count is None or seen < count):
            for records in consumer.poll(timeout_ms=200, max_records=500).values():
                for r in records:
                    if r.key == marker:
                        seen += 1
                        if count is None:
                            lags.append(time.time() - float(r.value.split(b"|", 1)[0]))
        return seen

    reader = threading.Thread(target=consume, args=(None,), daemon=True)
    reader.start()
    pad = b"x" * 300  # about an envelope of ServiceCaseRecorded
    interval, next_at, end = 1.0 / rate, time.monotonic(), time.monotonic() + seconds
    while time.monotonic() < end:
        producer.send(topic, key=marker, value=f"{time.time()}|".encode() + pad)
        producer.flush()
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    time.sleep(1)
    stop.set()
    reader.join(5)
    stop.clear()
    for _ in range(backlog):
        producer.send(topic, key=marker, value=b"0|" + pad)
    producer.flush()
    started = time.monotonic()
    got = consume(backlog)
    backlog_rate = got / (time.monotonic() - started)
    producer.close()
    consumer.close(autocommit=False)
    return {
        "p50": percentile(lags, 0.5),
        "p99": percentile(lags, 0.99),
        "backlog_rate": backlog_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s steady, 20 s outage")
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="steady phase length")
    parser.add_argument("--outage-seconds", type=float, default=300.0)
    parser.add_argument(
        "--background-load",
        type=int,
        default=0,
        help="busy-loop processes run meanwhile, to measure on a reproducibly loaded machine",
    )
    parser.add_argument("--role", default="bench", choices=["bench", "hub"], help=argparse.SUPPRESS)
    parser.add_argument("--hub-url", help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "hub":
        run_hub(args)
        return
    if args.quick:
        args.seconds, args.outage_seconds = 10.0, 20.0
    bootstrap = infra("PUHUI_KAFKA_BOOTSTRAP")
    admin_url = infra("PUHUI_POSTGRES_URL")
    load_before = os.getloadavg()
    import multiprocessing

    stop_burning = multiprocessing.Event()
    burners = [
        multiprocessing.Process(target=burn, args=(stop_burning,), daemon=True)
        for _ in range(args.background_load)
    ]
    for b in burners:
        b.start()
    try:  # the ceiling under the same load
        ours = measure(args, bootstrap, admin_url)
        ceil = ceiling(
            bootstrap, args.rate, min(args.seconds, 15.0), max(1, ours["outage_backlog_events"])
        )
    finally:
        stop_burning.set()
        for b in burners:
            b.join(5)
    ms = 1000.0
    figures = {
        "lag_p50": {"value": round(ours["steady_p50_s"] * ms, 1), "unit": "ms"},
        "lag_p99": {"value": round(ours["steady_p99_s"] * ms, 1), "unit": "ms"},
        "catch_up_rate": {"value": round(ours["catch_up_rate"], 1), "unit": "ev/s"},
        "catch_up_time": {"value": round(ours["catch_up_s"], 1), "unit": "s"},
        "catch_up_relay_sent_all": {"value": round(ours["relay_drained_s"], 1), "unit": "s"},
        "outage_backlog": {"value": ours["outage_backlog_events"], "unit": "ev"},
    }
    ceiling_figs = {
        "lag_p50": {"value": round(ceil["p50"] * ms, 1), "unit": "ms"},
        "lag_p99": {"value": round(ceil["p99"] * ms, 1), "unit": "ms"},
        "catch_up_rate": {"value": round(ceil["backlog_rate"], 1), "unit": "ev/s"},
    }
    # A shorter outage than the 5 minutes, or added background load, writes its own
    # file, never the reference one.
    name = "federation_lag"
    if args.outage_seconds < 300:
        name += f"_outage{int(args.outage_seconds)}"
    if args.background_load:
        name += f"_load{args.background_load}"
    harness.write_result(
        name,
        figures,
        ceiling=ceiling_figs,
        ratios={
            "lag_p99_vs_raw_kafka": ours["steady_p99_s"] / ceil["p99"] if ceil["p99"] else 0.0,
            "catch_up_vs_raw_consume": ours["catch_up_rate"] / ceil["backlog_rate"]
            if ceil["backlog_rate"]
            else 0.0,
        },
        conditions={
            "rate_events_per_s": args.rate,
            "steady_seconds": args.seconds,
            "outage_seconds": args.outage_seconds,
            "steady_events_measured": ours["steady_events"],
            "steady_rate_achieved_per_s": round(ours["steady_events"] / args.seconds, 1),
            "events_written": ours["written"],
            "events_counted_at_hub": ours["counted_at_hub"],
            "outage_events_applied": ours["outage_applied"],
            "steady_events_missing": ours["steady_missing"],
            "steady_lag_parts": ours["parts"],
            "cpu_ms_per_event": ours["cpu_ms_per_event"],
            "hub_consumer_loop_whole_run": ours["hub_loop"],
            "hub_group_rebalances_during_steady": ours["group_rebalances_during_steady"],
            "background_load_processes": args.background_load,
            "code": code_version(),
            "load_average_before_and_after": [
                round(x, 1) for x in (*load_before, *os.getloadavg())
            ],
            "path": "province PostgreSQL outbox -> OutboxRelay -> Kafka -> hub EventConsumer "
            "(inbox) -> national read model on PostgreSQL",
        },
        targets={"lag_p99": "<= 1000 ms at 200 events/s"},
    )


if __name__ == "__main__":
    main()
