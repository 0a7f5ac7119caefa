"""The metrics catalogue: docs/metrics.md is generated from the code and current, and every
metric the kit and the services declare follows the project's Prometheus naming rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from puhui.kit import metrics_docs

ROOT = Path(__file__).resolve().parent.parent


def test_docs_metrics_md_is_current():
    """In a fresh process: the catalogue is what the metrics modules register at import."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "metricsdoc.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr or result.stdout


def test_every_declared_metric_follows_the_naming_rules():
    entries = metrics_docs.catalogue()
    declared = [e for e in entries if not metrics_docs.is_runtime(e)]
    assert {e.module for e in declared} >= {"puhui.kit.metrics"}
    problems = {e.name: metrics_docs.naming_problems(e) for e in declared}
    assert {name: p for name, p in problems.items() if p} == {}


def test_catalogue_includes_every_service_metrics_module():
    modules = metrics_docs.service_metric_modules()
    on_disk = sorted(
        f"puhui.{p.parent.name}.metrics"
        for p in (ROOT / "services").glob("*/metrics.py")
        if p.parent.name != "kit"
    )
    assert modules == ["puhui.kit.metrics", *on_disk]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda r: Counter("puhui_x_requests", "x.", ["node"], registry=r), None),
        (lambda r: Gauge("puhui_x_latency_ms", "x.", ["node"], registry=r), "base units"),
        (lambda r: Gauge("puhui_x_age", "x.", ["node"], registry=r), "_seconds"),
        (lambda r: Gauge("puhui_x_things", "x.", ["service"], registry=r), "node label"),
        (lambda r: Gauge("puhui_x_things", "x.", ["node", "user_id"], registry=r), "bounded"),
        (lambda r: Histogram("puhui_x_handling", "x.", ["node"], registry=r), "unit"),
        (lambda r: Gauge("puhui_x_sent_total", "x.", ["node"], registry=r), "only counters"),
        (lambda r: Gauge("x_things", "x.", ["node"], registry=r), "puhui_"),
    ],
)
def test_naming_rules_reject_bad_names(make, expected):
    registry = CollectorRegistry()
    make(registry)
    (entry,) = metrics_docs.catalogue(registry, modules=[])
    problems = " ".join(metrics_docs.naming_problems(entry))
    if expected is None:
        assert problems == ""  # a counter is exposed with _total
        assert entry.name == "puhui_x_requests_total"
    else:
        assert expected in problems


def test_expected_business_series_are_named_by_the_rules():
    for name, (owner, labels, _meaning) in metrics_docs.EXPECTED_BUSINESS_SERIES.items():
        kind = "counter" if name.endswith("_total") else "gauge"
        names = tuple(
            label.split("(")[0].strip() for label in labels.split(",") if "(" not in label
        )
        entry = metrics_docs.MetricEntry(name, kind, "h.", names, f"puhui.{owner}.metrics")
        assert metrics_docs.naming_problems(entry) == [], name
