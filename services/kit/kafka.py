"""The one module that knows kafka-python (docs/adr/0005).

Topic names carry the source node: `puhui.<node>.<service>.<stream>`; dead letters go to
`<topic>.dlq`. The hub subscribes by pattern; MirrorMaker 2 with the identity replication
policy copies a province's topics to the hub's cluster without renaming them.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
from collections.abc import Iterable

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

logger = logging.getLogger(__name__)

TOPIC_RE = re.compile(r"^puhui\.(?P<node>\d{6})\.(?P<service>[a-z]+)\.(?P<stream>[a-z0-9_.-]+)$")


DELIVERY_TIMEOUT_MS = 12_000


def topic_name(node: str, service: str, stream: str = "events") -> str:
    return f"puhui.{node}.{service}.{stream}"


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def topic_pattern(service: str, stream: str = "events") -> str:
    """Regex matching this service's stream from every node (not the dead-letter topics)."""
    return rf"^puhui\.[0-9]{{6}}\.{re.escape(service)}\.{re.escape(stream)}$"


def source_node_of(topic: str) -> str | None:
    m = TOPIC_RE.match(topic)
    return m.group("node") if m else None


def servers(bootstrap: str) -> list[str]:
    return [s.strip() for s in bootstrap.split(",") if s.strip()]


def make_producer(bootstrap: str, client_id: str) -> KafkaProducer:
    """Idempotent producer, acks=all: a record is either in the log once or reported failed."""
    return KafkaProducer(
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


def make_consumer(bootstrap: str, group: str, client_id: str, **overrides: object) -> KafkaConsumer:
    """Manual commits only: offsets are committed after the database transaction commits."""
    config: dict[str, object] = {
        "bootstrap_servers": servers(bootstrap),
        "group_id": group,
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
) -> None:
    admin = KafkaAdminClient(bootstrap_servers=servers(bootstrap), client_id="puhui-admin")
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
