"""The one module that knows kafka-python (docs/adr/0005).

Topic names carry the source node: `puhui.<node>.<service>.<stream>`, or, in a federation
namespace (`PUHUI_FEDERATION_ID=<id>`), `puhui.<id>.<node>.<service>.<stream>`; consumer
groups of a namespace are `<id>.<group>`. Two federations sharing a broker (a test run next
to `make run`) therefore never see each other's events. Dead letters go to `<topic>.dlq`.
The hub subscribes by pattern; MirrorMaker 2 with the identity replication policy copies a
province's topics to the hub's cluster without renaming them.

Every client is built here, and every one takes its transport security from `KafkaSecurity`
(`PUHUI_KAFKA_SECURITY_PROTOCOL` and friends, read from the environment when a client is
built unless the caller passes one): PLAINTEXT, SSL (mutual TLS with a node certificate of
the federation CA, see puhui.kit.tls) or SASL_SSL (SCRAM-SHA-512 over TLS). The password is
given as a file (`PUHUI_KAFKA_SASL_PASSWORD_FILE`) like every other secret (docs/adr/0022).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import socket
from collections.abc import Iterable, Mapping

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from puhui.kit.config import ConfigError, load, setting

logger = logging.getLogger(__name__)

TOPIC_RE = re.compile(
    r"^puhui\.(?:(?P<federation>[a-z][a-z0-9-]{0,31})\.)?"
    r"(?P<node>\d{6})\.(?P<service>[a-z]+)\.(?P<stream>[a-z0-9_.-]+)$"
)
FEDERATION_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


DELIVERY_TIMEOUT_MS = 12_000


@dataclasses.dataclass(frozen=True, kw_only=True)
class Namespace:
    federation_id: str = setting(
        "PUHUI_FEDERATION_ID",
        "",
        doc="Federation namespace of every topic and consumer group (lower-case letters, digits, "
        "'-'; starts with a letter); empty = the un-namespaced names `puhui.<node>.…`. Every "
        "node of one federation sets the same value.",
        example="puhui-prod",
    )

    def validate(self) -> None:
        if self.federation_id and not FEDERATION_RE.match(self.federation_id):
            raise ConfigError(
                f"configuration: PUHUI_FEDERATION_ID={self.federation_id!r} is malformed: "
                "expected a lower-case letter, then up to 31 letters, digits or '-'"
            )


def federation(environ: Mapping[str, str] | None = None) -> str:
    """This process's federation namespace ("" = none), from the environment."""
    return load(Namespace, environ).federation_id


def _ns(federation_id: str | None) -> str:
    fed = federation() if federation_id is None else federation_id
    if fed and not FEDERATION_RE.match(fed):
        raise ValueError(f"malformed federation id {fed!r}")
    return f"{fed}." if fed else ""


def namespace_prefix(*, federation_id: str | None = None) -> str:
    """Every topic of the namespace starts with this."""
    return f"puhui.{_ns(federation_id)}"


def topic_prefix(node: str, *, federation_id: str | None = None) -> str:
    """Every topic of `node` starts with this (ACLs are granted on it)."""
    return f"{namespace_prefix(federation_id=federation_id)}{node}."


def topic_name(
    node: str, service: str, stream: str = "events", *, federation_id: str | None = None
) -> str:
    return f"{topic_prefix(node, federation_id=federation_id)}{service}.{stream}"


def group_name(group: str, *, federation_id: str | None = None) -> str:
    """The consumer group id of `group` in the namespace."""
    return f"{_ns(federation_id)}{group}"


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def topic_pattern(service: str, stream: str = "events", *, federation_id: str | None = None) -> str:
    """Regex matching this service's stream from every node of the namespace (not the
    dead-letter topics, not other namespaces)."""
    ns = re.escape(_ns(federation_id))
    return rf"^puhui\.{ns}[0-9]{{6}}\.{re.escape(service)}\.{re.escape(stream)}$"


def source_node_of(topic: str) -> str | None:
    m = TOPIC_RE.match(topic)
    return m.group("node") if m else None


def servers(bootstrap: str) -> list[str]:
    return [s.strip() for s in bootstrap.split(",") if s.strip()]


PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_SSL")
SASL_MECHANISM = "SCRAM-SHA-512"


@dataclasses.dataclass(frozen=True, kw_only=True)
class KafkaSecurity:
    """How a Kafka client authenticates and encrypts; the same for producers, consumers and
    admin clients of one process."""

    protocol: str = setting(
        "PUHUI_KAFKA_SECURITY_PROTOCOL",
        "PLAINTEXT",
        doc="Kafka transport: PLAINTEXT (local tests only), SSL (mutual TLS with the node "
        "certificate) or SASL_SSL (SCRAM-SHA-512 over TLS).",
        example="SASL_SSL",
    )
    ca_file: str = setting(
        "PUHUI_KAFKA_CA_FILE",
        "",
        doc="PEM file of the CA(s) that issued the brokers' certificates (the federation CA).",
        example="/run/secrets/kafka/ca.crt",
    )
    cert_file: str = setting(
        "PUHUI_KAFKA_CERT_FILE",
        "",
        doc="PEM client certificate chain for mutual TLS (SSL); the node certificate.",
        example="/run/secrets/kafka/node.crt",
    )
    key_file: str = setting(
        "PUHUI_KAFKA_KEY_FILE",
        "",
        doc="PEM private key of PUHUI_KAFKA_CERT_FILE.",
        example="/run/secrets/kafka/node.key",
    )
    sasl_username: str = setting(
        "PUHUI_KAFKA_SASL_USERNAME",
        "",
        doc="SCRAM-SHA-512 user of this node (SASL_SSL); one principal per node.",
        example="puhui-node-440000",
    )
    sasl_password: str = setting(
        "PUHUI_KAFKA_SASL_PASSWORD",
        "",
        doc="SCRAM-SHA-512 password (SASL_SSL); give it as PUHUI_KAFKA_SASL_PASSWORD_FILE.",
        example="(file) /run/secrets/kafka/password",
        secret=True,
    )
    check_hostname: bool = setting(
        "PUHUI_KAFKA_SSL_CHECK_HOSTNAME",
        True,
        doc="Verify that the broker certificate names the bootstrap host.",
    )

    def __repr__(self) -> str:  # never the password
        return f"KafkaSecurity(protocol={self.protocol!r}, user={self.sasl_username!r})"

    def validate(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ConfigError(
                f"configuration: PUHUI_KAFKA_SECURITY_PROTOCOL={self.protocol!r} is malformed: "
                f"expected one of {', '.join(PROTOCOLS)}"
            )
        if self.protocol == "PLAINTEXT":
            return
        if not self.ca_file:
            raise ConfigError(
                f"configuration: PUHUI_KAFKA_CA_FILE is required with {self.protocol}"
            )
        if self.protocol == "SSL" and not (self.cert_file and self.key_file):
            raise ConfigError(
                "configuration: PUHUI_KAFKA_CERT_FILE and PUHUI_KAFKA_KEY_FILE are required "
                "with SSL (mutual TLS)"
            )
        if self.protocol == "SASL_SSL" and not (self.sasl_username and self.sasl_password):
            raise ConfigError(
                "configuration: PUHUI_KAFKA_SASL_USERNAME and PUHUI_KAFKA_SASL_PASSWORD(_FILE) "
                "are required with SASL_SSL"
            )

    def client_settings(self) -> dict[str, object]:
        """kafka-python keyword arguments for this transport."""
        if self.protocol == "PLAINTEXT":
            return {"security_protocol": "PLAINTEXT"}
        settings: dict[str, object] = {
            "security_protocol": self.protocol,
            "ssl_cafile": self.ca_file,
            "ssl_check_hostname": self.check_hostname,
        }
        if self.cert_file:
            settings.update(ssl_certfile=self.cert_file, ssl_keyfile=self.key_file)
        if self.protocol == "SASL_SSL":
            settings.update(
                sasl_mechanism=SASL_MECHANISM,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password,
            )
        return settings


def java_client_properties(security: KafkaSecurity) -> dict[str, str]:
    """The same transport for a Java client (MirrorMaker 2): PEM trust store, SCRAM login.
    Mutual TLS for Java clients needs one PEM file with key and chain (ssl.keystore.type=PEM,
    ssl.keystore.location); the kit's separate files serve Python clients only."""
    props = {"security.protocol": security.protocol}
    if security.protocol == "PLAINTEXT":
        return props
    props.update({"ssl.truststore.type": "PEM", "ssl.truststore.location": security.ca_file})
    if not security.check_hostname:
        props["ssl.endpoint.identification.algorithm"] = ""
    if security.protocol == "SASL_SSL":
        user = security.sasl_username.replace("\\", "\\\\").replace('"', '\\"')
        password = security.sasl_password.replace("\\", "\\\\").replace('"', '\\"')
        props["sasl.mechanism"] = SASL_MECHANISM
        props["sasl.jaas.config"] = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{user}" password="{password}";'
        )
    return props


