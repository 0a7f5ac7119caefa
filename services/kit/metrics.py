"""The metrics catalogue: every Prometheus series a Puhui process exports is declared here.

Naming follows Prometheus conventions: base units, `_total` for counters, `_seconds` for
durations, bounded label values. Every series carries `node` (the node id); series of one
process also carry `service`. docs/metrics.md is generated from this module.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Protocol

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

# --- gRPC (RED) -------------------------------------------------------------------------
GRPC_SERVER_HANDLED = Counter(
    "puhui_grpc_server_handled_total",
    "RPCs completed by the server, by gRPC status code.",
    ["node", "service", "method", "code"],
)
GRPC_SERVER_HANDLING = Histogram(
    "puhui_grpc_server_handling_seconds",
    "Time from receiving an RPC to sending its status.",
    ["node", "service", "method"],
    buckets=LATENCY_BUCKETS,
)
GRPC_SERVER_IN_FLIGHT = Gauge(
    "puhui_grpc_server_in_flight_requests",
    "RPCs being handled now.",
    ["node", "service"],
)
GRPC_SERVER_QUEUED = Gauge(
    "puhui_grpc_server_queued_requests",
    "RPCs received and waiting now for a free worker thread (PUHUI_GRPC_WORKERS); above "
    "zero most of the time: calls arrive faster than the service handles them.",
    ["node", "service"],
)
GRPC_SERVER_LANE_CALLS = Gauge(
    "puhui_grpc_server_lane_calls",
    "RPCs running or waiting now in one of the server's worker pools (lane: unary, stream, "
    "reflection, health); unary, stream and reflection refuse calls beyond their capacity.",
    ["node", "service", "lane"],
)
GRPC_SERVER_REFUSED = Counter(
    "puhui_grpc_server_refused_total",
    "RPCs refused at once with RESOURCE_EXHAUSTED and a RetryInfo because their worker pool "
    "was full (lane: unary = PUHUI_GRPC_WORKERS + PUHUI_GRPC_QUEUE, stream, reflection).",
    ["node", "service", "lane"],
)
GRPC_SERVER_IDLE_STREAMS_CANCELLED = Counter(
    "puhui_grpc_server_idle_streams_cancelled_total",
    "Streams cancelled after PUHUI_GRPC_STREAM_IDLE_SECONDS without a message either way "
    "(a client that stopped reading), their worker given back.",
    ["node", "service", "lane"],
)
GRPC_SERVER_EXPIRED = Counter(
    "puhui_grpc_server_expired_total",
    "Unary calls whose deadline had passed when a worker took them: not run.",
    ["node", "service"],
)
GRPC_CLIENT_HANDLED = Counter(
    "puhui_grpc_client_handled_total",
    "RPCs made to other services or nodes, by gRPC status code.",
    ["node", "service", "target_service", "method", "code"],
)
GRPC_CLIENT_HANDLING = Histogram(
    "puhui_grpc_client_handling_seconds",
    "Latency of RPCs made to other services or nodes.",
    ["node", "service", "target_service", "method"],
    buckets=LATENCY_BUCKETS,
)

# --- Kafka and the outbox/inbox -----------------------------------------------------------
KAFKA_PRODUCED = Counter(
    "puhui_kafka_produced_total", "Records acknowledged by Kafka.", ["node", "service", "topic"]
)
KAFKA_PRODUCE_FAILED = Counter(
    "puhui_kafka_produce_failed_total",
    "Records Kafka did not acknowledge (they stay in the outbox and are retried).",
    ["node", "service", "topic"],
)
KAFKA_CONSUMED = Counter(
    "puhui_kafka_consumed_total",
    "Records processed by a consumer, by outcome (applied, duplicate, dead_lettered, retried, "
    "foreign: dropped because the envelope names another node than the topic).",
    ["node", "service", "group", "topic", "outcome"],
)
KAFKA_CONSUMER_LAG = Gauge(
    "puhui_kafka_consumer_lag_records",
    "Records between a consumer group's position and the end of the partition.",
    ["node", "service", "group", "topic", "partition"],
)
KAFKA_CONSUMER_LAST_POLL = Gauge(
    "puhui_kafka_consumer_last_poll_timestamp_seconds",
    "Unix time of a consumer's last poll (stops moving when its thread died or hangs).",
    ["node", "service", "group"],
)
OUTBOX_BACKLOG = Gauge(
    "puhui_outbox_backlog_events",
    "Events recorded but not yet acknowledged by Kafka.",
    ["node", "service"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "puhui_outbox_oldest_age_seconds",
    "Age of the oldest unpublished outbox event (0 when empty).",
    ["node", "service"],
)
REPLICATION_LAG = Gauge(
    "puhui_replication_lag_seconds",
    "Time from an event's commit at its source node to its application here.",
    ["node", "service", "source_node"],
)

# --- Dependencies ------------------------------------------------------------------------
DEPENDENCY_UP = Gauge(
    "puhui_dependency_up",
    "1 when a dependency (database, kafka, redis) answered the last readiness check.",
    ["node", "service", "dependency"],
)
TLS_CERTIFICATE_EXPIRY = Gauge(
    "puhui_tls_certificate_expiry_timestamp_seconds",
    "Unix time at which the certificate the service presents (PUHUI_TLS_CERT_FILE) expires; "
    "read from the file at each scrape, so a rotation shows at once (NaN: unreadable).",
    ["node", "service"],
)
DB_POOL_IN_USE = Gauge(
    "puhui_db_pool_connections_in_use",
    "Database connections checked out of the pool now (pool: write or read; a service's "
    "side pools prefix them: search_read, walk_read).",
    ["node", "service", "pool"],
)
DB_POOL_SIZE = Gauge(
    "puhui_db_pool_connections",
    "Database connections held by the pool now, idle or in use.",
    ["node", "service", "pool"],
)
DB_POOL_MAX = Gauge(
    "puhui_db_pool_max_connections",
    "Most connections the pool may hold (pool size + overflow).",
    ["node", "service", "pool"],
)
REDIS_ERRORS = Counter(
    "puhui_redis_errors_total", "Redis commands that failed.", ["node", "service", "operation"]
)
BUILD_INFO = Gauge(
    "puhui_build_info", "Always 1; labels carry the version.", ["node", "service", "version"]
)


# --- Database pools: read at scrape time -------------------------------------------------
class _HasPools(Protocol):
    engine: Any


def _pool_of(db: _HasPools, role: str) -> Any:
    engine = db.engine if role == "write" else getattr(db, "_reader", None)
    if engine is None or (role == "read" and engine is db.engine):
        return None
    return engine.pool


def _pool_figure(db: _HasPools, role: str, figure: str) -> float:
    pool = _pool_of(db, role)
    if pool is None:
        return 0.0
    try:
        if figure == "in_use":
            return float(pool.checkedout())
        if figure == "held":
            return float(pool.checkedout() + pool.checkedin())
        return float(pool.size() + max(0, getattr(pool, "_max_overflow", 0)))
    except (AttributeError, TypeError):  # a pool class without counters (NullPool, StaticPool)
        return 0.0


def watch_database(node: str, service: str, db: _HasPools, prefix: str = "") -> None:
    """Export `db`'s pool figures (write pool and, on PostgreSQL, the read pool); the values
    are read from SQLAlchemy when Prometheus scrapes, so nothing polls in the background.
    `prefix` names a service's side pool in the `pool` label ("search_read")."""
    for role in ("write", "read"):
        labels = {"node": node, "service": service, "pool": prefix + role}
        for gauge, figure in (
            (DB_POOL_IN_USE, "in_use"),
            (DB_POOL_SIZE, "held"),
            (DB_POOL_MAX, "max"),
        ):
            gauge.labels(**labels).set_function(functools.partial(_pool_figure, db, role, figure))


def unwatch_database(node: str, service: str, prefix: str = "") -> None:
    for role in ("write", "read"):
        for gauge in (DB_POOL_IN_USE, DB_POOL_SIZE, DB_POOL_MAX):
            with contextlib.suppress(KeyError):
                gauge.remove(node, service, prefix + role)
