"""The Compose topology, validated offline (no Docker engine here): against the Compose
specification schema, against our own typed configs, and for secrets kept out of git."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
import yaml
from cryptography import x509

from puhui.cli import SERVICES
from puhui.kit import kafka
from puhui.kit.config import ServiceConfig
from puhui.kit.trust import TrustAnchor

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_DIR = ROOT / "deploy" / "compose"
COMPOSE = COMPOSE_DIR / "compose.yaml"
NODES = ("000000", "440000", "320000")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)


def _script(name: str) -> ModuleType:
    """A script of deploy/compose/ as a module (they are not part of the package)."""
    spec = importlib.util.spec_from_file_location(f"compose_{name}", COMPOSE_DIR / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _compose_schema_errors(document: dict[str, Any]) -> list[str]:
    """The schema check-jsonschema ships as vendor.compose-spec, applied in-process."""
    schema = json.loads(
        resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text()
    )
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [e.message for e in validator.iter_errors(document)]


def test_compose_file_is_generated_from_the_current_configs():
    assert _script("generate").render() == COMPOSE.read_text(), (
        "deploy/compose/compose.yaml is stale: run python deploy/compose/generate.py"
    )


def test_valid_against_the_compose_specification_schema():
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = _run(str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_does_catch_a_broken_file(spec):
    assert _compose_schema_errors(spec) == []
    broken = yaml.safe_load(COMPOSE.read_text())
    broken["services"]["catalog-440000"]["restart"] = ["always"]  # must be a string
    broken["services"]["catalog-440000"]["healthcheck"]["intervall"] = "5s"  # unknown key
    assert len(_compose_schema_errors(broken)) >= 2


def test_hub_and_two_provinces_each_with_four_services_and_their_infrastructure(spec):
    services = spec["services"]
    for node in NODES:
        for service in SERVICES:
            s = services[f"{service}-{node}"]
            assert s["command"] == ["serve", service]
            assert s["environment"]["PUHUI_NODE_ID"] == node
            assert s["environment"]["PUHUI_KAFKA_BOOTSTRAP"] == f"kafka-{node}:9092"
            assert s["user"] == "10001:10001"
            assert s["read_only"] is True
        assert services[f"kafka-{node}"]["image"] == "apache/kafka:4.1.1"
        assert "controller" in services[f"kafka-{node}"]["environment"]["KAFKA_PROCESS_ROLES"]
        assert services[f"postgres-{node}"]["image"].startswith("postgres:15")
        assert services[f"redis-{node}"]["image"].startswith("redis:7")
        assert f"prometheus-{node}" in services
    for name in ("prometheus-national", "grafana", "otel-collector"):
        assert name in services
    for s in services.values():
        image = s["image"]
        assert image.startswith("${PUHUI_IMAGE") or re.search(r":[\w.-]*\d", image), image
        assert ":latest" not in image


def test_every_puhui_variable_is_a_declared_setting(spec):
    import dataclasses
    import importlib

    from puhui.kit.trust import TrustConfig

    declared: set[str] = set()
    for service in (*SERVICES, "federation"):
        module = importlib.import_module(f"puhui.{service}.config")
        for value in [*vars(module).values(), TrustConfig]:
            if isinstance(value, type) and dataclasses.is_dataclass(value):
                declared |= {
                    f.metadata["env"] for f in dataclasses.fields(value) if "env" in f.metadata
                }
    for name, s in spec["services"].items():
        for env in s.get("environment", {}):
            if env.startswith("PUHUI_"):
                assert env in declared or env.removesuffix("_FILE") in declared, (name, env)


def test_no_secret_values_only_secret_files(spec):
    text = COMPOSE.read_text()
    assert not re.search(r"://[^:/\s]+:[^@\s]+@", text), "credentials embedded in a URL"
    for name, s in spec["services"].items():
        for env, value in s.get("environment", {}).items():
            if re.search(r"PASSWORD|SECRET|TOKEN|_KEY|DATABASE_URL|REDIS_URL", env):
                assert env.endswith(("_FILE", "__FILE")), (name, env)
                assert str(value).startswith("/run/secrets/"), (name, env, value)
    for name, secret in spec["secrets"].items():
        assert set(secret) == {"file"}, name
        assert secret["file"].startswith("./secrets/"), name
    ignored = _run("git", "check-ignore", "-q", "deploy/compose/secrets/440000-postgres-password")
    assert ignored.returncode == 0, "deploy/compose/secrets/ must be ignored by git"
    tracked = _run("git", "ls-files", "deploy/compose/secrets")
    assert tracked.stdout.strip() == ""


def test_secret_settings_of_every_service_come_from_secret_files(spec):
    import dataclasses
    import importlib

    for service in (*SERVICES, "federation"):
        module = importlib.import_module(f"puhui.{service}.config")
        secret_envs = {
            f.metadata["env"]
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, ServiceConfig)
            for f in dataclasses.fields(value)
            if f.metadata.get("secret")
        }
        for node in NODES if service != "federation" else ("000000",):
            env = spec["services"][f"{service}-{node}"]["environment"]
            for name in secret_envs:
                assert f"{name}_FILE" in env, (service, node, name)


def test_every_mounted_file_and_config_exists(spec):
    missing = []
    for name, s in spec["services"].items():
        for volume in s.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                path = (COMPOSE_DIR / source).resolve()
                if not path.exists() and path != (ROOT / "deploy" / "grafana"):
                    missing.append((name, source))
    for name, config in spec["configs"].items():
        if config["file"].startswith("./secrets/"):
            continue  # made by make-secrets.py (test_make_secrets_writes_...)
        if not (COMPOSE_DIR / config["file"]).exists():
            missing.append((name, config["file"]))
    assert not missing


def test_grafana_dashboards_folder_is_there():
    """deploy/grafana/ (the observability issue's dashboards) is what Grafana provisions."""
    assert list((ROOT / "deploy" / "grafana").rglob("*.json"))


def test_the_hub_runs_the_federation_service_and_every_service_trusts_the_anchor(spec):
    services = spec["services"]
    federation = [name for name in services if name.startswith("federation-")]
    assert federation == ["federation-000000"]  # the hub only
    hub = services["federation-000000"]
    assert hub["command"] == ["serve", "federation"]
    env = hub["environment"]
    assert env["PUHUI_NODE_ID"] == "000000"
    assert env["PUHUI_FEDERATION_ANCHOR_KEY_FILE"].startswith("/run/secrets/")
    assert "PUHUI_FEDERATION_ANCHOR_KEY" not in env
    assert env["PUHUI_DATABASE_URL_FILE"].startswith("/run/secrets/")
    sources = {s["source"] for s in hub["secrets"]}
    assert "000000-federation-anchor-key" in sources
    assert "000000-federation-database-url" in sources
    sql = (COMPOSE_DIR / "postgres" / "service-databases.sql").read_text()
    assert "CREATE DATABASE federation" in sql
    config = spec["configs"]["trust-anchor-jwks"]
    for node in NODES:
        for service in (*SERVICES, "federation") if node == "000000" else SERVICES:
            s = services[f"{service}-{node}"]
            (mounted,) = [c for c in s["configs"] if c["source"] == "trust-anchor-jwks"]
            assert s["environment"]["PUHUI_TRUST_ANCHOR_JWKS"] == f"@{mounted['target']}"
    assert config["file"].startswith("./secrets/")  # made with the key by make-secrets.py


def test_prometheus_scrapes_every_service_of_its_node(spec):
    for node in NODES:
        volumes = spec["services"][f"prometheus-{node}"]["volumes"]
        assert (
            "../prometheus/provincial/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in volumes
        )
        targets = yaml.safe_load((COMPOSE_DIR / "prometheus" / node / "puhui.yml").read_text())
        found = {(t["labels"]["service"], t["targets"][0]) for t in targets}
        metrics = {
            (
                svc,
                f"{svc}-{node}:{spec['services'][f'{svc}-{node}']['environment']['PUHUI_METRICS_PORT']}",
            )
            for svc in ((*SERVICES, "federation") if node == "000000" else SERVICES)
        }
        assert found == metrics
        assert {t["labels"]["node"] for t in targets} == {node}
    national = yaml.safe_load((COMPOSE_DIR / "prometheus" / "national" / "nodes.yml").read_text())
    assert {t["targets"][0] for t in national} == {f"prometheus-{n}:9090" for n in NODES}


def test_mirror_maker_carries_province_topics_to_the_hub_and_hub_topics_back():
    for province in ("440000", "320000"):
        props: dict[str, str] = {}
        for line in (COMPOSE_DIR / "kafka" / f"mm2-{province}.properties").read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                key, _, value = line.partition("=")
                props[key.strip()] = value.strip().replace("\\\\", "\\")
        up = re.compile(props[f"p{province}->hub.topics"])
        down = re.compile(props[f"hub->p{province}.topics"])
        for service in SERVICES:
            assert up.fullmatch(kafka.topic_name(province, service))
            assert not up.fullmatch(
                kafka.topic_name("320000" if province == "440000" else "440000", service)
            )
            assert down.fullmatch(kafka.topic_name("000000", service))
            assert not down.fullmatch(kafka.topic_name(province, service))
        assert props["replication.policy.class"].endswith("IdentityReplicationPolicy")


def test_make_secrets_writes_every_secret_compose_names(spec, tmp_path, capsys):
    out = tmp_path / "secrets"
    make_secrets = _script("make-secrets")
    assert make_secrets.main(["--out", str(out)]) == 0
    assert "postgresql" not in capsys.readouterr().out  # values are never printed
    for name in spec["secrets"]:
        assert (out / name).read_text().strip(), name
    assert (out.stat().st_mode & 0o077) == 0
    ca = x509.load_pem_x509_certificate((out / "federation-ca-crt").read_bytes())
    for node in NODES:
        cert = x509.load_pem_x509_certificate((out / f"{node}-node-tls-crt").read_bytes())
        cert.verify_directly_issued_by(ca)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert f"catalog-{node}" in names.get_values_for_type(x509.DNSName)
        url = (out / f"{node}-catalog-database-url").read_text().strip()
        password = (out / f"{node}-postgres-password").read_text().strip()
        assert url == f"postgresql+psycopg://puhui:{password}@postgres-{node}:5432/catalog"
    # The anchor's public JWK Set matches its private key; the hub accepts each province's code.
    anchor = TrustAnchor.from_pem((out / "000000-federation-anchor-key").read_bytes())
    jwks = json.loads((out / "trust-anchor.jwks.json").read_text())
    assert jwks == anchor.public_jwks()
    assert "PRIVATE" not in (out / "trust-anchor.jwks.json").read_text()
    codes = (out / "000000-federation-preset-join-codes").read_text().strip().split(",")
    assert sorted(code.partition(":")[0] for code in codes) == ["320000", "440000"]
    before = (out / "440000-postgres-password").read_text()
    assert make_secrets.main(["--out", str(out)]) == 0
    assert (out / "440000-postgres-password").read_text() == before  # re-running keeps values
