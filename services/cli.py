"""`puhui`: the command line of a Puhui node.

puhui run
    Start the local federation: the hub 000000 and provinces 440000 and 320000, each with
    its four services on embedded defaults (the hub also runs the federation service),
    joined at the hub and seeded with example institutions; prints every endpoint and
    example calls; Ctrl-C stops everything (puhui.federation.local).
puhui run --node 440000 [--services identity,catalog,data,feedback]
    Start one local node: the services as separate processes on embedded defaults
    (SQLite per service under .state/, in-process caches) against the local Kafka;
    print the endpoints; Ctrl-C stops everything.
puhui register / signin / signout / search / match / rate
    Client calls (puhui.federation.client): addresses default to `make run`'s ports,
    sessions refresh on their own, --json everywhere, passwords never as arguments.
puhui node join / federation / status              Federation membership of a node.
puhui --version
puhui serve SERVICE         Run one service in this process (same as python -m puhui.SERVICE).
puhui migrate SERVICE       Apply the service's database migrations (PUHUI_DATABASE_URL).
puhui status [--node N] [--json]
    A node for its operator: each service's health, version, dependencies, RPCs and
    errors, outbox backlog, consumer lag, replication lag, mirror completeness (from the
    services' health and /metrics; puhui.kit.nodestatus).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVICES = ("identity", "catalog", "data", "feedback")


def ports(node: str, service: str) -> tuple[int, int]:
    """The ports `make run` (`puhui run`) gives a node's service: gRPC, and metrics +100
    (hub 30051-30055, 440000 30061-30064, 320000 30071-30074; puhui.federation.local)."""
    from puhui.federation.local import port

    grpc_port = port(node, service)
    return grpc_port, grpc_port + 100


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
            return health_pb2.HealthCheckResponse.ServingStatus.Name(status)
    except grpc.RpcError as exc:
        return f"DOWN ({exc.code().name})"


def cmd_run(args: argparse.Namespace) -> int:
    if args.node is None:
        from puhui.federation.local import cmd_run as run_federation

        return run_federation(
            os.environ.get("PUHUI_KAFKA_BOOTSTRAP", "127.0.0.1:19092"), as_json=args.json
        )
    services = [s.strip() for s in args.services.split(",") if s.strip()]
    unknown = set(services) - set(SERVICES)
    if unknown:
        print(f"unknown service(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    kafka = os.environ.get("PUHUI_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs_dir = state_dir() / "logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    for service in services:
        grpc_port, metrics_port = ports(args.node, service)
        env = {
            **os.environ,
            "PUHUI_NODE_ID": args.node,
            "PUHUI_GRPC_PORT": str(grpc_port),
            "PUHUI_METRICS_PORT": str(metrics_port),
            "PUHUI_KAFKA_BOOTSTRAP": kafka,
            "PUHUI_STATE": str(state_dir()),
        }
        env.pop("PUHUI_DATABASE_URL", None)  # embedded default: SQLite per service
        log = (logs_dir / f"{args.node}-{service}.log").open("ab")
        procs[service] = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", f"puhui.{service}"], env=env, stdout=log, stderr=log
        )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    deadline = time.monotonic() + 60
    pending = set(services)
    while pending and not stopping and time.monotonic() < deadline:
        for service in sorted(pending):
            if procs[service].poll() is not None:
                print(
                    f"{service} exited; see {logs_dir / f'{args.node}-{service}.log'}",
                    file=sys.stderr,
                )
                stopping = True
            elif health(f"127.0.0.1:{ports(args.node, service)[0]}") == "SERVING":
                pending.discard(service)
        time.sleep(0.3)
    if not stopping and args.json:
        report = {
            "node": args.node,
            "ready": not pending,
            "services": {
                s: {"grpc": f"127.0.0.1:{ports(args.node, s)[0]}",
                    "metrics": f"http://127.0.0.1:{ports(args.node, s)[1]}/metrics",
                    "ready": s not in pending}
                for s in services
            },
        }  # fmt: skip
        print(json.dumps(report), flush=True)
    elif not stopping:
        print(f"Puhui node {args.node} (Kafka {kafka}, data under {state_dir()})")
        for service in services:
            grpc_port, metrics_port = ports(args.node, service)
            state = "SERVING" if service not in pending else "NOT READY"
            metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
            print(f"  {service:<9} grpc 127.0.0.1:{grpc_port}  metrics {metrics_url}  {state}")
        print(f"Try: puhui status --node {args.node}")
        print("Ctrl-C stops everything.")
        print("ready" if not pending else "NOT ready (see above)", flush=True)
    while not stopping:
        time.sleep(0.3)
        for service, proc in procs.items():
            if proc.poll() is not None:
                print(f"{service} exited with {proc.returncode}", file=sys.stderr)
                stopping = True
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    print("stopped")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    importlib.import_module(f"puhui.{args.service}.server").main()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from puhui.kit import config, migrations

    cfg = config.load(config.ServiceConfig, service=args.service)
    url = cfg.effective_database_url()
    if not cfg.database_url:  # the embedded default: SQLite under PUHUI_STATE/<node>/
        (cfg.state_dir / cfg.node_id).mkdir(parents=True, exist_ok=True)
    migrations.upgrade(args.service, url)
    revision = migrations.current(args.service, url)
    if args.json:
        print(json.dumps({"service": args.service, "revision": revision}))
    else:
        print(f"{args.service}: migrated to {revision}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """One node for its operator: health, version, dependencies, RPCs, outbox, consumer and
    replication lag, mirror completeness — from each service's health and /metrics."""
    from puhui.kit import nodestatus

    try:
        overrides = nodestatus.parse_overrides(args.target or [])
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    targets = nodestatus.targets_for(args.node, SERVICES, ports, args.host, overrides)
    statuses = nodestatus.collect(targets, args.node)
    text = nodestatus.as_json if args.json else nodestatus.as_text
    print(text(args.node, statuses))
    return 0 if all(s.ok for s in statuses) else 1


