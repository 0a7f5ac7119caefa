#!/usr/bin/env python3
"""Local loopback infrastructure for Puhui: Kafka 4.1 (KRaft), PostgreSQL 15, Redis 7.

Stdlib only (it runs before the project venv exists):

    python3 deploy/local/infra.py up [--only kafka,postgres,redis]
    python3 deploy/local/infra.py down [--only NAME,...]
    python3 deploy/local/infra.py status
    python3 deploy/local/infra.py env            # eval "$(python3 deploy/local/infra.py env)"
    python3 deploy/local/infra.py kafka-fetch
    python3 deploy/local/infra.py kafka-cluster --name B --port 29092 [--controller-port 29093]
    python3 deploy/local/infra.py mirror-maker --name ab --source 127.0.0.1:19092 \
        --target 127.0.0.1:29092 --topics 'orders\\..*'

From tests (``puhui.kit.testing.load_infra()`` loads this file as a module):

    start_kafka(state_dir, port, controller_port) -> Handle        # extra independent cluster
    start_mirror_maker(state_dir, source_bootstrap, target_bootstrap, topics) -> Handle

Both return a ``Handle`` with ``.stop()``; the processes belong to the caller's session.

State lives under $PUHUI_STATE (default <repo>/.state): kafka/libs (jar cache, keyed by the
sha256 of deploy/kafka/pom.xml), kafka/data, postgres/, redis/, logs/, run/ (pid files).
Processes started by ``up``, ``kafka-cluster`` and ``mirror-maker`` are detached (new session)
and outlive this script; ``down`` stops exactly those, found through run/*.pid.

A component whose variable (PUHUI_KAFKA_BOOTSTRAP, PUHUI_POSTGRES_URL, PUHUI_REDIS_URL) is set
to something other than our default address is external: ``up`` only checks it accepts TCP.

Measured here (2 shared cores, other work running), wall time of the command:
- jar resolution (mvn, warm ~/.m2): 3-9 s; a no-op when the pom's sha256 matches.
- Kafka broker: format + first start 4.0 s; restart 2.5 s idle, 9 s at load average 6;
  extra fresh cluster 3.4-5 s (11.6 s once while MirrorMaker was starting next to it).
- PostgreSQL: initdb + start + role/db 1.3 s; restart 0.3 s. Redis: 0.3 s.
- MirrorMaker 2 (dedicated mode, MM2 settings below; source topic created and filled before
  MM2 starts): first replicated message visible on the target 8.6-17.6 s after the MM2 JVM
  was launched (4 runs: 8.6, 11.3, 12.5, 15.5 s, one 17.6 s before service_load discovery);
  start_mirror_maker() returns ~0.3 s before that. A matching topic created while MM2 runs is
  picked up in 5.3-6.4 s (refresh.topics.interval.seconds = 5). Stopping MM2 takes ~2 s.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra_base import (
    Handle,
    InfraError,
    apt_install,
    ensure_program,
    host_port,
    log,
    pid_file,
    port_open,
    read_pid,
    run,
    spawn,
    state_path,
    state_root,
    which,
)
from infra_base import _ready_or_stop as _ready_or_stop
from infra_base import new_cluster_id as new_cluster_id
from infra_kafka import (
    KAFKA_PORT,
    fetch_kafka,
    launch_kafka,
    launch_mirror_maker,
    start_main_kafka,
)
from infra_kafka import Secured as Secured
from infra_kafka import _jvm as _jvm
from infra_kafka import start_kafka as start_kafka
from infra_kafka import start_mirror_maker as start_mirror_maker

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")

PG_PORT, REDIS_PORT = 15432, 16379
DEFAULTS = {
    "kafka": ("PUHUI_KAFKA_BOOTSTRAP", f"127.0.0.1:{KAFKA_PORT}"),
    "postgres": ("PUHUI_POSTGRES_URL", f"postgresql://puhui:puhui@127.0.0.1:{PG_PORT}/puhui"),
    "redis": ("PUHUI_REDIS_URL", f"redis://127.0.0.1:{REDIS_PORT}/0"),
}

# Test cluster only: fsync/synchronous_commit/full_page_writes off trade crash safety for speed.
PG_CONF = """\
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{socket_dir}'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
"""

PG_BOOTSTRAP_SQL = """\
SELECT 'CREATE ROLE puhui' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'puhui')\\gexec
ALTER ROLE puhui LOGIN CREATEDB PASSWORD 'puhui';
SELECT 'CREATE DATABASE puhui OWNER puhui'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'puhui')\\gexec
"""

REDIS_CONF = """\
bind 127.0.0.1
port {port}
protected-mode yes
daemonize no
dir {dir}
save ""
appendonly no
logfile ""
"""


# ---------------------------------------------------------------- PostgreSQL


def pg_ready() -> bool:
    argv = [str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(PG_PORT)]
    return subprocess.run(argv, check=False).returncode == 0  # noqa: S603


def start_postgres() -> Handle:
    """Private PostgreSQL 15 cluster in state/postgres/data, run as the postgres system user."""
    if not (PG_BIN / "initdb").exists():
        apt_install("postgresql-15")
    home = state_path("postgres")
    data, sockets = home / "data", home / "run"
    log_path = state_path("logs") / "postgres.log"
    as_postgres: dict[str, Any] = {"user": "postgres", "group": "postgres", "extra_groups": []}
    sockets.mkdir(exist_ok=True)
    for d in (home, sockets):
        shutil.chown(d, "postgres", "postgres")
    if not (data / "PG_VERSION").exists():
        shutil.rmtree(data, ignore_errors=True)
        initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres"]
        initdb += [
            "--auth-local=peer",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]
        run(initdb, "PostgreSQL initdb", log_path, cwd=home, **as_postgres)
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude = 'puhui.conf'\n")
    conf_path = data / "puhui.conf"
    conf_path.write_text(PG_CONF.format(port=PG_PORT, socket_dir=sockets))
    shutil.chown(conf_path, "postgres", "postgres")
    argv = [str(PG_BIN / "postgres"), "-D", str(data)]
    handle = spawn(argv, log_path, detach=True, pid_name="postgres", user="postgres")
    handle.stop_signal = signal.SIGINT  # "fast" shutdown; SIGTERM would wait for every client
    _ready_or_stop(handle, "PostgreSQL", pg_ready, 60)
    psql = [str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(sockets)]
    psql += ["-p", str(PG_PORT), "-U", "postgres", "-d", "postgres", "-f", "-"]
    run(
        psql,
        "PostgreSQL role/database setup",
        log_path,
        input=PG_BOOTSTRAP_SQL,
        cwd=home,
        **as_postgres,
    )
    return handle


# ---------------------------------------------------------------- Redis


def redis_ping() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis() -> Handle:
    server = ensure_program("redis-server", "redis-server")
    log_path = state_path("logs") / "redis.log"
    version = run([server, "--version"], "redis-server --version", log_path)
    if not re.search(r"\bv=7\.", version):
        log.warning("expected Redis 7.x, found: %s", version.strip())
    home = state_path("redis")
    conf = home / "redis.conf"
    conf.write_text(REDIS_CONF.format(port=REDIS_PORT, dir=home))
    handle = spawn([server, str(conf)], log_path, detach=True, pid_name="redis")
    return _ready_or_stop(handle, "Redis", redis_ping, 30)


# ---------------------------------------------------------------- Prometheus (tests only)


def ensure_prometheus() -> tuple[str, str]:
    """Paths of Debian's `prometheus` and `promtool`, installing the package if missing.

    The package's own service (port 9090) is stopped where an init system lets us; tests
    never rely on it and run their own Prometheus on a free loopback port.
    """
    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        apt_install("prometheus")
        for argv in (["systemctl", "stop", "prometheus"], ["service", "prometheus", "stop"]):
            if shutil.which(argv[0]):
                subprocess.run(argv, capture_output=True, check=False, timeout=30)  # noqa: S603
    return which("prometheus"), which("promtool")


# ---------------------------------------------------------------- components and commands


STARTERS: dict[str, Callable[[], Handle]] = {
    "kafka": start_main_kafka,
    "postgres": start_postgres,
    "redis": start_redis,
}
STOP_SIGNALS = {"postgres": signal.SIGINT}


def external(name: str) -> str | None:
    """The address from the environment if it points somewhere other than our default."""
    var, default = DEFAULTS[name]
    value = os.environ.get(var)
    return value if value and value != default else None


def address(name: str) -> str:
    return external(name) or DEFAULTS[name][1]


def up_one(name: str) -> str:
    var, _ = DEFAULTS[name]
    host, port = host_port(address(name))
    if ext := external(name):
        if not port_open(host, port):
            raise InfraError(f"{name}: external {var}={ext} is not reachable at {host}:{port}")
        return f"{name:<9}{ext}  external ({var} set; not started)"
    if pid := read_pid(name):
        log_path = state_root() / "logs" / f"{name}.log"
        Handle(pid=pid, log_path=log_path).wait_ready(
            f"{name} (pid {pid})", lambda: port_open(host, port), 60
        )
        return f"{name:<9}{address(name)}  already running (pid {pid})"
    if port_open(host, port):
        raise InfraError(f"{name}: port {port} is taken by a process infra.py did not start")
    started = time.monotonic()
    handle = STARTERS[name]()
    took = time.monotonic() - started
    return f"{name:<9}{address(name)}  started (pid {handle.pid}, {took:.1f} s)"


def pid_names() -> list[str]:
    """Everything with a pid file: mirror makers first, then extra clusters, then the rest."""
    names = [p.stem for p in state_path("run").glob("*.pid")]
    order = {"redis": 3, "postgres": 4, "kafka": 5}
    return sorted(names, key=lambda n: (order.get(n, 1 if n.startswith("mm2-") else 2), n))


def cmd_up(only: list[str]) -> None:
    for name in only:
        print(up_one(name), flush=True)


def cmd_down(only: list[str] | None) -> None:
    names = [n for n in pid_names() if only is None or n in only]
    for name in names:
        pid = read_pid(name)
        if pid is None:
            print(f"{name:<9}not running")
            continue
        log_path = state_root() / "logs" / f"{name}.log"
        Handle(
            pid=pid, log_path=log_path, stop_signal=STOP_SIGNALS.get(name, signal.SIGTERM)
        ).stop()
        pid_file(name).unlink(missing_ok=True)
        print(f"{name:<9}stopped (pid {pid})", flush=True)
    if not names:
        print("nothing to stop")


def cmd_status() -> None:
    for name in DEFAULTS:
        addr = address(name)
        if external(name):
            state = "external, " + ("reachable" if port_open(*host_port(addr)) else "UNREACHABLE")
        elif pid := read_pid(name):
            state = f"running (pid {pid})"
        else:
            taken = port_open(*host_port(addr))
            state = "stopped" + (" (port taken by another process)" if taken else "")
        print(f"{name:<9}{addr}  {state}")
    for name in pid_names():
        if name not in DEFAULTS and (pid := read_pid(name)):
            print(f"{name:<9}running (pid {pid}); log {state_root() / 'logs' / f'{name}.log'}")


def cmd_env() -> None:
    for name, (var, _) in DEFAULTS.items():
        print(f"export {var}={shlex.quote(address(name))}")


def cmd_kafka_cluster(name: str, port: int, controller_port: int) -> None:
    pid_name = f"kafka-{name}"
    if pid := read_pid(pid_name):
        print(f"{pid_name:<9}127.0.0.1:{port}  already running (pid {pid})")
        return
    home, log_path = state_path(pid_name), state_path("logs") / f"{pid_name}.log"
    handle = launch_kafka(
        home, port, controller_port, log_path, detach=True, fresh=True, pid_name=pid_name
    )
    print(f"{pid_name:<9}{handle.address}  started (pid {handle.pid}, fresh data in {home})")


def cmd_mirror_maker(name: str, source: str, target: str, topics: str) -> None:
    pid_name = f"mm2-{name}"
    if pid := read_pid(pid_name):
        print(f"{pid_name:<9}already running (pid {pid})")
        return
    home, log_path = state_path(pid_name), state_path("logs") / f"{pid_name}.log"
    handle = launch_mirror_maker(
        home, source, target, topics, log_path, detach=True, pid_name=pid_name
    )
    print(f"{pid_name:<9}{handle.address}  started (pid {handle.pid}; log {log_path})")


def components(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = sorted(set(names) - set(DEFAULTS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown component(s): {', '.join(unknown)}")
    return names


def cluster_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise argparse.ArgumentTypeError("use letters, digits, '-' and '_'")
    return value


def tcp_port(value: str) -> int:
    port = int(value)
    if not 1024 <= port <= 65535:
        raise argparse.ArgumentTypeError("use a port in 1024..65535")
    return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug diagnostics")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start kafka, postgres, redis unless already running")
    up.add_argument("--only", type=components, default=list(DEFAULTS))
    down = sub.add_parser("down", help="stop everything started by this script")
    down.add_argument("--only", type=lambda v: v.split(","), default=None)
    sub.add_parser("status")
    sub.add_parser("env", help="print export lines")
    sub.add_parser("kafka-fetch", help="resolve the Kafka jars only")
    kc = sub.add_parser("kafka-cluster", help="start an extra single-node Kafka cluster")
    kc.add_argument("--name", type=cluster_name, required=True)
    kc.add_argument("--port", type=tcp_port, required=True)
    kc.add_argument("--controller-port", type=tcp_port, help="default: port + 1")
    mm = sub.add_parser("mirror-maker", help="run MirrorMaker 2 from --source to --target")
    mm.add_argument("--name", type=cluster_name, required=True)
    mm.add_argument("--source", required=True, help="source bootstrap, e.g. 127.0.0.1:19092")
    mm.add_argument("--target", required=True, help="target bootstrap, e.g. 127.0.0.1:29092")
    mm.add_argument("--topics", required=True, help="topic regex")
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="infra: %(message)s", stream=sys.stderr)
    try:
        if args.cmd == "up":
            cmd_up(args.only)
        elif args.cmd == "down":
            cmd_down(args.only)
        elif args.cmd == "status":
            cmd_status()
        elif args.cmd == "env":
            cmd_env()
        elif args.cmd == "kafka-fetch":
            print(f"kafka jars  {fetch_kafka()}")
        elif args.cmd == "kafka-cluster":
            cmd_kafka_cluster(args.name, args.port, args.controller_port or args.port + 1)
        elif args.cmd == "mirror-maker":
            cmd_mirror_maker(args.name, args.source, args.target, args.topics)
    except InfraError as exc:
        print(f"infra: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
