"""`puhui status`: one node summarised for its operator, from each service's gRPC health
and its Prometheus /metrics page — health, version, dependencies, consumer lag, outbox
backlog, replication lag, mirror completeness.

Reads only what the services expose; no database or Kafka access of its own.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Target:
    service: str
    grpc: str  # host:port
    metrics: str  # host:port


@dataclass
class ServiceStatus:
    service: str
    grpc: str
    metrics: str
    health: str = "UNKNOWN"
    scraped: bool = False
    version: str = ""
    dependencies: dict[str, bool] = field(default_factory=dict)
    rpc_total: float = 0.0
    rpc_errors: float = 0.0
    outbox_backlog: float | None = None
    outbox_oldest_age_seconds: float | None = None
    consumer_lag: dict[str, float] = field(default_factory=dict)  # "group topic" -> records
    replication_lag_seconds: dict[str, float] = field(default_factory=dict)  # source node -> s
    mirror_completeness: dict[str, float] = field(default_factory=dict)  # data set -> ratio
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.health == "SERVING" and self.scraped


SERVER_ERRORS = {
    "UNKNOWN",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "DEADLINE_EXCEEDED",
    "UNIMPLEMENTED",
}


def health(address: str, timeout: float = 2.0) -> str:
    try:
        with grpc.insecure_channel(address) as channel:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout
            )
            return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))
    except grpc.RpcError as exc:
        return f"DOWN ({exc.code().name})"


def scrape(address: str, timeout: float = 3.0) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=timeout) as response:
        return str(response.read().decode())


def summarise(status: ServiceStatus, text: str, node: str = "") -> ServiceStatus:
    """Fill `status` from a /metrics page: only this service's series of this node (a process
    hosting several services, as `puhui run`'s federation does, exposes all of theirs)."""
    status.scraped = True
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if labels.get("service", status.service) != status.service:
                continue
            if node and labels.get("node", node) != node:
                continue
            if name == "puhui_build_info":
                status.version = labels.get("version", "")
            elif name == "puhui_dependency_up":
                status.dependencies[labels.get("dependency", "?")] = value == 1
            elif name == "puhui_grpc_server_handled_total":
                status.rpc_total += value
                if labels.get("code") in SERVER_ERRORS:
                    status.rpc_errors += value
            elif name == "puhui_outbox_backlog_events":
                status.outbox_backlog = (status.outbox_backlog or 0) + value
            elif name == "puhui_outbox_oldest_age_seconds":
                status.outbox_oldest_age_seconds = max(status.outbox_oldest_age_seconds or 0, value)
            elif name == "puhui_kafka_consumer_lag_records":
                key = f"{labels.get('group', '?')} {labels.get('topic', '?')}"
                status.consumer_lag[key] = status.consumer_lag.get(key, 0) + value
            elif name == "puhui_replication_lag_seconds":
                source = labels.get("source_node", "?")
                status.replication_lag_seconds[source] = max(
                    status.replication_lag_seconds.get(source, 0), value
                )
            elif name == "puhui_data_mirror_completeness_ratio":
                status.mirror_completeness[labels.get("dataset", "?")] = value
    return status


def collect(
    targets: list[Target],
    node: str = "",
    *,
    check_health: Callable[[str], str] = health,
    fetch: Callable[[str], str] = scrape,
) -> list[ServiceStatus]:
    statuses = []
    for target in targets:
        status = ServiceStatus(target.service, target.grpc, target.metrics)
        status.health = check_health(target.grpc)
        try:
            summarise(status, fetch(target.metrics), node)
        except (OSError, ValueError) as exc:
            status.error = f"metrics unreachable: {getattr(exc, 'reason', exc)}"
        statuses.append(status)
    return statuses


def as_json(node: str, statuses: list[ServiceStatus]) -> str:
    return json.dumps(
        {
            "node": node,
            "ok": all(s.ok for s in statuses),
            "services": {s.service: {**asdict(s), "address": s.grpc, "ok": s.ok} for s in statuses},
        },
        indent=2,
        ensure_ascii=False,
    )


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.0f}s"
    if value < 7200:
        return f"{value / 60:.0f}m"
    return f"{value / 3600:.1f}h"


def as_text(node: str, statuses: list[ServiceStatus]) -> str:
    lines = [f"node {node}: {'OK' if all(s.ok for s in statuses) else 'NOT OK'}", ""]
    header = (
        f"{'service':<9} {'health':<22} {'version':<8} {'rpcs':>7} {'errors':>6} "
        f"{'outbox':>6} {'oldest':>6}  dependencies"
    )
    lines.append(header)
    for s in statuses:
        deps = " ".join(f"{k}={'up' if v else 'DOWN'}" for k, v in sorted(s.dependencies.items()))
        backlog = "-" if s.outbox_backlog is None else f"{s.outbox_backlog:.0f}"
        lines.append(
            f"{s.service:<9} {s.health:<22} {s.version or '-':<8} {s.rpc_total:>7.0f} "
            f"{s.rpc_errors:>6.0f} {backlog:>6} {_seconds(s.outbox_oldest_age_seconds):>6}  "
            f"{deps or s.error or '-'}"
        )
    details: list[str] = []
    for s in statuses:
        for key, lag in sorted(s.consumer_lag.items()):
            details.append(f"  consumer lag      {s.service:<9} {key}: {lag:.0f} records")
        for source, lag in sorted(s.replication_lag_seconds.items()):
            details.append(f"  replication lag   {s.service:<9} from {source}: {_seconds(lag)}")
        for dataset, ratio in sorted(s.mirror_completeness.items()):
            details.append(f"  mirror            {s.service:<9} {dataset}: {ratio:.1%} complete")
    if details:
        lines += ["", *details]
    return "\n".join(lines)


def targets_for(
    node: str,
    services: tuple[str, ...],
    ports: Callable[[str, str], tuple[int, int]],
    host: str = "127.0.0.1",
    overrides: Mapping[str, str] | None = None,
) -> list[Target]:
    """Targets at the ports `puhui run` uses, or `service=GRPC_HOST:PORT,METRICS_HOST:PORT`."""
    found = []
    for service in services:
        if overrides and service in overrides:
            grpc_address, _, metrics_address = overrides[service].partition(",")
            found.append(Target(service, grpc_address, metrics_address))
        else:
            grpc_port, metrics_port = ports(node, service)
            found.append(Target(service, f"{host}:{grpc_port}", f"{host}:{metrics_port}"))
    return found


def parse_overrides(values: list[str]) -> dict[str, Any]:
    parsed = {}
    for value in values:
        service, sep, addresses = value.partition("=")
        if not sep or "," not in addresses:
            raise ValueError(
                f"--target {value!r}: expected SERVICE=GRPC_HOST:PORT,METRICS_HOST:PORT"
            )
        parsed[service] = addresses
    return parsed
