"""End to end with the real Prometheus (Debian's package): a provincial Prometheus built
from deploy/prometheus/provincial scrapes a running catalog service, evaluates the node
recording rules, and a national Prometheus built from deploy/prometheus/national federates
it through /federate. Both run on free loopback ports with their config in tmp."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
import yaml

from puhui.catalog.server import build
from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from puhui.kit.testing import free_port, load_infra, running

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
PROM = ROOT / "deploy" / "prometheus"
NODE = "440000"


@contextmanager
def prometheus(binary: str, workdir: Path, config: dict) -> Iterator[str]:
    """Run Prometheus with `config` on a free loopback port; yield its base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _get(f"{url}/-/ready") is not None, 30, lambda: _log(workdir))
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _log(workdir: Path) -> str:
    return (workdir / "prometheus.log").read_text(errors="replace")[-3000:]


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return response.read()
    except OSError:
        return None


def query(base: str, expr: str) -> list[dict]:
    body = _get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    if body is None:
        return []
    return json.loads(body)["data"]["result"]


def wait_for(check, timeout: float, describe=lambda: "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"condition not met within {timeout}s\n{describe()}")


def fast_rules(src: Path, dest: Path) -> Path:
    """The committed rules with 1 s group intervals (same expressions)."""
    data = yaml.safe_load(src.read_text())
    for group in data["groups"]:
        group["interval"] = "1s"
    dest.write_text(yaml.safe_dump(data))
    return dest


def provincial_config(tmp: Path, metrics_port: int) -> dict:
    config = yaml.safe_load((PROM / "provincial" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [
        str(fast_rules(PROM / "provincial" / rule, tmp / Path(rule).name))
        for rule in config["rule_files"]
    ]
    targets = tmp / "targets.yml"
    targets.write_text(
        yaml.safe_dump(
            [
                {
                    "targets": [f"127.0.0.1:{metrics_port}"],
                    "labels": {"node": NODE, "service": "catalog"},
                }
            ]
        )
    )
    (job,) = config["scrape_configs"]
    job["file_sd_configs"] = [{"files": [str(targets)], "refresh_interval": "1s"}]
    return config


def national_config(tmp: Path, provincial_url: str) -> dict:
    config = yaml.safe_load((PROM / "national" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [
        str(fast_rules(PROM / "national" / rule, tmp / Path(rule).name))
        for rule in config["rule_files"]
    ]
    (job,) = config["scrape_configs"]
    host = provincial_url.removeprefix("http://")
    job.pop("file_sd_configs")
    job["static_configs"] = [{"targets": [host], "labels": {"node": NODE}}]
    return config


def test_prometheus_scrapes_a_service_and_the_nation_federates_it(database_url, tmp_path):
    binary = str(load_infra().ensure_prometheus()[0])
    app = build(node_id=NODE, database_url=database_url, grpc_port=0, metrics_port=0)
    with running(app) as host:
        with grpc.insecure_channel(host.address) as channel:
            stub = catalog_pb2_grpc.CatalogServiceStub(channel)
            for _ in range(3):
                with pytest.raises(grpc.RpcError):
                    stub.GetInstitution(
                        catalog_pb2.GetInstitutionRequest(institution_id="440000-999999"), timeout=5
                    )
        prov_dir, nat_dir = tmp_path / "provincial", tmp_path / "national"
        prov_dir.mkdir()
        nat_dir.mkdir()
        with prometheus(
            binary, prov_dir, provincial_config(prov_dir, host.metrics_server.port)
        ) as prov:
            expr = f'sum(puhui_grpc_server_handled_total{{service="catalog",node="{NODE}"}})'
            wait_for(lambda: query(prov, expr), 30, lambda: _log(prov_dir))
            assert float(query(prov, expr)[0]["value"][1]) >= 3

            (up,) = query(prov, 'up{job="puhui"}')
            assert up["metric"]["node"] == NODE
            assert up["metric"]["service"] == "catalog"
            assert up["value"][1] == "1"
            # honor_labels: the service's own labels, no exported_node (the registry is
            # process-wide: series of apps other tests ran in this process show up too)
            build_info = query(prov, f'puhui_build_info{{node="{NODE}",service="catalog"}}')
            assert len(build_info) == 1
            assert "exported_node" not in build_info[0]["metric"]
            assert query(prov, '{__name__=~"puhui_.+",exported_node!=""}') == []
            pools = query(prov, f'puhui_db_pool_max_connections{{node="{NODE}",pool="write"}}')
            assert pools
            assert float(pools[0]["value"][1]) > 0

            recorded = (
                f'node_service:puhui_grpc_server_handled:rate5m{{node="{NODE}",service="catalog"}}'
            )
            wait_for(lambda: query(prov, recorded), 30, lambda: _log(prov_dir))

            with prometheus(binary, nat_dir, national_config(nat_dir, prov)) as nat:
                wait_for(lambda: query(nat, recorded), 30, lambda: _log(nat_dir))
                (federate_up,) = query(nat, 'up{job="puhui-federate"}')
                assert federate_up["metric"]["node"] == NODE
                # federated series keep their own labels (honor_labels)
                service_up = query(nat, 'up{job="puhui"}')
                assert [s["metric"]["service"] for s in service_up] == ["catalog"]
                wait_for(lambda: query(nat, "national:puhui_nodes_up:count"), 30)
                assert query(nat, "national:puhui_nodes_up:count")[0]["value"][1] == "1"
                # raw per-method series stay in the province
                assert query(nat, "puhui_grpc_server_handled_total") == []
