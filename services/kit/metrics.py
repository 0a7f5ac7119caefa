"""The metrics catalogue: every Prometheus series a Puhui process exports is declared here.

Naming follows Prometheus conventions: base units, `_total` for counters, `_seconds` for
durations, bounded label values. Every series carries `node` (the node id); series of one
process also carry `service`. docs/metrics.md is generated from this module.
"""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, start_http_server

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
    "Records processed by a consumer, by outcome (applied, duplicate, dead_lettered, retried).",
    ["node", "service", "group", "topic", "outcome"],
)
KAFKA_CONSUMER_LAG = Gauge(
    "puhui_kafka_consumer_lag_records",
    "Records between a consumer group's position and the end of the partition.",
    ["node", "service", "group", "topic", "partition"],
)
OUTBOX_BACKLOG = Gauge(
    "puhui_outbox_backlog_events", "Events recorded but not yet acknowledged by Kafka.", ["node", "service"]
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
DB_POOL_IN_USE = Gauge(
    "puhui_db_pool_connections_in_use", "Database connections checked out.", ["node", "service"]
)
DB_POOL_SIZE = Gauge(
    "puhui_db_pool_connections", "Database connections held by the pool.", ["node", "service"]
)
REDIS_ERRORS = Counter(
    "puhui_redis_errors_total", "Redis commands that failed.", ["node", "service", "operation"]
)
BUILD_INFO = Gauge(
    "puhui_build_info", "Always 1; labels carry the version.", ["node", "service", "version"]
)


class MetricsServer:
    """The /metrics HTTP endpoint on its own port (separate from gRPC)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        self._server, self._thread = start_http_server(self.port, addr=self.host)
        self.port = self._server.server_port
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
