"""Calling other services and nodes: a client interceptor that every outgoing channel wears.

For each RPC it
- sets a default deadline when the caller gave none (a call without a deadline can hang a
  worker thread forever),
- starts an OpenTelemetry CLIENT span and sends its W3C context in the metadata, so the
  server's span is its child (docs/tracing.md),
- counts the RPC in `puhui_grpc_client_handled_total` by status code and observes its
  latency in `puhui_grpc_client_handling_seconds`.

    channel = grpc_client.insecure_channel(
        "127.0.0.1:50062", node="440000", service="feedback", target_service="catalog"
    )
    stub = catalog_pb2_grpc.CatalogServiceStub(channel)

`instrument(channel, ...)` wraps a channel built elsewhere (e.g. `puhui.kit.tls`).

Every channel the kit builds carries `CHANNEL_OPTIONS`: HTTP/2 keepalive pings while calls
are open (a peer behind a NAT or a load balancer that silently dropped the connection is
found in ~40 s instead of at the next call's deadline), and a service config whose retry
policy re-sends a call that failed with UNAVAILABLE (the server was unreachable, draining,
or refused it before doing anything) up to 3 more times with exponential backoff. The
servers accept pings at that rate (`puhui.kit.server`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from opentelemetry import trace

from puhui.kit import metrics, tracing

DEFAULT_TIMEOUT_SECONDS = 10.0
KEEPALIVE_SECONDS = 30  # servers allow pings every PING_INTERVAL_FLOOR_SECONDS or more often
PING_INTERVAL_FLOOR_SECONDS = 20
SERVICE_CONFIG = {
    "methodConfig": [
        {
            "name": [{}],  # every method of every service
            "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": "0.1s",
                "maxBackoff": "2s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ]
}
CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.keepalive_time_ms", KEEPALIVE_SECONDS * 1000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 0),
    ("grpc.enable_retries", 1),
    ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
)


def channel_options(extra: Sequence[tuple[str, Any]] = ()) -> list[tuple[str, Any]]:
    """The kit's channel options, with `extra` overriding any of the same name."""
    names = {name for name, _ in extra}
    return [o for o in CHANNEL_OPTIONS if o[0] not in names] + list(extra)


@dataclass(frozen=True)
class _CallDetails(grpc.ClientCallDetails):  # type: ignore[misc]
    method: str
    timeout: float | None
    metadata: Sequence[tuple[str, str | bytes]] | None
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


def method_name(full: str) -> str:
    """'/puhui.catalog.v1.CatalogService/GetInstitution' -> 'CatalogService/GetInstitution'."""
    return full.lstrip("/").rsplit(".", 1)[-1]


class ClientInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):  # type: ignore[misc]
    def __init__(
        self,
        *,
        node: str,
        service: str,
        target_service: str,
        default_timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        telemetry: bool = True,
    ) -> None:
        self.labels = {"node": node, "service": service, "target_service": target_service}
        self.node = node
        self.default_timeout = default_timeout
        self.telemetry = telemetry
        self.tracer = tracing.tracer("puhui.grpc.client")
        self._handled: dict[tuple[str, grpc.StatusCode], Any] = {}
        self._handling: dict[str, Any] = {}

    def _details(self, details: grpc.ClientCallDetails, span: trace.Span | None) -> _CallDetails:
        metadata = list(details.metadata or ())
        if span is not None:
            ctx = trace.set_span_in_context(span)
            metadata = [m for m in metadata if m[0] not in tracing.TRACE_KEYS]
            metadata += tracing.grpc_metadata(ctx)
        timeout = details.timeout if details.timeout is not None else self.default_timeout
        return _CallDetails(
            details.method,
            timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def _span(self, name: str) -> trace.Span:
        service, _, rpc = name.partition("/")
        return self.tracer.start_span(
            name,
            kind=trace.SpanKind.CLIENT,
            attributes={
                "rpc.system": "grpc",
                "rpc.service": service,
                "rpc.method": rpc,
                "puhui.node": self.node,
                "puhui.target_service": self.labels["target_service"],
            },
        )

    def _done(self, name: str, span: trace.Span, code: grpc.StatusCode, started: float) -> None:
        elapsed = time.perf_counter() - started
        handled = self._handled.get((name, code))
        if handled is None:  # labelled children looked up once each
            handled = self._handled[(name, code)] = metrics.GRPC_CLIENT_HANDLED.labels(
                method=name, code=code.name, **self.labels
            )
        handling = self._handling.get(name)
        if handling is None:
            handling = self._handling[name] = metrics.GRPC_CLIENT_HANDLING.labels(
                method=name, **self.labels
            )
        handled.inc()
        handling.observe(elapsed)
        span.set_attribute("rpc.grpc.status_code", code.value[0])
        if code != grpc.StatusCode.OK:
            span.set_status(trace.Status(trace.StatusCode.ERROR, code.name))
        span.end()

    def intercept_unary_unary(
        self,
        continuation: Callable[..., Any],
        client_call_details: grpc.ClientCallDetails,
        request: Any,
    ) -> Any:
        if not self.telemetry:
            return continuation(self._details(client_call_details, None), request)
        name = method_name(client_call_details.method)
        span = self._span(name)
        started = time.perf_counter()
        try:
            outcome = continuation(self._details(client_call_details, span), request)
        except grpc.RpcError as exc:  # raised by some channel implementations
            code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
            self._done(name, span, code, started)
            raise
        # The outcome is also a future: record when it completes (at once for blocking calls).
        outcome.add_done_callback(lambda call: self._done(name, span, _code_of(call), started))
        return outcome

    def intercept_unary_stream(
        self,
        continuation: Callable[..., Any],
        client_call_details: grpc.ClientCallDetails,
        request: Any,
    ) -> Any:
        if not self.telemetry:
            return continuation(self._details(client_call_details, None), request)
        name = method_name(client_call_details.method)
        span = self._span(name)
        started = time.perf_counter()
        call = continuation(self._details(client_call_details, span), request)
        call.add_done_callback(lambda c: self._done(name, span, _code_of(c), started))
        return call


def _code_of(call: Any) -> grpc.StatusCode:
    try:
        code = call.code()
    except Exception:  # a cancelled future may raise instead of answering
        return grpc.StatusCode.CANCELLED
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def instrument(
    channel: grpc.Channel,
    *,
    node: str,
    service: str,
    target_service: str,
    default_timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
    telemetry: bool = True,
) -> grpc.Channel:
    """`channel` with the client interceptor (deadline, span and context, RED metrics)."""
    interceptor = ClientInterceptor(
        node=node,
        service=service,
        target_service=target_service,
        default_timeout=default_timeout,
        telemetry=telemetry,
    )
    return grpc.intercept_channel(channel, interceptor)


def insecure_channel(
    target: str,
    *,
    node: str,
    service: str,
    target_service: str,
    default_timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.Channel:
    return instrument(
        grpc.insecure_channel(target, options=channel_options(options)),
        node=node,
        service=service,
        target_service=target_service,
        default_timeout=default_timeout,
    )
