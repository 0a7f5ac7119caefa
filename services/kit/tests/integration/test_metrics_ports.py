"""One registry per service: in a process running several services (a one-process node),
each metrics port serves its own series, and the process's own series once."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from puhui.feedback import metrics as feedback_metrics
from puhui.kit import config
from puhui.kit.metrics_http import MetricsServer
from puhui.kit.server import VERSION, ServiceApp, ServiceHost

from .conftest import metadata

pytestmark = [pytest.mark.integration]


class Probe(ServiceApp):
    def grpc_services(self):
        return []


def host_of(name: str, node: str, tmp_path) -> ServiceHost:
    cfg = config.load(
        config.ServiceConfig,
        {},
        service=name,
        node_id=node,
        database_url=f"sqlite:///{tmp_path / name}-{node}.db",
        migrate_on_start=False,
    )
    app = type(f"Probe_{name}", (Probe,), {"name": name})(cfg, metadata)
    return ServiceHost(app, readiness_interval=0.3)


def scrape(port: int) -> list[tuple[str, dict[str, str]]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return [(s.name, s.labels) for f in text_string_to_metric_families(text) for s in f.samples]


def test_each_port_serves_its_own_service_and_the_process_once(tmp_path):
    hosts = [
        host_of("mportsa", "440000", tmp_path),
        host_of("mportsb", "440000", tmp_path),
        host_of("mportsa", "320000", tmp_path),
    ]
    started = []
    try:
        for host in hosts:
            host.start()
            started.append(host)
        for host in hosts:
            assert host.wait_ready(30)
        seen = [scrape(h.metrics_server.port) for h in hosts]
    finally:
        for host in started:
            host.stop(grace=0.5)
    for host, samples in zip(hosts, seen, strict=True):
        own = {"node": host.config.node_id, "service": host.app.name}
        labelled = [labels for name, labels in samples if "service" in labels]
        assert labelled, samples
        assert all(
            labels["service"] == own["service"] and labels["node"] == own["node"]
            for labels in labelled
        ), (own, labelled)
        assert ("puhui_build_info", {**own, "version": VERSION}) in samples
    process_series = [
        [name for name, _ in samples if name.startswith("process_") or name.startswith("python_")]
        for samples in seen
    ]
    with_process = [series for series in process_series if series]
    assert len(with_process) == 1, "the process's own series are served by one port only"


def test_a_business_series_with_only_a_node_goes_to_its_service(tmp_path):
    server = MetricsServer("127.0.0.1", 0, node="449800", service="feedback")
    other = MetricsServer("127.0.0.1", 0, node="449800", service="catalog")
    feedback_metrics.TICKETS_OPENED.labels(node="449800").inc()
    server.start()
    other.start()
    try:
        mine = [n for n, labels in scrape(server.port) if labels.get("node") == "449800"]
        theirs = [n for n, labels in scrape(other.port) if labels.get("node") == "449800"]
    finally:
        server.stop()
        other.stop()
    assert "puhui_feedback_tickets_opened_total" in mine
    assert "puhui_feedback_tickets_opened_total" not in theirs


def test_healthz_is_not_a_metrics_page_and_unknown_paths_are_404():
    server = MetricsServer(
        "127.0.0.1", 0, node="449800", service="x", health=lambda: (False, "NOT_SERVING")
    )
    server.start()
    try:
        with pytest.raises(urllib.error.HTTPError) as down:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5)
        assert down.value.code == 503
        assert down.value.read().decode().strip() == "NOT_SERVING"
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/nothing", timeout=5)
        assert missing.value.code == 404
    finally:
        server.stop()
