"""Kafka 4.1 (KRaft) and MirrorMaker 2 from Maven jars for deploy/local/infra.py (stdlib
only; measured start-up times are in infra.py's docstring). Secured listeners: ADR 0022.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from infra_base import (
    REPO,
    Handle,
    InfraError,
    _ready_or_stop,
    host_port,
    log,
    new_cluster_id,
    port_open,
    run,
    spawn,
    state_path,
)
from infra_base import ensure_program as ensure_program

POM = REPO / "deploy" / "kafka" / "pom.xml"
KAFKA_PORT, KAFKA_CONTROLLER_PORT = 19092, 19093
KAFKA_SASL_SSL_PORT, KAFKA_SSL_PORT = 19094, 19095
KAFKA_ADMIN_USER = "puhui-admin"

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