def security_from_env(environ: Mapping[str, str] | None = None) -> KafkaSecurity:
    return load(KafkaSecurity, environ)


def client_settings(security: KafkaSecurity | None = None) -> dict[str, object]:
    """Transport settings for a client: `security`, or the process's from the environment."""
    return (security or security_from_env()).client_settings()


def make_producer(
    bootstrap: str, client_id: str, *, security: KafkaSecurity | None = None
) -> KafkaProducer:
    """Idempotent producer, acks=all: a record is either in the log once or reported failed."""
    return KafkaProducer(
        **client_settings(security),
        bootstrap_servers=servers(bootstrap),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        max_in_flight_requests_per_connection=5,
        linger_ms=5,
        compression_type=None,
        request_timeout_ms=10_000,
        # Shorter than the relay's flush wait: once flush returns, every record is either
        # acknowledged or expired, so a retried outbox row never races a buffered copy of
        # itself (which would put the event in the log twice).
        delivery_timeout_ms=DELIVERY_TIMEOUT_MS,
        max_block_ms=10_000,
        reconnect_backoff_max_ms=2_000,
    )


def make_consumer(
    bootstrap: str,
    group: str | None,
    client_id: str,
    *,
    security: KafkaSecurity | None = None,
    **overrides: object,
) -> KafkaConsumer:
    """Manual commits only: offsets are committed after the database transaction commits."""
    config: dict[str, object] = {
        **client_settings(security),
        "bootstrap_servers": servers(bootstrap),
        "group_id": None if group is None else group_name(group),
        "client_id": client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "max_poll_records": 500,
        "metadata_max_age_ms": 5_000,  # pattern subscriptions see new nodes' topics quickly
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 3_000,
        "reconnect_backoff_max_ms": 2_000,
    }
    config.update(overrides)
    return KafkaConsumer(**config)


def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    *,
    partitions: int = 3,
    replication_factor: int = 1,
    configs: dict[str, str] | None = None,
    security: KafkaSecurity | None = None,
) -> None:
    admin = make_admin(bootstrap, security=security)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(t, partitions, replication_factor, topic_configs=configs or {})
            for t in topics
            if t not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # created concurrently
                admin.create_topics(wanted)
    finally:
        admin.close()


def make_admin(
    bootstrap: str, client_id: str = "puhui-admin", *, security: KafkaSecurity | None = None
) -> KafkaAdminClient:
    return KafkaAdminClient(
        **client_settings(security), bootstrap_servers=servers(bootstrap), client_id=client_id
    )


def set_scram_password(
    bootstrap: str, user: str, password: str, *, security: KafkaSecurity | None = None
) -> None:
    """Create or replace `user`'s SCRAM-SHA-512 credentials (needs an admin principal)."""
    from kafka.admin import UserScramCredentialUpsertion

    admin = make_admin(bootstrap, security=security)
    try:
        upsert = UserScramCredentialUpsertion(user, SASL_MECHANISM, password)
        errors = admin.alter_user_scram_credentials([upsert])
    finally:
        admin.close()
    if errors.get(user):
        raise RuntimeError(f"SCRAM credentials for {user}: {errors[user]}")


def reachable(bootstrap: str, timeout: float = 2.0) -> bool:
    """True when at least one bootstrap server accepts a TCP connection."""
    for server in servers(bootstrap):
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
                return True
        except OSError:
            continue
    return False
