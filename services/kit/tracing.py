"""OpenTelemetry tracing: provider set-up and W3C trace-context propagation.

Context crosses gRPC in metadata (`traceparent`, `tracestate`) and Kafka in record headers
and the event envelope. The convention (docs/tracing.md): a gRPC server span is a child of
the client span; the outbox relay's PRODUCER span is a child of the context recorded in the
envelope (the span that wrote the event); a consumer's CONSUMER span is a child of the
PRODUCER span (Kafka headers), falling back to the envelope's context, and links the
envelope's context when the two differ.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterable, Mapping, MutableMapping, Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from puhui.kit import otelenv

logger = logging.getLogger(__name__)
_propagator = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None
TRACE_KEYS = ("traceparent", "tracestate")


class _Exports(SpanProcessor):
    """The provider's one export processor: one batch processor per destination, added once
    each and removable (several apps in one test process share the global provider)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, BatchSpanProcessor] = {}

    def add(self, key: str, exporter: SpanExporter) -> bool:
        with self._lock:
            if key in self._by_key:
                return False
            self._by_key[key] = BatchSpanProcessor(exporter, schedule_delay_millis=500)
            return True

    def active(self) -> bool:
        return bool(self._by_key)

    def remove(self, key: str) -> None:
        with self._lock:
            processor = self._by_key.pop(key, None)
        if processor is not None:
            processor.shutdown()

    def on_start(self, span: SdkSpan, parent_context: otel_context.Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        for processor in tuple(self._by_key.values()):
            processor.on_end(span)

    def shutdown(self) -> None:
        for key in list(self._by_key):
            self.remove(key)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(p.force_flush(timeout_millis) for p in tuple(self._by_key.values()))


_exports = _Exports()


class _WhileExporting(Sampler):
    """Record spans only while something exports them.

    With no destination configured a recorded span is built, ended and thrown away, which
    cost ~110 µs per RPC (bench/telemetry_overhead.py). Then a new trace is not sampled: its
    span is non-recording but keeps a valid trace id (error logs quote it, events carry it).
    A remote parent that was sampled upstream stays sampled, so a node without an exporter
    never breaks the trace of a node that has one. With a destination: the sampler of
    OTEL_TRACES_SAMPLER (default parentbased_always_on).
    """

    def __init__(self, exports: _Exports, sampled: Sampler) -> None:
        self._exports = exports
        self._sampled = sampled

    def should_sample(  # type: ignore[no-untyped-def]
        self,
        parent_context,
        trace_id,
        name,
        kind=None,
        attributes=None,
        links=None,
        trace_state=None,
    ) -> SamplingResult:
        if not self._exports.active():
            parent = trace.get_current_span(parent_context).get_span_context()
            if not (parent.is_valid and parent.is_remote and parent.trace_flags.sampled):
                return SamplingResult(Decision.DROP)
        return self._sampled.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"WhileExporting{{{self._sampled.get_description()}}}"


def setup(
    service: str, node: str, otlp_endpoint: str = "", exporter: SpanExporter | None = None
) -> TracerProvider:
    """Install a tracer provider once per process, configured by the SDK's standard
    environment (`puhui.kit.otelenv`); spans are exported only when a destination is
    configured (OTEL_* variables, `otlp_endpoint` from PUHUI_OTLP_ENDPOINT, or an explicit
    exporter), each destination once."""
    global _provider
    destination = otelenv.destination(otlp_endpoint) if exporter is None else None
    if _provider is None:
        _provider = TracerProvider(
            resource=otelenv.resource(service, node),
            sampler=_WhileExporting(_exports, otelenv.sampler()),
        )
        _provider.add_span_processor(_exports)
        trace.set_tracer_provider(_provider)
    if destination is not None:
        if _exports.add(destination.key, destination.exporter()):
            logger.info(
                "exporting traces (%s %s)",
                destination.protocol or destination.kind,
                destination.endpoint or "endpoint from OTEL_EXPORTER_OTLP_*",
            )
    elif exporter is not None:
        _exports.add(f"exporter:{id(exporter)}", exporter)
    return _provider


def stop_export(otlp_endpoint: str = "", exporter: SpanExporter | None = None) -> None:
    """Flush and stop exporting to a destination added by setup()."""
    if exporter is not None:
        _exports.remove(f"exporter:{id(exporter)}")
        return
    destination = otelenv.destination(otlp_endpoint)
    if destination is not None:
        _exports.remove(destination.key)


def flush(timeout_seconds: float = 5.0) -> bool:
    return _exports.force_flush(int(timeout_seconds * 1000))


def exporting() -> bool:
    """Is any span destination configured in this process?"""
    return _exports.active()


class _Unsampled:
    """Context manager: a new trace's non-recording span made current (no SDK span)."""

    __slots__ = ("_token", "span")

    def __init__(self) -> None:
        self.span = trace.NonRecordingSpan(
            trace.SpanContext(
                trace_id=random.getrandbits(128) or 1,
                span_id=random.getrandbits(64) or 1,
                is_remote=False,
            )
        )

    def __enter__(self) -> trace.Span:
        self._token = otel_context.attach(trace.set_span_in_context(self.span))
        return self.span

    def __exit__(self, *exc: object) -> None:
        otel_context.detach(self._token)


def unsampled_span() -> _Unsampled:
    """What a server span is when nothing exports and no caller sent a trace: the same
    valid trace id for logs and events that _WhileExporting would give, at a fraction of
    the cost (an RPC's budget is counted in tens of microseconds)."""
    return _Unsampled()


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def inject(ctx: otel_context.Context | None = None) -> dict[str, str]:
    """The current context (or `ctx`) as W3C headers."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=ctx)
    return carrier


def extract(carrier: Mapping[str, str]) -> otel_context.Context:
    return _propagator.extract(carrier)


def grpc_metadata(ctx: otel_context.Context | None = None) -> list[tuple[str, str]]:
    """The current context as gRPC metadata pairs."""
    return list(inject(ctx).items())


def extract_grpc_metadata(
    metadata: Iterable[tuple[str, str | bytes]] | None,
) -> otel_context.Context:
    carrier: MutableMapping[str, str] = {}
    for key, value in metadata or ():
        if key in TRACE_KEYS:
            carrier[key] = value.decode() if isinstance(value, bytes) else value
    return extract(carrier)


def kafka_headers(ctx: otel_context.Context | None = None) -> list[tuple[str, bytes]]:
    """The current context (or `ctx`) as Kafka record headers."""
    return [(k, v.encode()) for k, v in inject(ctx).items()]


def extract_kafka_headers(
    headers: Sequence[tuple[str, bytes | None]] | None,
) -> otel_context.Context:
    carrier: dict[str, str] = {}
    for key, value in headers or ():
        if key in TRACE_KEYS and value is not None:
            carrier[key] = value.decode(errors="replace")
    return extract(carrier)


def span_context_of(ctx: otel_context.Context) -> trace.SpanContext:
    return trace.get_current_span(ctx).get_span_context()


def consumer_parent(
    headers: Sequence[tuple[str, bytes | None]] | None, traceparent: str, tracestate: str = ""
) -> tuple[otel_context.Context, list[trace.Link]]:
    """Parent context and links of a CONSUMER span for one record (docs/tracing.md):
    child of the producer's span (Kafka headers) when present, else of the context in the
    envelope; a link to the envelope's context when it is not the parent."""
    from_envelope = extract({"traceparent": traceparent, "tracestate": tracestate})
    from_headers = extract_kafka_headers(headers)
    envelope_span = span_context_of(from_envelope)
    if span_context_of(from_headers).is_valid:
        links = []
        if envelope_span.is_valid and envelope_span != span_context_of(from_headers):
            links.append(trace.Link(envelope_span, {"puhui.link": "event.recorded"}))
        return from_headers, links
    return from_envelope, []


def current_trace_id() -> str:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""
