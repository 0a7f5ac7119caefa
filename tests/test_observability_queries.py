"""Every PromQL expression in deploy/prometheus (rules) and deploy/grafana (dashboards)
reads only series that exist: in the metrics catalogue (docs/metrics.md), recorded by a
rule in deploy/prometheus/rules, or Prometheus's own `up`. Business series the services
have not declared yet are allowed only when listed in EXPECTED_BUSINESS_SERIES."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from puhui.kit import metrics_docs, promql

ROOT = Path(__file__).resolve().parent.parent
RULES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
DASHBOARDS = sorted((ROOT / "deploy" / "grafana").glob("**/*.json"))


def rules() -> Iterator[dict]:
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            yield from group["rules"]


def recorded() -> set[str]:
    return {r["record"] for r in rules() if "record" in r}


def expected_samples() -> set[str]:
    names = set()
    for name in metrics_docs.EXPECTED_BUSINESS_SERIES:
        base = name.removesuffix("_total")
        names |= set(metrics_docs._samples("counter" if name.endswith("_total") else "gauge", base))
    return names


@pytest.fixture(scope="module")
def known() -> set[str]:
    catalogue = metrics_docs.series_names(metrics_docs.catalogue())
    return catalogue | recorded() | expected_samples() | {"up"}


def dashboard_exprs(path: Path) -> Iterator[str]:
    def walk(node):  # type: ignore[no-untyped-def]
        if isinstance(node, dict):
            if node.get("type") == "datasource":  # a datasource variable: its query is a type
                return
            for key, value in node.items():
                query = key in ("expr", "query") or (key == "definition" and "(" in str(value))
                if query and isinstance(value, str):
                    yield promql.label_values_query(value)
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    yield from walk(json.loads(path.read_text()))


def test_rules_read_only_known_series(known):
    unknown = {}
    for rule in rules():
        missing = promql.series_in(rule["expr"]) - known
        if missing:
            unknown[rule.get("record") or rule.get("alert")] = sorted(missing)
    assert unknown == {}


def test_recording_rules_follow_level_metric_operations():
    for name in recorded():
        level, metric, operations = name.split(":")
        assert level, name
        assert operations, name
        assert metric.startswith("puhui_"), name


def test_dashboards_read_only_known_series(known):
    assert DASHBOARDS, "no dashboards in deploy/grafana"
    unknown = {}
    for path in DASHBOARDS:
        exprs = list(dashboard_exprs(path))
        assert exprs, path
        for expr in exprs:
            missing = promql.series_in(expr) - known
            if missing:
                unknown.setdefault(path.name, set()).update(missing)
    assert unknown == {}


TARGET_LABELS = {"job", "instance", "node", "service"}  # added by the scrape configuration


@pytest.fixture(scope="module")
def labels_of() -> dict[str, set[str]]:
    """Label names each series may be selected on."""
    found: dict[str, set[str]] = {"up": set(TARGET_LABELS)}
    for entry in metrics_docs.catalogue():
        extra = TARGET_LABELS if metrics_docs.is_runtime(entry) else {"job", "instance"}
        for sample in entry.samples:
            found[sample] = (
                set(entry.labels) | extra | ({"le"} if sample.endswith("_bucket") else set())
            )
    for name, (_owner, labels, _meaning) in metrics_docs.EXPECTED_BUSINESS_SERIES.items():
        if name not in found:
            declared = {label.split("(")[0].strip() for label in labels.split(",")}
            found[name] = {label for label in declared if label} | {"job", "instance"}
    return found


def all_exprs() -> Iterator[tuple[str, str]]:
    for rule in rules():
        yield rule.get("record") or rule.get("alert"), rule["expr"]
    for path in DASHBOARDS:
        for expr in dashboard_exprs(path):
            yield path.name, expr


def test_selectors_match_only_labels_the_series_has(labels_of):
    wrong = []
    for where, expr in all_exprs():
        for name, labels in promql.selectors(expr):
            if name in labels_of and not labels <= labels_of[name]:
                wrong.append((where, name, sorted(labels - labels_of[name])))
    assert wrong == []


def test_every_dashboard_has_a_datasource_variable_and_unique_panel_ids():
    titles = set()
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        assert board["uid"].startswith("puhui-")
        titles.add(board["title"])
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["query"] == "prometheus"
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for panel in board["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == "${datasource}", (path.name, panel["title"])
    assert len(titles) == len(DASHBOARDS) >= 3


def test_the_label_check_can_fail(labels_of):
    ((name, labels),) = promql.selectors('puhui_outbox_backlog_events{node="1",topic="t"}')
    assert labels - labels_of[name] == {"topic"}


def test_the_check_can_fail(known):
    assert promql.series_in("rate(puhui_no_such_thing_total[5m])") - known == {
        "puhui_no_such_thing_total"
    }
