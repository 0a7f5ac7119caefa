"""Admission of RPCs to the gRPC server's worker pools: a server can never be starved.

grpcio's synchronous server runs an RPC on one pool thread for the RPC's whole life: a server
stream holds its thread until its last message is sent (forever when the client stops
reading and set no deadline), a reflection stream for as long as grpcurl keeps it open. In
one shared pool a handful of them left unary calls and health waiting past their deadlines
(issue 16). So each call is classified when it arrives, on grpcio's server thread (server
interceptors run there, before the call is handed to a pool), into a lane of its own:

- ``health``: grpc.health.v1 Check and every refusal; never full, so health always answers;
- ``unary``: PUHUI_GRPC_WORKERS threads, at most PUHUI_GRPC_QUEUE calls waiting for them and
  no more than PUHUI_GRPC_QUEUE_WAIT_MS of work queued at the recent mean call time;
- ``stream``: our server streams, PUHUI_GRPC_STREAM_WORKERS threads, none waiting;
- ``reflection``: server reflection, PUHUI_GRPC_REFLECTION_WORKERS threads, none waiting.

A call that finds its lane full is refused at once, from the health lane: RESOURCE_EXHAUSTED
with ErrorInfo (WORKERS_EXHAUSTED, STREAMS_EXHAUSTED) and RetryInfo. grpcio runs a handler on
the pool its behaviour names in ``experimental_thread_pool`` (grpc/_server.py,
``_select_thread_pool_for_behavior``); health Watch keeps its own non-blocking pool.

A stream that sends and receives nothing for PUHUI_GRPC_STREAM_IDLE_SECONDS is cancelled by a
watcher thread with ``context.cancel()`` (grpc.RpcContext), which also wakes a worker blocked
sending to a client that stopped reading: its thread goes back to the lane.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import types
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc

from puhui.kit import metrics
from puhui.kit.config import ServiceConfig
from puhui.kit.errors import ResourceExhausted, StreamsExhausted, WorkersExhausted

logger = logging.getLogger(__name__)

UNARY, STREAM, REFLECTION, HEALTH = "unary", "stream", "reflection", "health"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
REFLECTION_PREFIX = "/grpc.reflection."
# How long a refused caller is told to wait: a unary worker frees up within milliseconds, a
# stream's within seconds to minutes.
RETRY_AFTER_SECONDS = {UNARY: 1.0, STREAM: 10.0, REFLECTION: 2.0}


class Lane(futures.ThreadPoolExecutor):
    """One worker pool of the server, counting the calls submitted to it and not finished
    (running or waiting); `capacity` None: never full. Calls waiting for a free thread are
    counted in `queued` (puhui_grpc_server_queued_requests).

    With `max_wait` (seconds), the lane is also full when the calls already waiting would
    take longer than that to clear at the recent mean call time (`mean_seconds`, a moving
    average over about the last 20 calls): slow calls shorten the queue."""

    def __init__(
        self,
        name: str,
        workers: int,
        queue: int | None,
        *,
        service: str,
        queued: Any,
        max_wait: float = 0.0,
    ) -> None:
        super().__init__(max_workers=workers, thread_name_prefix=f"{service}-{name}")
        self.name = name
        self.workers = workers
        self.capacity = None if queue is None else workers + queue
        self.max_wait = max_wait
        self.mean_seconds = 0.0
        self.calls = 0
        self._count = threading.Lock()
        self._queued = queued

    def has_room(self) -> bool:
        capacity = self.capacity
        if capacity is None:
            return True
        calls = self.calls
        if calls >= capacity:
            return False
        waiting = calls - self.workers  # ahead of this call, beyond the busy workers
        if waiting < 0 or not self.max_wait:
            return True
        return (waiting + 1) * self.mean_seconds <= self.max_wait * self.workers

    def _done(self) -> None:
        with self._count:
            self.calls -= 1

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> futures.Future[Any]:
        queued = self._queued
        with self._count:
            self.calls += 1
        queued.inc()

        def run() -> Any:
            queued.dec()
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._done()
                # Unlocked: a lost update among racing workers only slows the average.
                elapsed = time.perf_counter() - started
                self.mean_seconds += (elapsed - self.mean_seconds) * 0.05

        try:
            return super().submit(run)
        except BaseException:  # shut down: nothing will run
            queued.dec()
            self._done()
            raise


class _Ticket:
    """One open stream: its context and when a message last went either way."""

    __slots__ = ("context", "lane", "touched")

    def __init__(self, context: grpc.ServicerContext, lane: str) -> None:
        self.context = context
        self.lane = lane
        self.touched = time.monotonic()

    def touch(self) -> None:
        self.touched = time.monotonic()


class StreamWatch:
    """Cancels streams idle for more than `idle_seconds` (0: never), checked every
    `idle_seconds / 4` (at most every second) by a thread of its own."""

    def __init__(self, idle_seconds: float, cancelled: dict[str, Any]) -> None:
        self.idle_seconds = idle_seconds
        self._cancelled = cancelled
        self._open: set[_Ticket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self, context: grpc.ServicerContext, lane: str) -> _Ticket:
        ticket = _Ticket(context, lane)
        with self._lock:
            self._open.add(ticket)
        return ticket

    def close(self, ticket: _Ticket) -> None:
        with self._lock:
            self._open.discard(ticket)

    @property
    def open_streams(self) -> int:
        return len(self._open)

    def sweep(self, now: float | None = None) -> int:
        """Cancel the streams idle for too long; return how many."""
        if not self.idle_seconds:
            return 0
        limit = (time.monotonic() if now is None else now) - self.idle_seconds
        with self._lock:
            idle = [t for t in self._open if t.touched < limit]
            self._open.difference_update(idle)
        for ticket in idle:
            ticket.context.cancel()
            self._cancelled[ticket.lane].inc()
        if idle:
            logger.warning("cancelled %d streams idle for over %.0fs", len(idle), self.idle_seconds)
        return len(idle)

    def start(self) -> None:
        if self.idle_seconds and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="stream-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)

    def _run(self) -> None:
        while not self._stop.wait(min(1.0, self.idle_seconds / 4)):
            try:
                self.sweep()
            except Exception:
                logger.exception("stream watch failed; retrying")


@dataclass(frozen=True)
class Route:
    """How one method's calls are served: `handler` while `lane` has room, else `refusal`
    (counted in `refused`). `original` is the handler the route was built from."""

    original: grpc.RpcMethodHandler
    handler: grpc.RpcMethodHandler
    lane: Lane | None = None
    refusal: grpc.RpcMethodHandler | None = None
    refused: Any = None

    def pick(self) -> grpc.RpcMethodHandler:
        lane = self.lane
        if lane is None or lane.has_room():
            return self.handler
        self.refused.inc()
        return self.refusal  # type: ignore[return-value]


_MAKERS = {
    "unary_unary": grpc.unary_unary_rpc_method_handler,
    "unary_stream": grpc.unary_stream_rpc_method_handler,
    "stream_unary": grpc.stream_unary_rpc_method_handler,
    "stream_stream": grpc.stream_stream_rpc_method_handler,
}


def kind_of(handler: grpc.RpcMethodHandler) -> str:
    requests = "stream" if handler.request_streaming else "unary"
    return f"{requests}_{'stream' if handler.response_streaming else 'unary'}"


def with_behavior(handler: grpc.RpcMethodHandler, behavior: Any) -> grpc.RpcMethodHandler:
    """`handler` with another behaviour (same kind and (de)serializers)."""
    make: Any = _MAKERS[kind_of(handler)]
    return make(  # type: ignore[no-any-return]
        behavior,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _touching(requests: Iterator[Any], ticket: _Ticket) -> Iterator[Any]:
    for request in requests:
        ticket.touch()
        yield request


class Admission:
    """The lanes of one server and the routes of its methods into them."""

    def __init__(self, config: ServiceConfig, service: str) -> None:
        self.service = service
        node = config.node_id
        queued = metrics.GRPC_SERVER_QUEUED.labels(node=node, service=service)
        self.lanes = {
            name: Lane(name, workers, queue, service=service, queued=queued, max_wait=wait)
            for name, workers, queue, wait in (
                (UNARY, config.grpc_workers, config.grpc_queue, config.grpc_queue_wait_ms / 1e3),
                (STREAM, config.grpc_stream_workers, 0, 0.0),
                (REFLECTION, config.grpc_reflection_workers, 0, 0.0),
                (HEALTH, config.grpc_health_workers, None, 0.0),
            )
        }
        for name, lane in self.lanes.items():
            metrics.GRPC_SERVER_LANE_CALLS.labels(
                node=node, service=service, lane=name
            ).set_function(functools.partial(getattr, lane, "calls"))
        bounded = (UNARY, STREAM, REFLECTION)
        self._refused = {
            name: metrics.GRPC_SERVER_REFUSED.labels(node=node, service=service, lane=name)
            for name in bounded
        }
        self.watch = StreamWatch(
            config.grpc_stream_idle_seconds,
            {
                name: metrics.GRPC_SERVER_IDLE_STREAMS_CANCELLED.labels(
                    node=node, service=service, lane=name
                )
                for name in (STREAM, REFLECTION)
            },
        )
        self._refusals = {name: self._refusal(name) for name in bounded}

    @property
    def default_pool(self) -> Lane:
        """The server's own pool: calls no route names a lane for (none of ours)."""
        return self.lanes[UNARY]

    @property
    def capacity(self) -> int:
        """Calls the bounded lanes hold at most."""
        return sum(lane.capacity or 0 for lane in self.lanes.values())

    def start(self) -> None:
        self.watch.start()

    def stop(self) -> None:
        self.watch.stop()
        for lane in self.lanes.values():
            lane.shutdown(wait=False)

    @staticmethod
    def lane_of(method: str, handler: grpc.RpcMethodHandler) -> str | None:
        if method == HEALTH_CHECK:
            return HEALTH
        if method.startswith(REFLECTION_PREFIX):
            return REFLECTION
        if method.startswith("/grpc."):
            return None  # health Watch: non-blocking, on the health servicer's own pool
        return STREAM if handler.request_streaming or handler.response_streaming else UNARY

    def route(
        self, method: str, original: grpc.RpcMethodHandler, handler: grpc.RpcMethodHandler
    ) -> Route:
        """The route of `method`, whose calls `handler` (ours, wrapped) serves."""
        name = self.lane_of(method, handler)
        if name is None:
            return Route(original, handler)
        lane = self.lanes[name]
        behavior = getattr(handler, kind_of(handler))
        if name in (STREAM, REFLECTION):
            behavior = self._watched(behavior, name, handler)
        else:
            behavior = _own(behavior)
        behavior.experimental_thread_pool = lane
        admitted = with_behavior(handler, behavior)
        if name == HEALTH:
            return Route(original, admitted)
        refusal = with_behavior(handler, self._refusals[name])
        return Route(original, admitted, lane, refusal, self._refused[name])

    def _watched(self, behavior: Any, lane: str, handler: grpc.RpcMethodHandler) -> Any:
        """`behavior` registering its stream with the watch and touching it on every message."""
        watch = self.watch
        requests_stream = handler.request_streaming

        if not handler.response_streaming:

            def watched_unary(request: Any, context: grpc.ServicerContext) -> Any:
                ticket = watch.open(context, lane)
                try:
                    return behavior(_touching(request, ticket), context)
                finally:
                    watch.close(ticket)

            return watched_unary

        def watched(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            ticket = watch.open(context, lane)
            try:
                if requests_stream:
                    request = _touching(request, ticket)
                for response in behavior(request, context):
                    yield response
                    ticket.touch()
            finally:
                watch.close(ticket)

        return watched

    def _refusal(self, lane: str) -> Callable[[Any, grpc.ServicerContext], None]:
        from puhui.kit.interceptors import to_status  # interceptors imports this module

        workers = self.lanes[lane]
        retry = RETRY_AFTER_SECONDS[lane]
        error: ResourceExhausted
        if lane == UNARY:
            error = WorkersExhausted(
                f"{self.service}: all {workers.workers} workers are busy and their queue is "
                f"full (PUHUI_GRPC_WORKERS, PUHUI_GRPC_QUEUE, PUHUI_GRPC_QUEUE_WAIT_MS); "
                f"retry in {retry:g} s",
                retry,
            )
        else:
            setting = (
                "PUHUI_GRPC_STREAM_WORKERS" if lane == STREAM else ("PUHUI_GRPC_REFLECTION_WORKERS")
            )
            error = StreamsExhausted(
                f"{self.service}: all {workers.workers} {lane} workers hold a stream "
                f"({setting}); retry in {retry:g} s",
                retry,
            )
        status = to_status(error, self.service)

        def refuse(_request: Any, context: grpc.ServicerContext) -> None:
            context.abort_with_status(status)

        refuse.experimental_thread_pool = self.lanes[HEALTH]  # type: ignore[attr-defined]
        return refuse


def _own(behavior: Any) -> Any:
    """`behavior` if it is a function (the interceptor's wrapper, one per method), else a
    function of our own calling it (a bound method takes no attributes)."""
    if isinstance(behavior, types.FunctionType):
        return behavior

    def call(request: Any, context: grpc.ServicerContext) -> Any:
        return behavior(request, context)

    return call
