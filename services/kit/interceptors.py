"""The server interceptor every service runs: tracing span, caller identity, RED metrics
and the mapping of domain errors to gRPC statuses with `google.rpc` details."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry import trace

from puhui.kit import accesslog, auth, metrics, proxies, tracing, validation
from puhui.kit.admission import Admission, Route
from puhui.kit.errors import (
    MAX_REPORTED_VIOLATIONS,
    FieldViolation,
    InvalidArgument,
    MalformedRequest,
    PuhuiError,
    ResourceExhausted,
)
from puhui.kit.policy import Policy, Rule, enforce

logger = logging.getLogger(__name__)
ERROR_DOMAIN = "puhui.cn"


# A status travels in trailers, and a client refuses metadata past 8 KiB (soft limit; 16 KiB
# hard): grpc-message is percent-encoded (a CJK character takes 9 bytes) and the details
# are base64. Texts are bounded in UTF-8 bytes and the field violations to a byte budget.
MAX_MESSAGE_BYTES = 600
MAX_FIELD_BYTES = 100
MAX_DESCRIPTION_BYTES = 200
MAX_VIOLATION_BYTES = 2_400


def _bounded(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes (on a character boundary, marked '…')."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode(errors="ignore") + "…"


def _bad_request(error: InvalidArgument) -> error_details_pb2.BadRequest:
    bad = error_details_pb2.BadRequest()
    used = 0
    for v in error.violations[:MAX_REPORTED_VIOLATIONS]:
        item = error_details_pb2.BadRequest.FieldViolation(
            field=_bounded(v.field, MAX_FIELD_BYTES),
            description=_bounded(v.description, MAX_DESCRIPTION_BYTES),
        )
        used += item.ByteSize() + 3
        if used > MAX_VIOLATION_BYTES:
            break
        bad.field_violations.append(item)
    return bad


def to_status(error: PuhuiError, service: str = "") -> grpc.Status:
    """A domain error as a gRPC status with ErrorInfo (+ BadRequest / RetryInfo) details.

    At most MAX_REPORTED_VIOLATIONS field violations (within a byte budget) are sent;
    ErrorInfo's metadata `violations` gives the total when some were left out."""
    metadata = {"service": service} if service else {}
    bad = None
    if isinstance(error, InvalidArgument):
        bad = _bad_request(error)
        if len(bad.field_violations) < len(error.violations):
            metadata["violations"] = str(len(error.violations))
    details: list[Any] = [
        error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata=metadata)
    ]
    if bad is not None:
        details.append(bad)
    if isinstance(error, ResourceExhausted):
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(error.retry_after_seconds * 1000))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    status = status_pb2.Status(
        code=error.code.value[0],
        message=_bounded(error.message, MAX_MESSAGE_BYTES),
        details=packed,
    )
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


class _Undecodable:
    """What the request deserializer hands the handler for bytes that are not the RPC's
    message: grpcio would otherwise answer INTERNAL outside the interceptor (no ErrorInfo,
    not counted, a traceback logged)."""

    __slots__ = ("message_type",)

    def __init__(self, message_type: str) -> None:
        self.message_type = message_type


