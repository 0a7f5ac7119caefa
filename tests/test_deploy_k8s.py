"""Kubernetes manifests: each overlay rendered with kustomize and every object validated offline
against the Kubernetes schemas (kubernetes-validate), then checked for what operating a node
needs: gRPC probes, limits, non-root read-only pods, PDBs, network policies, migration Jobs,
scrape annotations, secrets referenced and never committed."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import kubernetes_validate
import pytest
import yaml

from puhui.cli import SERVICES

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = {"hub": "000000", "province-440000": "440000"}
# The oldest release we support (gRPC probes are GA since 1.27) and the newest schemas shipped.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())


def _module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def kustomize() -> ModuleType:
    tool = _module(ROOT / "tools" / "kustomize.py", "puhui_tools_kustomize")
    try:
        tool.ensure()
    except tool.ToolError as exc:
        pytest.fail(f"kustomize is not available: {exc}", pytrace=False)
    return tool


@pytest.fixture(scope="module")
def rendered(kustomize: ModuleType) -> dict[str, list[dict[str, Any]]]:
    return {
        overlay: [d for d in yaml.safe_load_all(kustomize.build(K8S / "overlays" / overlay)) if d]
        for overlay in OVERLAYS
    }


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_generated_base_is_current():
    generator = _module(K8S / "generate.py", "puhui_k8s_generate")
    for service in SERVICES:
        assert generator.render(service) == (K8S / "base" / f"{service}.yaml").read_text(), (
            f"deploy/k8s/base/{service}.yaml is stale: run python deploy/k8s/generate.py"
        )
    assert (
        generator.render("federation") == (K8S / "overlays" / "hub" / "federation.yaml").read_text()
    ), "deploy/k8s/overlays/hub/federation.yaml is stale: run generate.py"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_object_is_valid_for_kubernetes(rendered, overlay, version):
    docs = rendered[overlay]
    assert len(docs) > 20
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(
                f"{overlay} {doc['kind']}/{doc['metadata']['name']} on {version}: {exc.message}"
            )


def test_the_validator_does_reject_a_broken_object(rendered):
    deployment = next(d for d in rendered["hub"] if d["kind"] == "Deployment")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["port"] = "health"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["resourcez"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_in_the_node_namespace_with_the_node_settings(rendered, overlay):
    node = OVERLAYS[overlay]
    namespace = f"puhui-{node}"
    for doc in rendered[overlay]:
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == namespace
            assert doc["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        else:
            assert doc["metadata"]["namespace"] == namespace, doc["metadata"]["name"]
    (config,) = _by_kind(rendered[overlay], "ConfigMap").values()
    assert config["data"]["PUHUI_NODE_ID"] == node


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_is_deployed_as_a_node_needs_it(rendered, overlay):
    docs = rendered[overlay]
    deployments = _by_kind(docs, "Deployment")
    pdbs = _by_kind(docs, "PodDisruptionBudget")
    policies = _by_kind(docs, "NetworkPolicy")
    jobs = _by_kind(docs, "Job")
    services = _by_kind(docs, "Service")
    configmap = next(iter(_by_kind(docs, "ConfigMap")))
    # The hub alone also runs the federation service (node registry, trust anchor).
    node_services = (*SERVICES, "federation") if overlay == "hub" else SERVICES
    assert set(deployments) == {f"puhui-{s}" for s in node_services}
    for service in node_services:
        name = f"puhui-{service}"
        d = deployments[name]
        pod = d["spec"]["template"]
        spec = pod["spec"]
        (c,) = spec["containers"]
        assert c["args"] == ["serve", service]
        # pinned by digest: the image that was tested, not whatever a tag points to now
        image_name, _, digest = c["image"].partition("@")
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), c["image"]
        assert image_name
        # out of the Service's endpoints before SIGTERM; the grace period covers the drain
        assert c["lifecycle"]["preStop"]["sleep"]["seconds"] >= 3
        assert spec["terminationGracePeriodSeconds"] >= (
            c["lifecycle"]["preStop"]["sleep"]["seconds"] + 10
        )
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        # gRPC probes: readiness follows the dependencies, liveness only the process.
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert c[probe]["grpc"]["port"] == ports["health"], probe
        assert c["livenessProbe"]["grpc"]["service"] == "puhui.liveness"
        assert "service" not in c["readinessProbe"]["grpc"]
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert int(env["PUHUI_HEALTH_PORT"]) == ports["health"]
        assert int(env["PUHUI_GRPC_PORT"]) == ports["grpc"]
        assert env["PUHUI_MIGRATE_ON_START"] == "false"
        # resources
        assert {"cpu", "memory"} <= set(c["resources"]["requests"])
        # memory limited; CPU not (a quota only throttles bursts: deploy/k8s/generate.py)
        assert set(c["resources"]["limits"]) == {"memory"}
        # non-root, read-only, nothing extra
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["runAsNonRoot"] is True
        assert sc["runAsUser"] >= 10000
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec["automountServiceAccountToken"] is False
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]  # noqa: S108
        # secrets referenced by name only; TLS and secret settings come from files
        assert volumes["tls"]["secret"]["secretName"] == "puhui-node-tls"
        assert volumes["secrets"]["secret"]["secretName"] == name
        assert env["PUHUI_TLS_CLIENT_CA_FILE"].startswith("/etc/puhui/tls/")
        assert env["PUHUI_DATABASE_URL_FILE"].startswith("/etc/puhui/secrets/")
        assert "PUHUI_DATABASE_URL" not in env
        assert c["envFrom"] == [{"configMapRef": {"name": configmap}}]
        # the trust anchor's public JWK Set: a ConfigMap mounted as a file, never a Secret
        anchor = env["PUHUI_TRUST_ANCHOR_JWKS"]
        assert anchor.startswith("@")
        (anchor_mount,) = [m for m in c["volumeMounts"] if anchor[1:].startswith(m["mountPath"])]
        assert volumes[anchor_mount["name"]]["configMap"]["name"] == "puhui-trust-anchor"
        # Prometheus scrape annotations on the pods
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert int(annotations["prometheus.io/port"]) == ports["metrics"]
        # rollouts without downtime
        assert d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        assert d["spec"]["replicas"] >= 2
        # disruption budget and network policy select exactly these pods
        selector = d["spec"]["selector"]["matchLabels"]
        assert pdbs[name]["spec"]["selector"]["matchLabels"] == selector
        assert pdbs[name]["spec"]["minAvailable"] == 1
        policy = policies[name]["spec"]
        assert policy["podSelector"]["matchLabels"] == selector
        assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
        admitted = {p["port"] for rule in policy["ingress"] for p in rule["ports"]}
        assert admitted == {ports["grpc"], ports["metrics"]}
        assert all(rule.get("from") for rule in policy["ingress"])  # never from anywhere
        assert {p["targetPort"] for p in services[name]["spec"]["ports"]} == {"grpc", "metrics"}
        # the migration Job
        job = jobs[f"{name}-migrate"]["spec"]["template"]["spec"]
        (mc,) = job["containers"]
        assert mc["args"] == ["migrate", service]
        assert job["restartPolicy"] in ("OnFailure", "Never")
        assert mc["securityContext"]["readOnlyRootFilesystem"] is True
        assert {e["name"] for e in mc["env"]} >= {"PUHUI_DATABASE_URL_FILE"}
    assert "default-deny" in policies
    assert policies["default-deny"]["spec"]["podSelector"] == {}


def test_the_hub_federation_service_reads_the_anchor_key_from_its_secret_only(rendered):
    deployments = _by_kind(rendered["hub"], "Deployment")
    (c,) = deployments["puhui-federation"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["PUHUI_FEDERATION_ANCHOR_KEY_FILE"] == "/etc/puhui/secrets/anchor-key"
    assert "PUHUI_FEDERATION_ANCHOR_KEY" not in env
    assert "PUHUI_FEDERATION_PRESET_JOIN_CODES_FILE" not in env  # local runs only
    assert env["PUHUI_FEDERATION_HUB_DATA_ADDRESS"].startswith("puhui-data:")
    assert "puhui-federation" not in _by_kind(rendered["province-440000"], "Deployment")


def test_no_secret_object_or_value_is_committed():
    for path in K8S.rglob("*.yaml"):
        text = path.read_text()
        for doc in yaml.safe_load_all(text):
            if doc:
                assert doc.get("kind") != "Secret", path
                for generator in doc.get("secretGenerator", []):
                    pytest.fail(f"{path}: secretGenerator {generator.get('name')} commits values")
        assert "postgresql://" not in text
        assert "postgresql+psycopg://" not in text
        assert "BEGIN" not in text, path


# -- the upgrade runbook against the manifests (docs/ops/upgrade.md) ---------------------------

RUNBOOK_K8S = re.compile(r"<!-- runbook-k8s: (?P<name>[\w-]+) -->\s*```sh\n(?P<body>.*?)```", re.S)


def _matches(selector: str, labels: dict[str, str]) -> bool:
    """kubectl's equality selectors (`a=b,c=d`), the only form the runbook uses."""
    pairs = [term.split("=", 1) for term in selector.split(",")]
    assert all(len(p) == 2 and "!" not in p[0] for p in pairs), selector
    return all(labels.get(key) == value for key, value in pairs)


