"""deploy/alertmanager checked with the real Alertmanager tool (Debian's
prometheus-alertmanager package, installed on first use like promtool): the configuration
passes `amtool check-config`, and `amtool config routes test` sends each province's alerts
to that province's team, critical ones to its pager, and a node the hub cannot see to the
national team as well."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from puhui.kit.testing import load_infra

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
NATIONAL_TARGETS = ROOT / "deploy" / "prometheus" / "national" / "targets" / "provinces.yml"


@pytest.fixture(scope="session")
def amtool() -> str:
    return str(load_infra().ensure_program("amtool", "prometheus-alertmanager"))


def routes(amtool: str, *labels: str) -> list[str]:
    result = subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={CONFIG}", *labels],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return sorted(result.stdout.strip().split(","))


def test_config_passes_amtool_check_config(amtool):
    result = subprocess.run(
        [amtool, "check-config", str(CONFIG)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (("node=440000", "severity=warning", "alertname=PuhuiHighLatencyP99"),
         ["province-440000-tickets"]),
        (("node=440000", "severity=critical", "alertname=PuhuiServiceDown"),
         ["province-440000-pager"]),
        (("node=320000", "severity=critical", "alertname=PuhuiOutboxStuck"),
         ["province-320000-pager"]),
        (("node=320000", "severity=warning", "alertname=PuhuiConsumerLagGrowing"),
         ["province-320000-tickets"]),
        (("node=000000", "severity=critical", "alertname=PuhuiServiceDown"),
         ["national-pager"]),
        (("node=440000", "severity=critical", "alertname=PuhuiNodeDown"),
         ["national-pager", "province-440000-pager"]),
        (("node=990000", "severity=warning", "alertname=PuhuiHighErrorRatio"),
         ["national-tickets"]),
    ],
)  # fmt: skip
def test_alerts_route_to_their_province(amtool, labels, receivers):
    assert routes(amtool, *labels) == receivers


def test_every_federated_node_has_its_route(amtool):
    """A node the national Prometheus federates but no route names would page nobody local."""
    nodes = {t["labels"]["node"] for t in yaml.safe_load(NATIONAL_TARGETS.read_text())}
    for node in nodes:
        receivers = routes(amtool, f"node={node}", "severity=critical", "alertname=Probe")
        expected = "national-pager" if node == "000000" else f"province-{node}-pager"
        assert receivers == [expected], node
