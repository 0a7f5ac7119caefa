"""The local federation behind `puhui run` (`make run`): the hub (000000) and two provinces
(440000 Guangdong, 320000 Jiangsu), each with its four services on embedded defaults
(SQLite per service under PUHUI_STATE/<node>/, in-process caches) and the local Kafka.

To keep start-up lean on a small machine, each node is ONE process hosting its four service
apps (each its own gRPC server, database and metrics port); the hub's process also hosts the
federation service. The launcher:

1. creates (once) the development trust anchor under PUHUI_STATE/federation/ — private key
   for the hub, public JWKS for every node (PUHUI_TRUST_ANCHOR_JWKS=@file);
2. positions the hub's consumer groups at the current end of the shared Kafka topics on the
   first run (so the national models hold this federation's events, not old test traffic);
3. starts the three node processes, waits until every service is SERVING;
4. waits until every node has loaded its examples, the hub its sample data, and each node
   its local accounts (`puhui.federation.localdemo`);
5. joins 440000 and 320000 at the hub with one-time join codes it preset at the hub;
6. starts one HTTP gateway per node (`puhui-gateway`: JSON, gRPC-Web, OpenAPI, reference
   and portal pages; hub 30050, 440000 30060, 320000 30070), each allowing CORS from the
   three local gateways plus PUHUI_GATEWAY_CORS_ORIGINS (comma-separated);
7. prints every endpoint (`api ` and `portal ` lines for the gateways), the accounts and
   commands to paste, then one line starting with `ready`; on Ctrl-C stops everything
   within 10 s.

Node processes log JSON lines only (their log files under PUHUI_STATE/logs/ suit `jq`).

    python -m puhui.federation.local node --node 440000 ...   (one node's process; internal)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

logger = logging.getLogger(__name__)

HUB = "000000"
NODES = (HUB, "440000", "320000")
SERVICES = ("identity", "catalog", "data", "feedback")
BASE_PORT = 30050  # below the Linux ephemeral range (32768-60999): no clash with client sockets
OFFSET = {"identity": 1, "catalog": 2, "data": 3, "feedback": 4, "federation": 5}
NODE_INDEX = {HUB: 0, "440000": 1, "320000": 2}
SEED_EXAMPLES = {HUB: 60, "440000": 40, "320000": 30}
# Every local caller is 127.0.0.1, so all anonymous calls (the CLI, the hub's mirror probes)
# share one bucket: ten times the deployed defaults (puhui.data.config), same tiers.
LOCAL_DATA_QUOTAS = (
    "anonymous=300/20000,innovator=1200/200000,institution=6000/2000000,node=60000/50000000"
)


def port(node: str, service: str) -> int:
    """gRPC ports: hub 30051-30055, 440000 30061-30064, 320000 30071-30074 (metrics +100)."""
    return BASE_PORT + NODE_INDEX.get(node, 3) * 10 + OFFSET[service]


def gateway_port(node: str) -> int:
    """HTTP gateway ports: hub 30050, 440000 30060, 320000 30070."""
    return BASE_PORT + NODE_INDEX.get(node, 3) * 10


def services_of(node: str) -> tuple[str, ...]:
    return (*SERVICES, "federation") if node == HUB else SERVICES


def state_dir() -> Path:
    return Path(os.environ.get("PUHUI_STATE", ".state")).resolve()


def health(address: str, timeout: float = 1.0) -> str:
    try:
        with grpc.insecure_channel(address) as channel:
            status = (
                health_pb2_grpc.HealthStub(channel)
                .Check(health_pb2.HealthCheckRequest(), timeout=timeout)
                .status
            )
            return str(health_pb2.HealthCheckResponse.ServingStatus.Name(status))
    except grpc.RpcError as exc:
        return f"DOWN ({exc.code().name})"


# -- the anchor on disk ---------------------------------------------------------------------
def ensure_anchor(root: Path) -> tuple[Path, Path]:
    from puhui.kit.trust import TrustAnchor

    folder = root / "federation"
    folder.mkdir(parents=True, exist_ok=True)
    private, public = folder / "anchor.pem", folder / "anchor.jwks.json"
    if not private.exists():
        anchor = TrustAnchor.generate()
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(anchor.to_pem())
        public.write_text(json.dumps(anchor.public_jwks()))
    elif not public.exists():
        public.write_text(json.dumps(TrustAnchor.from_pem(private.read_bytes()).public_jwks()))
    return private, public


# -- one node's process -----------------------------------------------------------------------
def run_node(args: argparse.Namespace) -> int:
    from puhui.federation import localdemo
    from puhui.kit import logs, trust
    from puhui.kit.server import ServiceHost

    node = args.node
    logs.configure("node", node, os.environ.get("PUHUI_LOG_LEVEL", "INFO"))
    anchor_jwks = Path(args.anchor_jwks).read_text()
    verifier = trust.federated_verifier(
        node_id=node, bootstrap=args.kafka, anchor_jwks=anchor_jwks
    ).start()
    common: dict[str, Any] = {
        "node_id": node,
        "kafka_bootstrap": args.kafka,
        "database_url": "",
        "redis_url": "",
        "grpc_host": "127.0.0.1",
    }
    hosts: list[ServiceHost] = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        for service in services_of(node):
            settings = {
                **common,
                "grpc_port": port(node, service),
                "metrics_port": port(node, service) + 100,
            }
            if service == "data":
                settings["quota_limits"] = LOCAL_DATA_QUOTAS
                if args.mirror_stream:
                    settings["mirror_stream"] = args.mirror_stream
            app = _build(service, verifier, settings, args)
            host = ServiceHost(app)
            host.start()
            hosts.append(host)
            if stop.is_set():
                break
        if not stop.is_set():
            for host in hosts:
                host.wait_ready(60)
            _seed(node, hosts)
            localdemo.prepare_node(
                node, hosts, state_dir(), localdemo.passwords_if_any(state_dir())
            )
        logger.info("node %s ready", node)
        stop.wait()
    except BaseException:
        logger.exception("node %s failed", node)
        raise
    finally:
        # Whatever happens, this process is gone 8 s after the signal (the launcher's
        # Ctrl-C promise is 10 s): hosts stop in parallel, then a hard exit skips waiting
        # for library threads (Kafka clients, gRPC pollers) that are slow to wind down.
        watchdog = threading.Timer(8.0, lambda: os._exit(0))
        watchdog.daemon = True
        watchdog.start()
        started = time.monotonic()
        threads = [threading.Thread(target=h.stop, kwargs={"grace": 1.5}) for h in hosts]
        for t in threads:
            t.start()
        threading.Thread(target=verifier.stop, daemon=True).start()
        for t in threads:
            t.join(max(0.1, 7.5 - (time.monotonic() - started)))
        logger.info("node %s stopped in %.1fs", node, time.monotonic() - started)
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)


def _build(service: str, verifier: Any, settings: dict[str, Any], args: argparse.Namespace) -> Any:
    import importlib

    module = importlib.import_module(f"puhui.{service}.server")
    if service == "identity":
        return module.build(**settings)
    if service == "federation":
        return module.build(
            verifier=verifier,
            anchor_key=f"@{args.anchor_key}",
            preset_join_codes=tuple(args.join_code or ()),
            consumer_group=args.group,
            hub_data_address=args.hub_data,
            **settings,
        )
    return module.build(verifier=verifier, **settings)


def _seed(node: str, hosts: Sequence[Any]) -> None:
    """Example institutions (marked as examples) on first start; a no-op afterwards."""
    from puhui.catalog import seed as catalog_seed

    for host in hosts:
        if host.app.name == "catalog":
            made = catalog_seed.seed(
                host.app.db, host.app.outbox, node, SEED_EXAMPLES.get(node, 20), 7
            )
            if made[0]:
                logger.info("seeded %d example institutions, %d items", *made)


# -- the launcher -----------------------------------------------------------------------------
def _join(node: str, code: str) -> str:
    from puhui.federation.v1 import federation_pb2 as fpb
    from puhui.federation.v1 import federation_pb2_grpc
    from puhui.identity.v1 import identity_pb2, identity_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port(node, 'identity')}") as channel:
        jwks = identity_pb2_grpc.IdentityServiceStub(channel).GetJwks(
            identity_pb2.GetJwksRequest(), timeout=10
        )
    with grpc.insecure_channel(f"127.0.0.1:{port(HUB, 'federation')}") as channel:
        stub = federation_pb2_grpc.FederationServiceStub(channel)
        try:
            stub.JoinNode(
                fpb.JoinNodeRequest(
                    node_id=node,
                    endpoints=[
                        fpb.Endpoint(service=s, address=f"127.0.0.1:{port(node, s)}")
                        for s in SERVICES
                    ],
                    jwks_json=jwks.jwks_json,
                    join_code=code,
                ),
                timeout=10,
            )
            return "joined"
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.ALREADY_EXISTS:
                return "already registered"
            raise


def cmd_run(kafka: str, as_json: bool = False) -> int:
    """The local federation; with `as_json` the banner is one JSON object (with `ready`)."""
    from puhui.federation import localdemo
    from puhui.federation.groups import start_groups_at_end
    from puhui.kit import kafka as kit_kafka

    started = time.monotonic()
    root = state_dir()
    logs_dir = root / "logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    private, public = ensure_anchor(root)
    marker = root / "federation" / "groups-positioned"
    group = "puhui.000000.federation.local"
    if kit_kafka.reachable(kafka) and not marker.exists():
        for name, service in (
            ("keys", "identity"),
            ("catalog", "catalog"),
            ("feedback", "feedback"),
        ):
            start_groups_at_end(kafka, f"{group}.{name}", kit_kafka.topic_pattern(service))
        marker.write_text(time.strftime("%FT%T"))
    codes = {n: f"local-{n}-{secrets.token_hex(8)}" for n in NODES if n != HUB}
    localdemo.passwords(root, NODES)
    stream = localdemo.mirror_stream(root)
    if kit_kafka.reachable(kafka):  # before the provinces subscribe to it
        from puhui.data.server import MIRROR_TOPIC_CONFIG

        topic = kit_kafka.topic_name(HUB, "data", stream)
        kit_kafka.ensure_topics(kafka, [topic], configs=MIRROR_TOPIC_CONFIG)
    for node in NODES:
        localdemo.ready_file(root, node).unlink(missing_ok=True)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    env = {k: v for k, v in os.environ.items() if k != "PUHUI_DATABASE_URL"}
    env["PUHUI_STATE"] = str(root)
    for node in NODES:
        argv = [sys.executable, "-m", "puhui.federation.local", "node", "--node", node,
                "--kafka", kafka, "--anchor-jwks", str(public)]  # fmt: skip
        argv += ["--mirror-stream", stream]
        if node == HUB:
            argv += ["--anchor-key", str(private), "--group", group]
            argv += ["--hub-data", f"127.0.0.1:{port(HUB, 'data')}"]
            for n, c in codes.items():
                argv += ["--join-code", f"{n}:{c}"]
        log = (logs_dir / f"{node}.log").open("ab")
        procs[node] = subprocess.Popen(argv, env=env, stdout=log, stderr=log)  # noqa: S603
    procs.update(_start_gateways(logs_dir))
    deadline = time.monotonic() + 180
    pending: set[tuple[str, str]] = {(n, s) for n in NODES for s in services_of(n)}
    pending |= {(n, "examples, sample data and accounts") for n in NODES}
    while pending and not stopping.is_set() and time.monotonic() < deadline:
        for node, proc in procs.items():
            if proc.poll() is not None:
                print(f"node {node} exited; see {logs_dir / f'{node}.log'}", file=sys.stderr)
                stopping.set()
        for n, s in sorted(pending):
            if s not in OFFSET:
                if localdemo.ready_file(root, n).exists():
                    pending.discard((n, s))
            elif health(f"127.0.0.1:{port(n, s)}", timeout=0.5) == "SERVING":
                pending.discard((n, s))
        stopping.wait(0.5)
    if pending and not stopping.is_set():
        print(f"not ready after 180 s: {sorted(pending)}; see {logs_dir}", file=sys.stderr)
    if not stopping.is_set():
        joined = {}
        for node, code in codes.items():
            try:
                joined[node] = _join(node, code)
            except grpc.RpcError as exc:
                joined[node] = f"join failed: {exc.code().name} {exc.details()}"
        mirrored = localdemo.wait_for_mirrors(port(HUB, "federation"), 120, stopping)
        ready, seconds = not pending and mirrored, time.monotonic() - started
        if stopping.is_set():
            pass  # Ctrl-C while waiting for the mirrors: no banner
        elif as_json:
            _print_json(root, joined, mirrored, ready, seconds)
        else:
            _print_endpoints(kafka, root, joined)
            localdemo.print_banner(root, port(HUB, "federation"), mirrored)
            print("Ctrl-C stops everything.")
            services = sum(len(services_of(n)) for n in NODES)
            state = "ready" if ready else "NOT ready (see above)"
            print(
                f"{state}: {len(NODES)} nodes, {services} services in {seconds:.1f} s", flush=True
            )
    while not stopping.is_set():
        for node, proc in procs.items():
            if proc.poll() is not None:
                print(f"node {node} exited with {proc.returncode}", file=sys.stderr)
                stopping.set()
        stopping.wait(0.5)
    signalled = time.monotonic()
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, 9.0 - (time.monotonic() - signalled)))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    took = time.monotonic() - signalled
    stopped = json.dumps({"stopped_in_seconds": round(took, 1)})
    print(stopped if as_json else f"stopped in {took:.1f}s", flush=True)
    return 0


def _print_json(
    root: Path, joined: dict[str, str], mirrored: bool, ready: bool, seconds: float
) -> None:
    from puhui.federation import localdemo

    endpoints = {
        node: {
            "joined": joined.get(node, ""),
            "api": f"http://127.0.0.1:{gateway_port(node)}/",
            "portal": f"http://127.0.0.1:{gateway_port(node)}/portal/",
            "services": {s: {"grpc": f"127.0.0.1:{port(node, s)}",
                             "metrics": f"http://127.0.0.1:{port(node, s) + 100}/metrics"}
                         for s in services_of(node)},
        }
        for node in NODES
    }  # fmt: skip
    banner = localdemo.banner_data(root, port(HUB, "federation"), mirrored)
    report = {"ready": ready, "seconds": round(seconds, 1), "state": str(root),
              "nodes": endpoints, **banner}  # fmt: skip
    print(json.dumps(report, ensure_ascii=False), flush=True)


def _start_gateways(logs_dir: Path) -> dict[str, subprocess.Popen[bytes]]:
    """One `puhui-gateway` per node in front of its services (built by `make gateway`)."""
    from puhui.kit import gateway

    origins = [f"http://127.0.0.1:{gateway_port(n)}" for n in NODES]
    origins += [o for o in os.environ.get("PUHUI_GATEWAY_CORS_ORIGINS", "").split(",") if o]
    portal = gateway.ROOT / "portal"
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for node in NODES:
        addresses = {s: f"127.0.0.1:{port(node, s)}" for s in services_of(node)}
        try:
            argv = gateway.command(
                f"127.0.0.1:{gateway_port(node)}",
                gateway.upstreams(addresses),
                hub=node == HUB,
                cors_origins=origins,
                portal=portal if portal.is_dir() else None,
            )
        except gateway.GatewayError as exc:
            print(f"no HTTP gateway: {exc}", file=sys.stderr)
            return procs
        log = (logs_dir / f"{node}-gateway.log").open("ab")
        procs[f"{node}-gateway"] = subprocess.Popen(argv, stdout=log, stderr=log)  # noqa: S603
    return procs


def _print_endpoints(kafka: str, root: Path, joined: dict[str, str]) -> None:
    names = {HUB: "national hub", "440000": "广东 Guangdong", "320000": "江苏 Jiangsu"}
    print(f"Puhui local federation (Kafka {kafka}, data under {root})")
    for node in NODES:
        status = f"  [{joined[node]}]" if node in joined else ""
        print(f"node {node} {names[node]}{status}")
        for service in services_of(node):
            p = port(node, service)
            print(f"  {service:<10} grpc 127.0.0.1:{p}  metrics http://127.0.0.1:{p + 100}/metrics")
    for node in NODES:
        url = f"http://127.0.0.1:{gateway_port(node)}"
        print(f"api {url}/  node {node}: JSON, gRPC-Web; {url}/openapi.yaml, {url}/reference")
    for node in NODES:
        print(f"portal http://127.0.0.1:{gateway_port(node)}/portal/  node {node}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m puhui.federation.local")
    sub = parser.add_subparsers(dest="command", required=True)
    node = sub.add_parser("node", help="run one node's services in this process (internal)")
    node.add_argument("--node", required=True)
    node.add_argument("--kafka", required=True)
    node.add_argument("--anchor-jwks", required=True)
    node.add_argument("--anchor-key", default="")
    node.add_argument("--group", default="puhui.000000.federation")
    node.add_argument("--join-code", action="append")
    node.add_argument("--hub-data", default="")
    node.add_argument("--mirror-stream", default="", help="the data mirror's stream name")
    run = sub.add_parser("run", help="the whole local federation")
    run.add_argument("--kafka", default=os.environ.get("PUHUI_KAFKA_BOOTSTRAP", "127.0.0.1:19092"))
    args = parser.parse_args(argv)
    if args.command == "node":
        return run_node(args)
    return cmd_run(args.kafka)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