def _pod_selected(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, selector  # the policies use matchLabels only
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_upgrade_runbook_runs_every_migration_job_first_with_its_network(
    rendered, overlay: str
) -> None:
    blocks = {
        m["name"]: m["body"]
        for m in RUNBOOK_K8S.finditer((ROOT / "docs" / "ops" / "upgrade.md").read_text())
    }
    body = blocks["migrate-first"].replace("\\\n", " ")
    (apply_selector,) = re.findall(r"kubectl apply -f - +--selector +(\S+)", body)
    job_selectors = re.findall(r"job -l (\S+)", body)
    assert len(job_selectors) == 2, body  # the delete and the wait
    docs = rendered[overlay]
    applied = [d for d in docs if _matches(apply_selector, d["metadata"].get("labels", {}))]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in applied}
    jobs = _by_kind(docs, "Job")
    services = [*SERVICES, *(["federation"] if overlay == "hub" else [])]
    assert set(jobs) == {f"puhui-{s}-migrate" for s in services}
    # the first apply takes every Job, their NetworkPolicy and the ConfigMap they read; nothing
    # that would roll the Deployments before the schema is migrated
    assert {name for kind, name in kinds if kind == "Job"} == set(jobs)
    assert not {kind for kind, _ in kinds} & {"Deployment", "Service", "StatefulSet"}
    configmaps = {name for kind, name in kinds if kind == "ConfigMap"}
    policies = {d["metadata"]["name"]: d["spec"] for d in applied if d["kind"] == "NetworkPolicy"}
    for name, job in jobs.items():
        assert all(_matches(sel, job["metadata"]["labels"]) for sel in job_selectors), name
        pod = job["spec"]["template"]
        (c,) = pod["spec"]["containers"]
        (ref,) = [e["configMapRef"]["name"] for e in c["envFrom"]]
        assert ref in configmaps, (name, ref)
        # some applied policy admits the Job's pod to DNS and PostgreSQL
        admitting = [
            p
            for p in policies.values()
            if _pod_selected(p["podSelector"], pod["metadata"]["labels"])
        ]
        egress = {
            (port.get("protocol", "TCP"), port["port"])
            for p in admitting
            for rule in p.get("egress", [])
            for port in rule.get("ports", [])
        }
        assert {("UDP", 53), ("TCP", 5432)} <= egress, (name, egress)
