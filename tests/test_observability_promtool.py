"""deploy/prometheus checked with the real Prometheus tools (Debian's `prometheus` package,
installed on first use by deploy/local/infra.py): configurations and rules pass promtool,
the rule unit tests pass, and every alert is shown to fire and to clear in them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from puhui import cli
from puhui.kit.testing import load_infra

ROOT = Path(__file__).resolve().parent.parent
PROM = ROOT / "deploy" / "prometheus"
CONFIGS = [PROM / "provincial" / "prometheus.yml", PROM / "national" / "prometheus.yml"]
RULES = sorted((PROM / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROM / "tests").glob("*.yml"))


@pytest.fixture(scope="session")
def promtool() -> str:
    return str(load_infra().ensure_prometheus()[1])


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, cwd=PROM, timeout=120)


def alerts() -> dict[str, dict]:
    found = {}
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found[rule["alert"]] = rule
    return found


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.parent.name)
def test_config_passes_promtool_check_config(promtool, config):
    result = run([promtool, "check", "config", str(config)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_rules_pass_promtool_check_rules(promtool):
    result = run([promtool, "check", "rules", *map(str, RULES)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass(promtool):
    assert RULE_TESTS
    result = run([promtool, "test", "rules", *map(str, RULE_TESTS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_rule_unit_test_fails(promtool, tmp_path):
    """The unit tests can fail: an alert expected where none fires is reported."""
    data = yaml.safe_load((PROM / "tests" / "node.test.yml").read_text())
    data["rule_files"] = [str(PROM / "rules" / Path(f).name) for f in data["rule_files"]]
    first = data["tests"][0]
    first["alert_rule_test"][1]["exp_alerts"] = first["alert_rule_test"][0]["exp_alerts"]
    data["tests"] = [first]
    broken = tmp_path / "broken.test.yml"
    broken.write_text(yaml.safe_dump(data))
    result = run([promtool, "test", "rules", str(broken)])
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


def test_every_alert_fires_and_then_clears_in_a_unit_test():
    covered: dict[str, set[str]] = {}
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            checks = sorted(test.get("alert_rule_test", []), key=lambda c: _minutes(c["eval_time"]))
            fired: set[str] = set()
            for check in checks:
                name = check["alertname"]
                if check["exp_alerts"]:
                    fired.add(name)
                elif name in fired:
                    covered.setdefault(name, set()).add(path.name)
    assert sorted(alerts()) == sorted(covered)


def _minutes(duration: str) -> float:
    units = {"s": 1 / 60, "m": 1, "h": 60}
    return float(duration[:-1]) * units[duration[-1]]


def test_every_alert_has_a_runbook_page_and_a_severity():
    for name, rule in alerts().items():
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        runbook = rule["annotations"]["runbook_url"]
        assert runbook == f"docs/ops/alerts/{name}.md"
        text = (ROOT / runbook).read_text()
        for heading in ("## What it means", "## How to check", "## What to do"):
            assert heading in text, (name, heading)
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]


def test_local_targets_are_the_ports_puhui_run_uses():
    targets = yaml.safe_load((PROM / "provincial" / "targets" / "local-440000.yml").read_text())
    found = {t["labels"]["service"]: t["targets"] for t in targets}
    assert all(t["labels"]["node"] == "440000" for t in targets)
    assert found == {s: [f"127.0.0.1:{cli.ports('440000', s)[1]}"] for s in cli.SERVICES}


def test_dashboard_queries_are_valid_promql(promtool, tmp_path):
    """Each dashboard expression (Grafana variables substituted) parses as PromQL: promtool
    checks them as recording rules."""
    import json
    import re

    exprs = []
    for path in sorted((ROOT / "deploy" / "grafana").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            exprs += [t["expr"] for t in panel.get("targets", [])]
    assert exprs
    rules = [
        {
            "record": f"dashboard:check:{i}",
            "expr": re.sub(r"\$\w+", "x", e.replace("$__rate_interval", "5m")),
        }
        for i, e in enumerate(exprs)
    ]
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run([promtool, "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr
