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
import base64
import contextlib
import hashlib
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
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("infra")

REPO = Path(__file__).resolve().parents[2]
POM = REPO / "deploy" / "kafka" / "pom.xml"
PG_BIN = Path("/usr/lib/postgresql/15/bin")

KAFKA_PORT, KAFKA_CONTROLLER_PORT = 19092, 19093
KAFKA_SASL_SSL_PORT, KAFKA_SSL_PORT = 19094, 19095
KAFKA_ADMIN_USER = "puhui-admin"
PG_PORT, REDIS_PORT = 15432, 16379
DEFAULTS = {
    "kafka": ("PUHUI_KAFKA_BOOTSTRAP", f"127.0.0.1:{KAFKA_PORT}"),
    "postgres": ("PUHUI_POSTGRES_URL", f"postgresql://puhui:puhui@127.0.0.1:{PG_PORT}/puhui"),
    "redis": ("PUHUI_REDIS_URL", f"redis://127.0.0.1:{REDIS_PORT}/0"),
}
STOP_GRACE_S = 15.0

LOG4J2 = """\
appender.out.type=Console
appender.out.name=OUT
appender.out.target={target}
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level={level}
rootLogger.appenderRef.out.ref=OUT
"""

# One broker: every replication factor 1; __consumer_offsets with 3 partitions, not 50. It
# is created when the first group joins; once, on a fresh cluster of a loaded machine, the
# hub's consumer groups got NotCoordinator for a whole two-minute test window — fewer
# partitions to create and lead is the likely remedy, not a proven one.
KAFKA_SERVER = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data}
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
"""

# Secured listeners (docs/adr/0022): SASL_SSL with SCRAM-SHA-512 and SSL with mutual TLS, the
# broker's PEM key and certificate from the node CA, and KRaft's StandardAuthorizer. The
# PLAINTEXT and CONTROLLER listeners stay on loopback for the broker itself and for tests that
# ask for plaintext explicitly; their principal (ANONYMOUS) is a super user.
KAFKA_SECURE = """\
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port},\
SASL_SSL://127.0.0.1:{sasl_port},SSL://127.0.0.1:{ssl_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port},SASL_SSL://127.0.0.1:{sasl_port},\
SSL://127.0.0.1:{ssl_port}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=\
org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.ssl.ssl.client.auth=required
ssl.keystore.type=PEM
ssl.keystore.location={keystore}
ssl.truststore.type=PEM
ssl.truststore.location={truststore}
ssl.principal.mapping.rules=RULE:^CN=([^,]+),.*$/$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users={super_users}
"""

# Dedicated-mode MirrorMaker 2, one flow SRC->DST, tuned for one-broker clusters: every
# replication factor 1 and a 5 s topic/group refresh (default 600 s). IdentityReplicationPolicy
# keeps topic names (the default policy would rename "t" to "SRC.t"). service_load plugin
# discovery skips two reflection scans of the classpath (~6 s of a ~11 s start here).
MM2 = """\
clusters = {src}, {dst}
{src}.bootstrap.servers = {src_bootstrap}
{dst}.bootstrap.servers = {dst_bootstrap}
{src}->{dst}.enabled = true
{src}->{dst}.topics = {topics}
replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy
replication.factor = 1
checkpoints.topic.replication.factor = 1
heartbeats.topic.replication.factor = 1
offset-syncs.topic.replication.factor = 1
offset.storage.replication.factor = 1
status.storage.replication.factor = 1
config.storage.replication.factor = 1
refresh.topics.interval.seconds = 5
refresh.groups.interval.seconds = 5
sync.topic.acls.enabled = false
plugin.discovery = service_load
"""

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


class InfraError(Exception):
    """A failure, already phrased as one line for the user."""


# ---------------------------------------------------------------- paths, processes, pid files


def state_root() -> Path:
    return Path(os.environ.get("PUHUI_STATE") or REPO / ".state").resolve()


def state_path(*parts: str) -> Path:
    path = state_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def pid_file(name: str) -> Path:
    return state_path("run") / f"{name}.pid"


def _start_time(pid: int) -> str | None:
    """Kernel start time of pid (guards pid files against pid reuse); None if gone/zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in "ZX" else fields[19]


def read_pid(name: str) -> int | None:
    """The live pid recorded for name, or None (a stale pid file is removed)."""
    path = pid_file(name)
    try:
        pid_text, started = path.read_text().split()
    except (OSError, ValueError):
        return None
    pid = int(pid_text)
    if _start_time(pid) == started:
        return pid
    path.unlink(missing_ok=True)
    return None


def write_pid(name: str, pid: int) -> None:
    pid_file(name).write_text(f"{pid} {_start_time(pid)}\n")


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def which(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise InfraError(f"{program} not found on PATH")
    return path


def new_cluster_id() -> str:
    """A random KRaft cluster id, as `kafka-storage random-uuid` makes one.

    Base64url of 16 random bytes, never starting with "-": like Kafka's own Uuid.randomUuid,
    which draws again in that case, because the storage tool's argument parser reads a value
    starting with "-" as an option (one id in 64 did, and failed `format`).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def run(argv: list[str], what: str, log_path: Path, **kwargs: Any) -> str:
    """Run argv to completion, appending its output to log_path; return that output."""
    log.debug("run: %s", shlex.join(argv))
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # noqa: S603
    output = f"{result.stdout}{result.stderr}"
    with log_path.open("a") as out:
        out.write(f"$ {shlex.join(argv)}\n{output}")
    if result.returncode != 0:
        raise InfraError(f"{what} failed (exit {result.returncode}); see {log_path}")
    return output


def spawn(
    argv: list[str],
    log_path: Path,
    *,
    detach: bool,
    pid_name: str | None = None,
    user: str | None = None,
) -> Handle:
    """Start a long-running process, stdout+stderr appended to log_path; pid_name: pid file."""
    log.debug("spawn: %s", shlex.join(argv))
    with log_path.open("ab") as out:
        out.write(f"\n===== {time.strftime('%F %T')} $ {shlex.join(argv)}\n".encode())
        out.flush()
        offset = out.tell()
        proc = subprocess.Popen(  # noqa: S603 - list form, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
            user=user,
            group=user,
            extra_groups=[] if user else None,
            cwd=log_path.parent,
        )
    if pid_name:
        write_pid(pid_name, proc.pid)
    return Handle(pid=proc.pid, log_path=log_path, proc=proc, log_offset=offset)


@dataclass
class Handle:
    """A process we started. stop() sends sig, waits STOP_GRACE_S, then SIGKILLs."""

    pid: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    log_offset: int = 0
    address: str = ""
    stop_signal: int = signal.SIGTERM

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        return _start_time(self.pid) is not None

    def log_since_start(self) -> str:
        with self.log_path.open("rb") as f:
            f.seek(self.log_offset)
            return f.read().decode(errors="replace")

    def wait_ready(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if not self.alive():
                raise InfraError(f"{what} exited during startup; see {self.log_path}")
            if time.monotonic() > deadline:
                raise InfraError(f"{what} not ready after {timeout:.0f} s; see {self.log_path}")
            time.sleep(0.25)

    def stop(self) -> None:
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, self.stop_signal)
        deadline = time.monotonic() + STOP_GRACE_S
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.alive():
            log.warning(
                "pid %d ignored signal %d for %.0f s; SIGKILL",
                self.pid,
                self.stop_signal,
                STOP_GRACE_S,
            )
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            while self.alive():
                time.sleep(0.1)
        if self.proc is not None:
            self.proc.wait()


# ---------------------------------------------------------------- packages

_apt_updated = False


def apt_install(package: str) -> None:
    global _apt_updated
    if os.geteuid() != 0:
        raise InfraError(f"{package} is missing and installing it needs root (apt-get install)")
    apt_log = state_path("logs") / "apt.log"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = which("apt-get")
    log.info("installing %s with apt-get (log: %s)", package, apt_log)
    if not _apt_updated:
        run([apt, "update"], "apt-get update", apt_log, env=env)
        _apt_updated = True
    run(
        [apt, "install", "-y", "--no-install-recommends", package],
        f"install {package}",
        apt_log,
        env=env,
    )


def ensure_program(program: str, package: str) -> str:
    if shutil.which(program) is None:
        apt_install(package)
    return which(program)


# ---------------------------------------------------------------- Kafka


@cache
def java_command() -> str:
    java = ensure_program("java", "openjdk-17-jdk-headless")
    version = run([java, "-version"], "java -version", state_path("logs") / "kafka-fetch.log")
    match = re.search(r'version "(\d+)', version)
    if not match or int(match.group(1)) < 17:
        raise InfraError(f"Kafka 4.1 needs Java 17+, but {java} reports: {version.splitlines()[0]}")
    return java


def fetch_kafka() -> Path:
    """Resolve the Kafka jars into state/kafka/libs unless deploy/kafka/pom.xml is unchanged."""
    libs = state_path("kafka") / "libs"
    stamp = libs / "pom.xml.sha256"
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == digest:
        return libs
    java_command()
    mvn = ensure_program("mvn", "maven")
    fetch_log = state_path("logs") / "kafka-fetch.log"
    tmp = libs.with_name("libs.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    started = time.monotonic()
    log.info("resolving Kafka jars from %s", POM)
    argv = [mvn, "-B", "-q", "-f", str(POM), "dependency:copy-dependencies"]
    run([*argv, f"-DoutputDirectory={tmp}"], "Kafka jar resolution (mvn)", fetch_log)
    (tmp / stamp.name).write_text(digest + "\n")
    old = libs.with_name("libs.old")  # two renames: a running JVM never sees libs/ missing long
    shutil.rmtree(old, ignore_errors=True)
    if libs.exists():
        libs.rename(old)
    tmp.rename(libs)
    shutil.rmtree(old, ignore_errors=True)
    jars = len(list(libs.glob("*.jar")))
    log.info("resolved %d jars in %.1f s", jars, time.monotonic() - started)
    return libs


def _jvm(home: Path, *heap: str, level: str = "info") -> list[str]:
    """java, heap, classpath and a generated log4j2 properties file (INFO->stdout|WARN->stderr)."""
    target = "SYSTEM_OUT" if level == "info" else "SYSTEM_ERR"
    log4j = home / f"log4j2-{level}.properties"
    log4j.write_text(LOG4J2.format(target=target, level=level))
    libs = fetch_kafka()
    jvm = [java_command(), *heap, "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError"]
    jvm += ["-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={log4j}"]
    return [*jvm, "-cp", f"{libs}/*"]  # one argv element: the JVM expands libs/*, no shell


def _ready_or_stop(handle: Handle, what: str, check: Callable[[], bool], timeout: float) -> Handle:
    try:
        handle.wait_ready(what, check, timeout)
    except BaseException:
        handle.stop()
        raise
    return handle


@dataclass(frozen=True)
class Secured:
    """A broker's secured listeners. keystore: PEM file with the broker's PKCS#8 key and its
    certificate chain; truststore: PEM of the CA(s) whose client certificates are accepted;
    scram_users: (name, password) pairs created when the storage is formatted."""

    sasl_port: int
    ssl_port: int
    keystore: Path
    truststore: Path
    super_users: tuple[str, ...] = ()
    scram_users: tuple[tuple[str, str], ...] = ()

    def properties(self, port: int, controller_port: int) -> str:
        supers = ";".join(f"User:{u}" for u in ("ANONYMOUS", *self.super_users))
        return KAFKA_SECURE.format(
            port=port,
            controller_port=controller_port,
            sasl_port=self.sasl_port,
            ssl_port=self.ssl_port,
            keystore=self.keystore,
            truststore=self.truststore,
            super_users=supers,
        )

    def format_args(self) -> list[str]:
        return [f"--add-scram=SCRAM-SHA-512=[name={n},password={p}]" for n, p in self.scram_users]


def kafka_properties(
    port: int, controller_port: int, data: Path, secure: Secured | None = None
) -> str:
    text = KAFKA_SERVER.format(port=port, controller_port=controller_port, data=data)
    if secure is None:
        return text
    plain = ("listeners=", "advertised.listeners=", "listener.security.protocol.map=")
    kept = [line for line in text.splitlines() if not line.startswith(plain)]
    return "\n".join(kept) + "\n" + secure.properties(port, controller_port)


def launch_kafka(
    home: Path,
    port: int,
    controller_port: int,
    log_path: Path,
    *,
    detach: bool,
    fresh: bool = False,
    pid_name: str | None = None,
    secure: Secured | None = None,
) -> Handle:
    """Format (if needed) and start a single-node KRaft cluster with its data in home/data."""
    home.mkdir(parents=True, exist_ok=True)
    data = home / "data"
    if fresh:
        shutil.rmtree(data, ignore_errors=True)
    ports = (port, controller_port, *((secure.sasl_port, secure.ssl_port) if secure else ()))
    for p in ports:
        if port_open("127.0.0.1", p):
            raise InfraError(f"Kafka cannot start: port {p} is already in use")
    props = home / "server.properties"
    props.write_text(kafka_properties(port, controller_port, data, secure))
    if not (data / "meta.properties").exists():
        tool = [*_jvm(home, "-Xmx256m", level="warn"), "kafka.tools.StorageTool"]
        argv = [*tool, "format", f"--cluster-id={new_cluster_id()}", f"--config={props}"]
        argv += secure.format_args() if secure else []
        run(argv, f"Kafka format {data}", log_path)
    argv = [*_jvm(home, "-Xms256m", "-Xmx512m"), "kafka.Kafka", str(props)]
    handle = spawn(argv, log_path, detach=detach, pid_name=pid_name)
    handle.address = f"127.0.0.1:{port}"

    def ready() -> bool:
        started = "Kafka Server started" in handle.log_since_start()
        return started and port_open("127.0.0.1", port)

    return _ready_or_stop(handle, f"Kafka broker {handle.address}", ready, 60)


def start_kafka(
    state_dir: Path | str, port: int, controller_port: int, *, secure: Secured | None = None
) -> Handle:
    """Start an extra independent single-node Kafka cluster (data in state_dir/data, log in
    state_dir/kafka.log) in the caller's session; call .stop() when done."""
    home = Path(state_dir).resolve()
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "kafka.log"
    return launch_kafka(home, port, controller_port, log_path, detach=False, secure=secure)


def launch_mirror_maker(
    home: Path,
    source_bootstrap: str,
    target_bootstrap: str,
    topics: str,
    log_path: Path,
    *,
    detach: bool,
    pid_name: str | None = None,
    source: str = "A",
    target: str = "B",
    clients: dict[str, dict[str, str]] | None = None,
) -> Handle:
    """MirrorMaker 2 in dedicated mode replicating topics (a regex) from source to target.
    clients: Kafka client properties per cluster alias (security.protocol, ssl.*, sasl.*;
    puhui.kit.kafka.java_client_properties makes them), written as `<alias>.<name>`."""
    for bootstrap in (source_bootstrap, target_bootstrap):
        if not port_open(*host_port(bootstrap)):
            raise InfraError(f"MirrorMaker 2 cannot start: Kafka {bootstrap} is not reachable")
    home.mkdir(parents=True, exist_ok=True)
    props = home / "mm2.properties"
    props.write_text(
        MM2.format(
            src=source,
            dst=target,
            src_bootstrap=source_bootstrap,
            dst_bootstrap=target_bootstrap,
            topics=topics.replace("\\", "\\\\"),  # .properties would eat the regex's backslashes
        )
        + "".join(
            f"{alias}.{name} = {value}\n"
            for alias, settings in (clients or {}).items()
            for name, value in settings.items()
        )
    )
    props.chmod(0o600)  # may hold a SCRAM password
    main = "org.apache.kafka.connect.mirror.MirrorMaker"
    argv = [*_jvm(home, "-Xms128m", "-Xmx512m"), main, str(props), "--clusters", target]
    handle = spawn(argv, log_path, detach=detach, pid_name=pid_name)
    handle.address = f"{source_bootstrap} -> {target_bootstrap} ({topics})"

    # "Kafka MirrorMaker started" comes before any connector exists; wait for the source
    # connector's task (or for the connector to report that no topic matches yet).
    def ready() -> bool:
        return MM2_READY.search(handle.log_since_start()) is not None

    return _ready_or_stop(handle, "MirrorMaker 2", ready, 120)


MM2_READY = re.compile(
    r"WorkerSourceTask\{id=MirrorSourceConnector-0\} Source task finished initialization"
    r"|Started MirrorSourceConnector with 0 topic-partitions"
)


def start_mirror_maker(
    state_dir: Path | str,
    source_bootstrap: str,
    target_bootstrap: str,
    topics: str,
    *,
    source: str = "A",
    target: str = "B",
    clients: dict[str, dict[str, str]] | None = None,
) -> Handle:
    """Run MirrorMaker 2 (dedicated mode, IdentityReplicationPolicy: topic names unchanged) from
    source_bootstrap to target_bootstrap for topics matching the regex; log in state_dir/mm2.log.
    Returns once MM2 has started; replication of existing topics follows (see module docstring
    for the measured delay). Call .stop() when done."""
    home = Path(state_dir).resolve()
    home.mkdir(parents=True, exist_ok=True)
    return launch_mirror_maker(
        home,
        source_bootstrap,
        target_bootstrap,
        topics,
        home / "mm2.log",
        detach=False,
        source=source,
        target=target,
        clients=clients,
    )


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


def local_kafka_tls() -> Secured | None:
    """The secured listeners of `make up`'s broker: a local node CA and the broker's node
    certificate (as the hub's, 000000), made once in state/kafka/tls by the project's CA tool
    `python -m puhui.kit.tls`. None (plaintext only, with a warning) without the venv."""
    python = REPO / ".venv" / "bin" / "python"
    if not python.exists():
        log.warning("no .venv yet (make setup): Kafka starts without its SASL_SSL/SSL listeners")
        return None
    folder = state_path("kafka", "tls")
    log_path = state_path("logs") / "kafka-tls.log"
    tool = [str(python), "-m", "puhui.kit.tls"]
    ca_crt, ca_key = folder / "ca.crt", folder / "ca.key"
    if not (ca_crt.exists() and ca_key.exists()):
        run([*tool, "init-ca", "--out", str(folder), "--name", "Puhui local CA"], "CA", log_path)
    keystore = folder / "broker.pem"
    if not keystore.exists():
        argv = [*tool, "issue", "--ca", str(ca_crt), "--ca-key", str(ca_key), "--node", "000000"]
        argv += ["--dns", "localhost", "--ip", "127.0.0.1", "--out", str(folder)]
        run([*argv, "--name", "broker"], "Kafka broker certificate", log_path)
        pem = (folder / "broker.key").read_bytes() + (folder / "broker.crt").read_bytes()
        fd = os.open(keystore, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
    return Secured(
        sasl_port=KAFKA_SASL_SSL_PORT,
        ssl_port=KAFKA_SSL_PORT,
        keystore=keystore,
        truststore=ca_crt,
        super_users=(KAFKA_ADMIN_USER,),
    )


def start_main_kafka() -> Handle:
    """`make up`'s broker: PLAINTEXT on 19092 (tests that ask for it), SASL_SSL on 19094 and
    SSL (mutual TLS) on 19095 with the StandardAuthorizer. SCRAM users are created through the
    admin API (puhui.kit.kafka.set_scram_password), node ACLs by puhui.kit.kafka_acl."""
    home, log_path = state_path("kafka"), state_path("logs") / "kafka.log"
    ports = (KAFKA_PORT, KAFKA_CONTROLLER_PORT)
    secure = local_kafka_tls()
    return launch_kafka(home, *ports, log_path, detach=True, pid_name="kafka", secure=secure)


STARTERS: dict[str, Callable[[], Handle]] = {
    "kafka": start_main_kafka,
    "postgres": start_postgres,
    "redis": start_redis,
}
STOP_SIGNALS = {"postgres": signal.SIGINT}


def host_port(address: str) -> tuple[str, int]:
    """Host and port of a bootstrap list's first entry or of a URL (scheme default port)."""
    first = address.split(",")[0].strip()
    parts = urlsplit(first if "://" in first else f"//{first}")
    default = {"postgresql": 5432, "postgres": 5432, "redis": 6379}.get(parts.scheme, 9092)
    return parts.hostname or "127.0.0.1", parts.port or default


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