def _decoding(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None
    owner = getattr(deserializer, "__self__", None)  # Message.FromString is a classmethod
    name = getattr(getattr(owner, "DESCRIPTOR", None), "full_name", "message")

    def decode(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except Exception:  # DecodeError, or whatever a foreign deserializer raises
            return _Undecodable(name)

    return decode


def _peer_address(context: grpc.ServicerContext) -> str:
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]").replace("%5B", "").replace("%5D", "")
    return peer


class ServiceInterceptor(grpc.ServerInterceptor):
    """Wraps every RPC handler of our services (grpc.* system services pass through) and,
    given an `admission`, routes every call into its lane or refuses it there and then
    (`puhui.kit.admission`)."""

    def __init__(
        self,
        service: str,
        node: str,
        verifier: auth.TokenVerifier,
        *,
        telemetry: bool = True,
        policy: Policy | None = None,
        trusted_proxies: Sequence[str] = (),
        access_log: accesslog.AccessLog | None = None,
        admission: Admission | None = None,
    ) -> None:
        self.service = service
        self.node = node
        self.verifier = verifier
        # The declared access policy (None: no RPC is governed, as in the kit's own tests).
        self.policy = policy
        self.trusted_proxies = proxies.parse_networks(trusted_proxies)
        self.telemetry = telemetry  # False (PUHUI_TELEMETRY=off): no spans, no RPC metrics
        self.access_log = access_log or accesslog.AccessLog(service, node)
        # Labelled metric children, looked up once per method/code (labels() costs ~5 µs).
        # In-flight RPCs are read from the drain counter when scraped, not counted twice.
        metrics.GRPC_SERVER_IN_FLIGHT.labels(node=node, service=service).set_function(
            lambda: self.running
        )
        self._handling: dict[str, Any] = {}
        self._handled: dict[tuple[str, grpc.StatusCode], Any] = {}
        self._attributes: dict[str, dict[str, str]] = {}
        # method -> its route (the service's handler, our wrapper of it, its lane): built
        # once, not per call.
        self.admission = admission
        self._routes: dict[str, Route] = {}
        self._expired = metrics.GRPC_SERVER_EXPIRED.labels(node=node, service=service)
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
        # Runs on grpcio's server thread as each call arrives, before it goes to a pool.
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        route = self._routes.get(method)
        if route is None or route.original is not handler:
            route = self._routes[method] = self._route(handler, method)
        return route.pick()

    def _route(self, handler: grpc.RpcMethodHandler, method: str) -> Route:
        wrapped = handler if method.startswith("/grpc.") else self._wrap(handler, method)
        if self.admission is None:
            return Route(handler, wrapped)
        return self.admission.route(method, handler, wrapped)

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        name = method.lstrip("/").rsplit(".", 1)[-1]  # "CatalogService/GetInstitution"
        rule = self.policy.rule(method) if self.policy is not None else None
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, name, rule),
                request_deserializer=_decoding(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(handler.unary_stream, name, rule),
                request_deserializer=_decoding(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return handler  # client streaming: none in our APIs

    # -- shared pieces ----------------------------------------------------------------------
    def _authenticate(self, context: grpc.ServicerContext) -> auth.Principal:
        metadata = context.invocation_metadata()
        token = auth.bearer_token(metadata)
        address = proxies.client_address(_peer_address(context), metadata, self.trusted_proxies)
        if token is None:
            return auth.Principal(client_address=address)
        principal = self.verifier.verify(token)
        return dataclasses.replace(principal, client_address=address)

    def _authorise(self, rule: Rule | None, principal: auth.Principal) -> None:
        """The declared policy, right after authentication and before any validation
        (`rule`: the method's row, looked up once when the handler was wrapped)."""
        if rule is not None:
            enforce(rule, principal, self.node)

    @staticmethod
    def _validate(request: Any) -> None:
        """Refuse a request that did not decode or has fields no handler can use (after
        authentication, so an anonymous caller learns nothing more than a bad request)."""
        if isinstance(request, _Undecodable):
            raise MalformedRequest(
                [FieldViolation("", f"the request is not a {request.message_type} message")]
            )
        if isinstance(request, Message):
            validation.check_request(request)

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

    def _record(
        self, name: str, code: grpc.StatusCode, started: float, context: grpc.ServicerContext
    ) -> None:
        elapsed = time.perf_counter() - started
        self.access_log.record(name, code, elapsed, context)
        if not self.telemetry:
            return
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
    def _unary(  # type: ignore[no-untyped-def]
        self, behavior: Callable[[Any, grpc.ServicerContext], Any], name: str, rule: Rule | None
    ):
        def handle(request: Any, context: grpc.ServicerContext) -> Any:
            if context.time_remaining() <= 0:  # the caller gave up while it waited
                self._expired.inc()
                context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline passed in the queue")
            started = time.perf_counter()
            self._enter()
            failure: BaseException | None = None
            with self._start(name, context) as span:
                token = None
                try:
                    principal = self._authenticate(context)
                    token = auth.set_current(principal)
                    self._authorise(rule, principal)
                    self._validate(request)
                    return behavior(request, context)
                except Exception as exc:
                    failure = exc
                    if not _is_abort(exc, context):
                        self._fail(exc, context, span)
                    raise
                finally:
                    self._record(name, self._code_of(failure, context), started, context)
                    if token is not None:
                        auth.reset_current(token)
                    self._leave(context)

        return handle

    def _streaming(  # type: ignore[no-untyped-def]
        self,
        behavior: Callable[[Any, grpc.ServicerContext], Iterator[Any]],
        name: str,
        rule: Rule | None,
    ):
        def handle(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            started = time.perf_counter()
            self._enter()
            failure: BaseException | None = None
            with self._start(name, context) as span:
                token = None
                try:
                    principal = self._authenticate(context)
                    token = auth.set_current(principal)
                    self._authorise(rule, principal)
                    self._validate(request)
                    yield from behavior(request, context)
                except Exception as exc:
                    failure = exc
                    if not _is_abort(exc, context):
                        self._fail(exc, context, span)
                    raise
                finally:
                    self._record(name, self._code_of(failure, context), started, context)
                    if token is not None:
                        auth.reset_current(token)
                    self._leave(context)

        return handle


def _is_abort(exc: BaseException, context: grpc.ServicerContext) -> bool:
    """True when the handler already aborted the RPC itself (context.abort raises)."""
    if isinstance(exc, PuhuiError):
        return False
    code = context.code() if hasattr(context, "code") else None
    return isinstance(code, grpc.StatusCode) and code != grpc.StatusCode.OK
