"""`puhui status` summarises a node from its services' /metrics pages."""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from puhui.kit import nodestatus


def page() -> str:
    """What a process hosting two services of node 440000 exposes."""
    r = CollectorRegistry()
    build = Gauge("puhui_build_info", "b", ["node", "service", "version"], registry=r)
    build.labels("440000", "catalog", "1.2.3").set(1)
    build.labels("440000", "data", "1.2.3").set(1)
    handled = Counter(
        "puhui_grpc_server_handled", "h", ["node", "service", "method", "code"], registry=r
    )
    handled.labels("440000", "catalog", "CatalogService/GetInstitution", "OK").inc(40)
    handled.labels("440000", "catalog", "CatalogService/GetInstitution", "NOT_FOUND").inc(5)
    handled.labels("440000", "catalog", "CatalogService/GetInstitution", "INTERNAL").inc(2)
    handled.labels("440000", "data", "DataService/GetPatent", "OK").inc(1000)
    deps = Gauge("puhui_dependency_up", "d", ["node", "service", "dependency"], registry=r)
    deps.labels("440000", "catalog", "database").set(1)
    deps.labels("440000", "catalog", "redis").set(0)
    Gauge("puhui_outbox_backlog_events", "o", ["node", "service"], registry=r).labels(
        "440000", "catalog"
    ).set(7)
    Gauge("puhui_outbox_oldest_age_seconds", "o", ["node", "service"], registry=r).labels(
        "440000", "catalog"
    ).set(95)
    lag = Gauge(
        "puhui_kafka_consumer_lag_records",
        "l",
        ["node", "service", "group", "topic", "partition"],
        registry=r,
    )
    lag.labels("440000", "catalog", "catalog-registry", "puhui.000000.catalog.events", "0").set(3)
    lag.labels("440000", "catalog", "catalog-registry", "puhui.000000.catalog.events", "1").set(4)
    rep = Gauge(
        "puhui_replication_lag_seconds", "r", ["node", "service", "source_node"], registry=r
    )
    rep.labels("440000", "catalog", "000000").set(12.5)
    rep.labels("320000", "catalog", "000000").set(999)  # another node's series: ignored
    mirror = Gauge("puhui_data_mirror_completeness_ratio", "m", ["node", "dataset"], registry=r)
    mirror.labels("440000", "patents").set(0.97)
    return generate_latest(r).decode()


def test_summary_of_one_service_of_one_node():
    status = nodestatus.summarise(
        nodestatus.ServiceStatus("catalog", "h:1", "h:2", health="SERVING"), page(), "440000"
    )
    assert status.ok
    assert status.version == "1.2.3"
    assert status.dependencies == {"database": True, "redis": False}
    assert status.rpc_total == 47  # the data service's RPCs on the same page are not counted
    assert status.rpc_errors == 2  # NOT_FOUND is the caller's mistake
    assert (status.outbox_backlog, status.outbox_oldest_age_seconds) == (7, 95)
    assert status.consumer_lag == {"catalog-registry puhui.000000.catalog.events": 7}
    assert status.replication_lag_seconds == {"000000": 12.5}
    assert status.mirror_completeness == {"patents": 0.97}  # no service label: kept


def test_collect_reports_down_services_and_renders_text_and_json():
    targets = nodestatus.targets_for(
        "440000",
        ("catalog", "data"),
        lambda node, service: (1, 2),
        overrides={"data": "10.0.0.9:50063,10.0.0.9:50163"},
    )
    assert targets[0] == nodestatus.Target("catalog", "127.0.0.1:1", "127.0.0.1:2")
    assert targets[1] == nodestatus.Target("data", "10.0.0.9:50063", "10.0.0.9:50163")

    def fetch(address: str) -> str:
        if address.startswith("10."):
            raise OSError("connection refused")
        return page()

    statuses = nodestatus.collect(
        targets,
        "440000",
        check_health=lambda a: "SERVING" if a.startswith("127") else "DOWN (UNAVAILABLE)",
        fetch=fetch,
    )
    catalog, data = statuses
    assert catalog.ok
    assert not data.ok
    assert "connection refused" in data.error
    text = nodestatus.as_text("440000", statuses)
    assert text.splitlines()[0] == "node 440000: NOT OK"
    assert "replication lag   catalog   from 000000: 12s" in text
    assert "mirror            catalog   patents: 97.0% complete" in text
    report = json.loads(nodestatus.as_json("440000", statuses))
    assert report["ok"] is False
    assert report["services"]["catalog"]["health"] == "SERVING"
    assert report["services"]["catalog"]["address"] == "127.0.0.1:1"
