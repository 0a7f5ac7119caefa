"""Kafka over SASL_SSL and mutual TLS against a real secured broker (an extra cluster of this
test module; the shared plaintext broker is not touched): who is refused, and what each
node's ACLs let it write and read (docs/adr/0022)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.errors import KafkaError, TopicAuthorizationFailedError
from kafka.structs import TopicPartition

from puhui.kit import kafka, kafka_acl, tls
from puhui.kit.kafka_testing import SecuredCluster, secured_cluster
from puhui.kit.testing import free_port, load_infra

pytestmark = pytest.mark.integration

FED = f"t{secrets.token_hex(3)}"
GD, XJ, HUB = "440000", "650000", "000000"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredCluster]:
    with secured_cluster(Path(tmp_path_factory.mktemp("secured-kafka"))) as c:
        admin = c.admin()
        topics = [kafka.topic_name(n, "kittest", federation_id=FED) for n in (GD, XJ, HUB)]
        kafka.ensure_topics(c.sasl_ssl, topics, security=admin)
        for node in (GD, XJ, HUB):
            kafka_acl.grant_node(c.sasl_ssl, node, security=admin, federation_id=FED)
        yield c


def produce(bootstrap: str, security: kafka.KafkaSecurity, topic: str) -> None:
    producer = kafka.make_producer(bootstrap, "kittest", security=security)
    try:
        producer.send(topic, b"x").get(timeout=15)
    finally:
        producer.close(timeout=5)


def refused(bootstrap: str, security: kafka.KafkaSecurity) -> KafkaError:
    topic = kafka.topic_name(GD, "kittest", federation_id=FED)
    with pytest.raises(KafkaError) as caught:
        produce(bootstrap, security, topic)
    return caught.value


def read_one(bootstrap: str, security: kafka.KafkaSecurity, topic: str) -> bytes | None:
    """The first record found in the topic; None when there is none yet or the broker never
    serves it (kafka-python logs the authorisation error of an assigned partition and polls
    on)."""
    consumer = kafka.make_consumer(bootstrap, None, "kittest", security=security)
    try:
        tps = [TopicPartition(topic, p) for p in range(3)]  # ensure_topics' partition count
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        for _ in range(10):
            for records in consumer.poll(timeout_ms=500).values():
                return bytes(records[0].value)
        return None
    finally:
        consumer.close()


def test_clients_without_valid_credentials_are_refused(cluster: SecuredCluster) -> None:
    plaintext = kafka.KafkaSecurity()
    refused(cluster.sasl_ssl, plaintext)  # no TLS, no SASL on the SASL_SSL port
    wrong = cluster.scram(kafka_acl.NODE_PRINCIPAL_PREFIX + GD, "not-the-password")
    refused(cluster.sasl_ssl, wrong)
    no_cert = kafka.KafkaSecurity(protocol="SSL", ca_file=str(cluster.ca_file))
    refused(cluster.ssl, no_cert)  # mutual TLS: a client certificate is required


def test_a_certificate_from_a_foreign_ca_is_refused(cluster: SecuredCluster) -> None:
    foreign = tls.create_ca("Someone else's CA")
    refused(cluster.ssl, cluster.mtls(GD, ca=foreign))


@pytest.mark.parametrize("transport", ["mtls", "scram"])
def test_a_province_writes_its_own_topics_only(cluster: SecuredCluster, transport: str) -> None:
    if transport == "mtls":
        bootstrap, gd = cluster.ssl, cluster.mtls(GD)
    else:
        bootstrap = cluster.sasl_ssl
        gd = cluster.add_scram_user(kafka_acl.NODE_PRINCIPAL_PREFIX + GD)
    produce(bootstrap, gd, kafka.topic_name(GD, "kittest", federation_id=FED))
    for other in (XJ, HUB):
        with pytest.raises(TopicAuthorizationFailedError):
            produce(bootstrap, gd, kafka.topic_name(other, "kittest", federation_id=FED))


def test_another_provinces_credentials_do_not_read_a_province(cluster: SecuredCluster) -> None:
    topic = kafka.topic_name(GD, "kittest", federation_id=FED)
    produce(cluster.ssl, cluster.mtls(GD), topic)
    assert read_one(cluster.ssl, cluster.mtls(XJ), topic) is None
    assert read_one(cluster.ssl, cluster.mtls(HUB), topic) == b"x"  # the hub reads all


def test_removing_a_node_deletes_its_acls(cluster: SecuredCluster) -> None:
    node = "310000"
    topic = kafka.topic_name(node, "kittest", federation_id=FED)
    kafka.ensure_topics(cluster.sasl_ssl, [topic], security=cluster.admin())
    granted = kafka_acl.grant_node(
        cluster.sasl_ssl, node, security=cluster.admin(), federation_id=FED
    )
    sh = cluster.mtls(node)
    produce(cluster.ssl, sh, topic)
    assert kafka_acl.revoke_node(cluster.sasl_ssl, node, security=cluster.admin()) == granted
    with pytest.raises(TopicAuthorizationFailedError):
        produce(cluster.ssl, sh, topic)


def test_mirror_maker_2_replicates_from_a_secured_cluster(
    cluster: SecuredCluster, tmp_path: Path
) -> None:
    infra = load_infra()
    topic = kafka.topic_name(GD, "kittest", "mirrored", federation_id=FED)
    kafka.ensure_topics(cluster.sasl_ssl, [topic], security=cluster.admin())
    produce(cluster.sasl_ssl, cluster.admin(), topic)
    target = infra.start_kafka(tmp_path / "target", free_port(), free_port())
    try:
        clients = {"A": kafka.java_client_properties(cluster.admin())}
        mm2 = infra.start_mirror_maker(
            tmp_path / "mm2", cluster.sasl_ssl, target.address, re.escape(topic), clients=clients
        )
        try:
            deadline = time.monotonic() + 180
            while (got := read_one(target.address, kafka.KafkaSecurity(), topic)) is None:
                assert time.monotonic() < deadline, "nothing mirrored from the secured cluster"
            assert got == b"x"
        finally:
            mm2.stop()
    finally:
        target.stop()
