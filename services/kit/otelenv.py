"""The OpenTelemetry SDK's standard environment, read the standard way (ADR 0017).

Every variable is the specification's (opentelemetry.io/docs/specs/otel/configuration/
sdk-environment-variables/, /protocol/exporter/), and where the SDK reads one itself (the
exporter's endpoint, headers, certificates, timeout, compression; the resource's attributes
and service name; the sampler) we let it, rather than re-implement the rules:

- `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: where spans go. An
  `https://` endpoint is TLS (`OTEL_EXPORTER_OTLP_CERTIFICATE`, `..._CLIENT_KEY`,
  `..._CLIENT_CERTIFICATE`), `http://` plaintext; without a scheme `OTEL_EXPORTER_OTLP_INSECURE`
  decides (default: TLS). No endpoint and no `OTEL_TRACES_EXPORTER=otlp`: nothing exported.
- `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`: `grpc` (default here) or `http/protobuf`.
- `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`, `..._TIMEOUT`, `..._COMPRESSION`.
- `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`: the resource (default service name
  `puhui-<service>`).
- `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`.
- `OTEL_TRACES_EXPORTER` (`otlp`, `console` or `none`), `OTEL_SDK_DISABLED`.

A value the SDK would only warn about (an unknown protocol, sampler or exporter) stops the
process with a message naming the variable, like every other setting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import sampling
from opentelemetry.sdk.trace.export import SpanExporter

from puhui.kit.config import ConfigError

PROTOCOLS = ("grpc", "http/protobuf")
EXPORTERS = ("otlp", "console", "none")


def _get(environ: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return value
    return ""


@dataclass(frozen=True)
class Destination:
    """Where this process's spans go: `kind` is otlp or console; `key` identifies it."""

    kind: str
    protocol: str = ""
    endpoint: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.protocol}:{self.endpoint}"

    def exporter(self) -> SpanExporter:
        """The SDK's exporter, which reads headers, TLS files, timeout and compression from
        the environment itself."""
        if self.kind == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            return ConsoleSpanExporter()
        endpoint = self.endpoint or None  # None: the SDK's own variables (or its default)
        if self.protocol == "http/protobuf":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter as HttpExporter,
            )

            return HttpExporter(endpoint=endpoint)
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=endpoint)


def destination(
    fallback_endpoint: str = "", environ: Mapping[str, str] | None = None
) -> Destination | None:
    """The span destination the environment configures, or None (nothing exported).
    `fallback_endpoint` (PUHUI_OTLP_ENDPOINT) is used only when no OTEL_* endpoint is set."""
    env = os.environ if environ is None else environ
    if _get(env, "OTEL_SDK_DISABLED").lower() == "true":
        return None
    kind = _get(env, "OTEL_TRACES_EXPORTER").lower()
    if kind and kind not in EXPORTERS:
        raise ConfigError(
            f"configuration: OTEL_TRACES_EXPORTER has {kind!r}, expected one of "
            + ", ".join(EXPORTERS)
        )
    if kind == "none":
        return None
    if kind == "console":
        return Destination("console")
    protocol = _get(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol and protocol not in PROTOCOLS:
        raise ConfigError(
            f"configuration: OTEL_EXPORTER_OTLP_PROTOCOL has {protocol!r}, expected one of "
            + ", ".join(PROTOCOLS)
        )
    configured = _get(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
    if configured:
        # The SDK reads its own variable (and adds /v1/traces to a base http endpoint).
        return Destination("otlp", protocol or "grpc", "")
    if fallback_endpoint:
        return Destination("otlp", protocol or "grpc", fallback_endpoint)
    if kind == "otlp":  # asked for explicitly: the SDK's default endpoint
        return Destination("otlp", protocol or "grpc", "")
    return None


def resource(service: str, node: str) -> Resource:
    """The SDK's resource (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME) plus the node id;
    `puhui-<service>` only when neither variable names the service."""
    found = Resource.create({"puhui.node": node, "puhui.service": service})
    name = str(found.attributes.get(SERVICE_NAME, ""))
    if not name or name.startswith("unknown_service"):
        found = found.merge(Resource({SERVICE_NAME: f"puhui-{service}"}))
    return found


def sampler() -> sampling.Sampler:
    """The sampler OTEL_TRACES_SAMPLER / _ARG name (default parentbased_always_on)."""
    env = os.environ
    name = _get(env, "OTEL_TRACES_SAMPLER").lower()
    if name and name not in sampling._KNOWN_SAMPLERS:
        raise ConfigError(
            f"configuration: OTEL_TRACES_SAMPLER has {name!r}, expected one of "
            + ", ".join(sorted(sampling._KNOWN_SAMPLERS))
        )
    arg = _get(env, "OTEL_TRACES_SAMPLER_ARG")
    if name.endswith("traceidratio") and arg:
        try:
            ratio = float(arg)
        except ValueError:
            ratio = -1.0
        if not 0.0 <= ratio <= 1.0:
            raise ConfigError(
                f"configuration: OTEL_TRACES_SAMPLER_ARG has {arg!r}, expected a ratio in [0, 1]"
            )
    return sampling._get_from_env_or_default()
