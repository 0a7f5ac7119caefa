"""Kafka transport settings from the environment, the federation namespace of topic and group
names, and the ACLs a node gets (docs/adr/0022)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kafka.admin import ACLOperation, ACLResourcePatternType, ResourceType

from puhui.kit import kafka, kafka_acl
from puhui.kit.config import ConfigError


def test_plaintext_is_the_default() -> None:
    assert kafka.security_from_env({}).client_settings() == {"security_protocol": "PLAINTEXT"}


def test_sasl_ssl_reads_the_password_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    security = kafka.security_from_env(
        {
            "PUHUI_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "PUHUI_KAFKA_CA_FILE": "/ca.crt",
            "PUHUI_KAFKA_SASL_USERNAME": "puhui-node-440000",
            "PUHUI_KAFKA_SASL_PASSWORD_FILE": str(secret),
        }
    )
    settings = security.client_settings()
    assert settings["sasl_mechanism"] == "SCRAM-SHA-512"
    assert settings["sasl_plain_password"] == "s3cret"
    assert settings["ssl_cafile"] == "/ca.crt"
    assert "s3cret" not in repr(security)
    java = kafka.java_client_properties(security)
    assert java["security.protocol"] == "SASL_SSL"
    assert 'username="puhui-node-440000" password="s3cret";' in java["sasl.jaas.config"]


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"PUHUI_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "PUHUI_KAFKA_SECURITY_PROTOCOL"),
        ({"PUHUI_KAFKA_SECURITY_PROTOCOL": "SSL"}, "PUHUI_KAFKA_CA_FILE"),
        (
            {"PUHUI_KAFKA_SECURITY_PROTOCOL": "SSL", "PUHUI_KAFKA_CA_FILE": "/ca"},
            "PUHUI_KAFKA_CERT_FILE",
        ),
        (
            {"PUHUI_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "PUHUI_KAFKA_CA_FILE": "/ca"},
            "PUHUI_KAFKA_SASL_USERNAME",
        ),
    ],
)
def test_incomplete_settings_name_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        kafka.security_from_env(environ)


@pytest.mark.parametrize("federation", ["9lives", "Upper", "has.dot", "x" * 33])
def test_a_malformed_federation_id_is_refused(federation: str) -> None:
    with pytest.raises(ConfigError, match="PUHUI_FEDERATION_ID"):
        kafka.federation({"PUHUI_FEDERATION_ID": federation})


def test_a_namespace_separates_topics_patterns_and_groups() -> None:
    ours = kafka.topic_name("440000", "catalog", federation_id="fed-a")
    theirs = kafka.topic_name("440000", "catalog", federation_id="fed-b")
    legacy = kafka.topic_name("440000", "catalog", federation_id="")
    assert ours == "puhui.fed-a.440000.catalog.events"
    assert legacy == "puhui.440000.catalog.events"
    pattern = re.compile(kafka.topic_pattern("catalog", federation_id="fed-a"))
    assert pattern.match(ours)
    assert not pattern.match(theirs)
    assert not pattern.match(legacy)
    assert not re.match(kafka.topic_pattern("catalog", federation_id=""), ours)
    assert kafka.source_node_of(ours) == kafka.source_node_of(legacy) == "440000"
    assert kafka.group_name("puhui-440000-feedback", federation_id="fed-a") == (
        "fed-a.puhui-440000-feedback"
    )


def test_the_namespace_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUHUI_FEDERATION_ID", "fed-c")
    assert kafka.topic_name("000000", "federation", "keys") == (
        "puhui.fed-c.000000.federation.keys"
    )


def test_a_province_writes_only_its_prefix_and_reads_what_it_consumes() -> None:
    acls = kafka_acl.node_acls("440000", federation_id="fed-a")
    assert {a.principal for a in acls} == {"User:puhui-node-440000"}
    writes = {
        (a.resource_pattern.resource_name, a.resource_pattern.pattern_type)
        for a in acls
        if a.operation == ACLOperation.WRITE
    }
    assert writes == {("puhui.fed-a.440000.", ACLResourcePatternType.PREFIXED)}
    reads = {
        a.resource_pattern.resource_name
        for a in acls
        if a.operation == ACLOperation.READ
        and a.resource_pattern.resource_type == ResourceType.TOPIC
    }
    assert reads == {
        "puhui.fed-a.440000.",
        "puhui.fed-a.000000.data.",
        "puhui.fed-a.000000.identity.revocations",
        "puhui.fed-a.000000.federation.keys",
    }


def test_the_hub_reads_its_whole_namespace() -> None:
    acls = kafka_acl.node_acls("000000", federation_id="fed-a")
    reads = {
        a.resource_pattern.resource_name
        for a in acls
        if a.operation == ACLOperation.READ
        and a.resource_pattern.resource_type == ResourceType.TOPIC
    }
    assert "puhui.fed-a." in reads