def _status_arguments(status: argparse.ArgumentParser) -> None:
    """`puhui status` and `puhui node status`: the operator's summary of one node."""
    status.add_argument(
        "--node",
        default=os.environ.get("PUHUI_NODE", "440000"),
        help="node whose `make run` ports are probed ($PUHUI_NODE)",
    )
    status.add_argument("--host", default="127.0.0.1", help="host of the services' default ports")
    status.add_argument(
        "--target", action="append", help="SERVICE=GRPC_HOST:PORT,METRICS_HOST:PORT (repeat)"
    )
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=cmd_status)


def version() -> str:
    try:
        return importlib.metadata.version("puhui")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def parser() -> argparse.ArgumentParser:
    from puhui.federation import client, clikit

    fmt = clikit.HelpFormatter
    top = argparse.ArgumentParser(
        prog="puhui",
        description="Puhui node command line. Addresses default to the local federation "
        "of `make run`.",
        epilog=clikit.EXIT_CODES_HELP,
    )
    top.add_argument("--version", action="version", version=f"puhui {version()}")
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run", help="start the local federation (or one node with --node)", formatter_class=fmt
    )
    run.add_argument("--node", default=None, help="only this node, services as processes")
    run.add_argument("--services", default=",".join(SERVICES))
    run.add_argument(
        "--json", action="store_true", help="the banner as one JSON object (with `ready`)"
    )
    run.set_defaults(func=cmd_run)
    serve = sub.add_parser("serve", help="run one service in this process")
    serve.add_argument("service", choices=(*SERVICES, "federation"))
    serve.set_defaults(func=cmd_serve)
    migrate = sub.add_parser("migrate", help="apply a service's migrations")
    migrate.add_argument("service", choices=(*SERVICES, "federation"))
    migrate.add_argument("--json", action="store_true", help="print one JSON object")
    migrate.set_defaults(func=cmd_migrate)
    status = sub.add_parser(
        "status",
        help="a node's services: health, versions, lag, outbox, replication, mirrors",
        formatter_class=fmt,
    )
    _status_arguments(status)
    client.add_commands(sub, _status_arguments)
    return top


def main(argv: list[str] | None = None) -> int:
    """The `puhui` command: one line per failure (no traceback unless PUHUI_DEBUG is set),
    the exit codes of puhui.federation.clikit."""
    from puhui.federation import admincli, client, clikit

    args = parser().parse_args(argv)
    try:
        if args.func.__module__ in (client.__name__, admincli.__name__):
            return client.run(args.func, args)
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return clikit.INTERRUPTED
    except Exception as exc:
        if os.environ.get("PUHUI_DEBUG"):
            raise
        print(
            f"puhui {args.command}: {type(exc).__name__}: {' '.join(str(exc).split())} "
            "(PUHUI_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return clikit.FAILED


if __name__ == "__main__":
    sys.exit(main())
