"""Telemetry by the standard: the OTEL_* environment read the SDK's way (otelenv), and the
access log of one JSON line per RPC (accesslog)."""

from __future__ import annotations

import io
import json
import logging

import grpc
import pytest
from opentelemetry.sdk.resources import SERVICE_NAME

from puhui.kit import accesslog, auth, logs, otelenv, tracing
from puhui.kit.config import ConfigError

OTEL_VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_INSECURE",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
)


@pytest.fixture
def env(monkeypatch):
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_nothing_is_exported_without_an_endpoint(env):
    assert otelenv.destination() is None
    env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317")
    env.setenv("OTEL_TRACES_EXPORTER", "none")
    assert otelenv.destination() is None
    env.setenv("OTEL_TRACES_EXPORTER", "otlp")
    env.setenv("OTEL_SDK_DISABLED", "true")
    assert otelenv.destination() is None


def test_the_standard_endpoint_wins_over_the_puhui_one(env):
    env.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://collector:4317")
    found = otelenv.destination("http://127.0.0.1:4317")
    assert found == otelenv.Destination("otlp", "grpc", "")  # the SDK reads its variable


def test_tls_follows_the_endpoint_scheme(env):
    """The complaint was 'always plaintext': https:// (and no scheme) is TLS, http:// is not."""
    env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example:4317")
    secure = otelenv.destination()
    assert secure is not None
    assert secure.exporter()._insecure is False  # type: ignore[attr-defined]
    env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    plain = otelenv.destination()
    assert plain is not None
    assert plain.exporter()._insecure is True  # type: ignore[attr-defined]


def test_http_protobuf_uses_the_http_exporter_and_its_traces_path(env):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example:4318")
    found = otelenv.destination()
    assert found is not None
    exporter = found.exporter()
    assert isinstance(exporter, OTLPSpanExporter)
    assert exporter._endpoint == "https://collector.example:4318/v1/traces"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
    ],
)
def test_an_unknown_value_names_its_variable(env, variable, value):
    env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    env.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        otelenv.destination()


def test_the_service_name_and_attributes_come_from_the_environment(env):
    env.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=from-attrs")
    assert otelenv.resource("catalog", "440000").attributes[SERVICE_NAME] == "from-attrs"
    env.setenv("OTEL_SERVICE_NAME", "catalog-gd")
    found = otelenv.resource("catalog", "440000").attributes
    assert found[SERVICE_NAME] == "catalog-gd"
    assert found["deployment.environment"] == "prod"
    assert found["puhui.node"] == "440000"


def test_the_default_service_name_is_ours(env):
    assert otelenv.resource("catalog", "440000").attributes[SERVICE_NAME] == "puhui-catalog"


def test_the_sampler_is_the_standard_one(env):
    env.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    env.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    assert "0.25" in otelenv.sampler().get_description()
    env.setenv("OTEL_TRACES_SAMPLER_ARG", "2")
    with pytest.raises(ConfigError, match="OTEL_TRACES_SAMPLER_ARG"):
        otelenv.sampler()
    env.setenv("OTEL_TRACES_SAMPLER", "sometimes")
    with pytest.raises(ConfigError, match="OTEL_TRACES_SAMPLER"):
        otelenv.sampler()


# -- access log ----------------------------------------------------------------------------
class _Context:
    def peer(self) -> str:
        return "ipv4:10.0.0.7:51234"


@pytest.fixture
def lines():
    stream = io.StringIO()
    logs.configure("catalog", "440000", "INFO", stream=stream)
    root = logging.getLogger()
    try:
        yield lambda: [
            json.loads(line)
            for line in stream.getvalue().splitlines()
            if json.loads(line)["logger"] == "puhui.access"
        ]
    finally:
        for handler in [h for h in root.handlers if getattr(h, "_puhui", False)]:
            root.removeHandler(handler)


PERSON = auth.Principal(subject="p-123", issuer="https://id.440000.puhui.cn")


def test_one_line_per_rpc_with_a_hashed_principal(lines):
    log = accesslog.AccessLog("data", "440000", key=b"k1")
    tracing.setup("data", "440000")
    token = auth.set_current(PERSON)
    try:
        with tracing.unsampled_span() as span:
            log.record("DataService/GetPatent", grpc.StatusCode.NOT_FOUND, 0.0123, _Context())
    finally:
        auth.reset_current(token)
    (line,) = lines()
    assert line["service"] == "data"
    assert line["rpc_method"] == "DataService/GetPatent"
    assert line["rpc_code"] == "NOT_FOUND"
    assert line["duration_ms"] == 12.3
    assert line["peer"] == "10.0.0.7:51234"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["principal"] == log.principal_hash(PERSON)
    assert "p-123" not in json.dumps(line)


def test_the_principal_hash_is_stable_per_key_and_empty_when_anonymous():
    one, same, other = (accesslog.AccessLog("data", "440000", key=k) for k in (b"a", b"a", b"b"))
    assert one.principal_hash(PERSON) == same.principal_hash(PERSON)
    assert one.principal_hash(PERSON) != other.principal_hash(PERSON)
    assert one.principal_hash(auth.ANONYMOUS) == ""


def test_sampling_keeps_by_trace_id_and_always_keeps_failures():
    log = accesslog.AccessLog("data", "440000", sample=0.5)
    low, high = "0" * 16 + "1" * 16, "0" * 16 + "f" * 16
    assert log.kept(low, grpc.StatusCode.OK)
    assert not log.kept(high, grpc.StatusCode.OK)
    assert log.kept(high, grpc.StatusCode.INTERNAL)
    none = accesslog.AccessLog("data", "440000", sample=0.0)
    assert not none.kept(low, grpc.StatusCode.OK)
    assert none.kept(low, grpc.StatusCode.UNAVAILABLE)
    with pytest.raises(ValueError, match="sample"):
        accesslog.AccessLog("data", "440000", sample=1.5)
