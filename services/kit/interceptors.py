"""The server interceptor every service runs: tracing span, caller identity, RED metrics
and the mapping of domain errors to gRPC statuses with `google.rpc` details."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry import trace

from puhui.kit import auth, metrics, textguard, tracing
from puhui.kit.errors import InvalidArgument, PuhuiError, ResourceExhausted

logger = logging.getLogger(__name__)
ERROR_DOMAIN = "puhui.cn"


def to_status(error: PuhuiError, service: str = "") -> grpc.Status:
    """A domain error as a gRPC status with ErrorInfo (+ BadRequest / RetryInfo) details."""
    details: list[Any] = [
        error_details_pb2.ErrorInfo(
            reason=error.reason,
            domain=ERROR_DOMAIN,
            metadata={"service": service} if service else {},
        )
    ]
    if isinstance(error, InvalidArgument):
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in error.violations
                ]
            )
        )
    if isinstance(error, ResourceExhausted):
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(error.retry_after_seconds * 1000))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    status = status_pb2.Status(code=error.code.value[0], message=error.message, details=packed)
    return rpc_status.to_status(status)


def internal_status(trace_id: str) -> grpc.Status:
    info = any_pb2.Any()
    info.Pack(
        error_details_pb2.ErrorInfo(
            reason="INTERNAL", domain=ERROR_DOMAIN, metadata={"trace_id": trace_id}
        )
    )
    status = status_pb2.Status(
        code=grpc.StatusCode.INTERNAL.value[0],
        message=f"internal error; quote trace id {trace_id or '(none)'} when reporting it",
        details=[info],
    )
    return rpc_status.to_status(status)


def _peer_address(context: grpc.ServicerContext) -> str:
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]").replace("%5B", "").replace("%5D", "")
    return peer


class ServiceInterceptor(grpc.ServerInterceptor):
    """Wraps every RPC handler of our services (grpc.* system services pass through)."""

    def __init__(
        self, service: str, node: str, verifier: auth.TokenVerifier, *, telemetry: bool = True
    ) -> None:
        self.service = service
        self.node = node
        self.verifier = verifier
        self.telemetry = telemetry  # False (PUHUI_TELEMETRY=off): no spans, no RPC metrics
        # Labelled metric children, looked up once per method/code (labels() costs ~5 µs).
        # In-flight RPCs are read from the drain counter when scraped, not counted twice.
        metrics.GRPC_SERVER_IN_FLIGHT.labels(node=node, service=service).set_function(
            lambda: self.running
        )
        self._handling: dict[str, Any] = {}
        self._handled: dict[tuple[str, grpc.StatusCode], Any] = {}
        self._attributes: dict[str, dict[str, str]] = {}
        # method -> (the service's handler, our wrapper of it): built once, not per call.
        self._wrapped: dict[str, tuple[Any, Any]] = {}
        self.tracer = tracing.tracer("puhui.grpc.server")
        # Drain accounting (always on, independent of telemetry): handlers running now, and
        # handlers that finished after their RPC had been cancelled under them.
        self._lock = threading.Lock()
        self.running = 0
        self.cut_short = 0

    def _enter(self) -> None:
        with self._lock:
            self.running += 1

    def _leave(self, context: grpc.ServicerContext) -> None:
        cancelled = not context.is_active()
        with self._lock:
            self.running -= 1
            if cancelled:
                self.cut_short += 1

    def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith("/grpc."):
            return handler
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(handler, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        name = method.lstrip("/").rsplit(".", 1)[-1]  # "CatalogService/GetInstitution"
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, name),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(handler.unary_stream, name),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # client streaming: none in our APIs

    # -- shared pieces ----------------------------------------------------------------------
    def _authenticate(self, context: grpc.ServicerContext) -> auth.Principal:
        token = auth.bearer_token(context.invocation_metadata())
        address = _peer_address(context)
        if token is None:
            return auth.Principal(client_address=address)
        principal = self.verifier.verify(token)
        return dataclasses.replace(principal, client_address=address)

    def _start(self, name: str, context: grpc.ServicerContext):  # type: ignore[no-untyped-def]
        if not self.telemetry:
            return contextlib.nullcontext(trace.INVALID_SPAN)
        metadata = context.invocation_metadata()
        if not tracing.exporting() and not any(k == "traceparent" for k, _ in metadata):
            return tracing.unsampled_span()
        parent = tracing.extract_grpc_metadata(metadata)
        attributes = self._attributes.get(name)
        if attributes is None:
            service, _, rpc = name.partition("/")
            attributes = self._attributes[name] = {
                "rpc.system": "grpc",
                "rpc.service": service,
                "rpc.method": rpc,
                "puhui.node": self.node,
            }
        return self.tracer.start_as_current_span(
            name, context=parent, kind=trace.SpanKind.SERVER, attributes=attributes
        )

    def _fail(
        self, exc: BaseException, context: grpc.ServicerContext, span: trace.Span
    ) -> grpc.StatusCode:
        """Abort the RPC for `exc`; return the code (abort raises, so callers re-raise)."""
        if isinstance(exc, PuhuiError):
            span.set_attribute("rpc.grpc.status_code", exc.code.value[0])
            context.abort_with_status(to_status(exc, self.service))
        trace_id = tracing.current_trace_id()
        logger.error("unhandled error in %s (trace %s)", self.service, trace_id, exc_info=exc)
        span.record_exception(exc)
        span.set_status(trace.Status(trace.StatusCode.ERROR))
        context.abort_with_status(internal_status(trace_id))
        return grpc.StatusCode.INTERNAL  # not reached: abort raises

    def _record(self, name: str, code: grpc.StatusCode, started: float) -> None:
        if not self.telemetry:
            return
        elapsed = time.perf_counter() - started
        handled = self._handled.get((name, code))
        if handled is None:
            handled = self._handled[(name, code)] = metrics.GRPC_SERVER_HANDLED.labels(
                node=self.node, service=self.service, method=name, code=code.name
            )
        handling = self._handling.get(name)
        if handling is None:
            handling = self._handling[name] = metrics.GRPC_SERVER_HANDLING.labels(
                node=self.node, service=self.service, method=name
            )
        handled.inc()
        handling.observe(elapsed)

    @staticmethod
    def _code_of(exc: BaseException | None, context: grpc.ServicerContext) -> grpc.StatusCode:
        if isinstance(exc, PuhuiError):
            return exc.code
        code = context.code() if hasattr(context, "code") else None
        if isinstance(code, grpc.StatusCode):
            return code
        return grpc.StatusCode.OK if exc is None else grpc.StatusCode.INTERNAL

    # -- wrappers ---------------------------------------------------------------------------
    def _unary(self, behavior: Callable[[Any, grpc.ServicerContext], Any], name: str):  # type: ignore[no-untyped-def]
        def handle(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            self._enter()
            failure: BaseException | None = None
            with self._start(name, context) as span:
                token = None
                try:
                    token = auth.set_current(self._authenticate(context))
                    textguard.reject_nul(request)
                    return behavior(request, context)
                except Exception as exc:
                    failure = exc
                    if not _is_abort(exc, context):
                        self._fail(exc, context, span)
                    raise
                finally:
                    if token is not None:
                        auth.reset_current(token)
                    self._record(name, self._code_of(failure, context), started)
                    self._leave(context)

        return handle

    def _streaming(self, behavior: Callable[[Any, grpc.ServicerContext], Iterator[Any]], name: str):  # type: ignore[no-untyped-def]
        def handle(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            started = time.perf_counter()
            self._enter()
            failure: BaseException | None = None
            with self._start(name, context) as span:
                token = None
                try:
                    token = auth.set_current(self._authenticate(context))
                    textguard.reject_nul(request)
                    yield from behavior(request, context)
                except Exception as exc:
                    failure = exc
                    if not _is_abort(exc, context):
                        self._fail(exc, context, span)
                    raise
                finally:
                    if token is not None:
                        auth.reset_current(token)
                    self._record(name, self._code_of(failure, context), started)
                    self._leave(context)

        return handle


def _is_abort(exc: BaseException, context: grpc.ServicerContext) -> bool:
    """True when the handler already aborted the RPC itself (context.abort raises)."""
    if isinstance(exc, PuhuiError):
        return False
    code = context.code() if hasattr(context, "code") else None
    return isinstance(code, grpc.StatusCode) and code != grpc.StatusCode.OK
