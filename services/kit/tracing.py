"""OpenTelemetry tracing: provider set-up and W3C trace-context propagation.

Context crosses gRPC in metadata (`traceparent`, `tracestate`) and Kafka in record headers
and the event envelope. Consumer spans are children of the producing span's context
carried in the envelope (docs/adr/0010).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, MutableMapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

logger = logging.getLogger(__name__)
_propagator = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None


def setup(
    service: str, node: str, otlp_endpoint: str = "", exporter: SpanExporter | None = None
) -> TracerProvider:
    """Install a tracer provider once per process; spans are exported only when configured."""
    global _provider
    if _provider is None:
        resource = Resource.create({"service.name": f"puhui-{service}", "puhui.node": node})
        _provider = TracerProvider(resource=resource)
        trace.set_tracer_provider(_provider)
    if exporter is None and otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_endpoint, insecure=True)
    if exporter is not None:
        _provider.add_span_processor(BatchSpanProcessor(exporter))
    return _provider


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def inject() -> dict[str, str]:
    """The current context as W3C headers."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


def extract(carrier: Mapping[str, str]) -> otel_context.Context:
    return _propagator.extract(carrier)


def extract_grpc_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> otel_context.Context:
    carrier: MutableMapping[str, str] = {}
    for key, value in metadata or ():
        if key in ("traceparent", "tracestate"):
            carrier[key] = value.decode() if isinstance(value, bytes) else value
    return extract(carrier)


def current_trace_id() -> str:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""
