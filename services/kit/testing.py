"""Test support shared by every service (a pytest plugin, loaded by the root conftest.py).

Integration tests talk to the real PostgreSQL, Kafka and Redis that `make up` starts (or
that PUHUI_POSTGRES_URL / PUHUI_KAFKA_BOOTSTRAP / PUHUI_REDIS_URL name). Each test gets
its own PostgreSQL database, dropped afterwards; fixtures stop everything they start.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any, TypeVar

import grpc
import pytest
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from puhui.events.v1 import envelope_pb2
from puhui.kit import kafka
from puhui.kit.db import normalise_url
from puhui.kit.server import ServiceApp, ServiceHost

T = TypeVar("T")

DEFAULTS = {
    "PUHUI_POSTGRES_URL": "postgresql://puhui:puhui@127.0.0.1:15432/puhui",
    "PUHUI_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
    "PUHUI_REDIS_URL": "redis://127.0.0.1:16379/0",
}


def infra(name: str) -> str:
    return os.environ.get(name) or DEFAULTS[name]


def load_infra() -> Any:
    """deploy/local/infra.py (stdlib-only, not part of the package) as a module, for tests that
    start their own extra Kafka clusters or MirrorMaker 2. Its sibling modules (`infra_base`,
    `infra_kafka`, imported by name as a script run from its folder would find them) are
    loaded first under those names, so no `sys.path` edit is needed."""
    import importlib.util
    import sys
    from pathlib import Path

    if "puhui_local_infra" in sys.modules:
        return sys.modules["puhui_local_infra"]
    folder = Path(__file__).resolve().parents[2] / "deploy" / "local"
    module = None
    for name, file in (
        ("infra_base", "infra_base.py"),
        ("infra_kafka", "infra_kafka.py"),
        ("puhui_local_infra", "infra.py"),
    ):
        if name in sys.modules:
            continue
        path = folder / file
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for a server a test starts)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    """gRPC call metadata carrying `token` as a bearer credential."""
    return (("authorization", f"Bearer {token}"),)


def violations(err: grpc.RpcError) -> dict[str, str]:
    """The `google.rpc.BadRequest` field violations of a failed call: field -> description."""
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    out: dict[str, str] = {}
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            out.update({v.field: v.description for v in bad.field_violations})
    return out


def eventually(
    probe: Callable[[], T],
    timeout: float = 30.0,
    *,
    interval: float = 0.1,
    retry_on: tuple[type[Exception], ...] = (),
) -> T:
    """Call `probe` every `interval` seconds until it returns something truthy, and return
    that; fail the test (AssertionError naming the last answer) when `timeout` seconds pass
    first. An exception of a type in `retry_on` counts as "not yet" (and becomes the
    failure's cause if it is the last answer); any other exception fails at once."""
    deadline = time.monotonic() + timeout
    last: Any = None
    last_error: Exception | None = None
    while True:
        try:
            last, last_error = probe(), None
        except retry_on as exc:
            last, last_error = None, exc
        if last:
            return last  # type: ignore[no-any-return]
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    message = f"not reached within {timeout:g} s (last: {last_error or last!r})"
    raise AssertionError(message) from last_error


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = normalise_url(infra("PUHUI_POSTGRES_URL"))
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {url} is not reachable ({exc}); run `make up`", pytrace=False)
    finally:
        engine.dispose()
    return url


@contextmanager
def temporary_database(admin_url: str, label: str = "test") -> Iterator[str]:
    """CREATE DATABASE a fresh one; yield its URL; DROP it afterwards."""
    name = f"puhui_{label}_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            _drop_database(admin, name)
        finally:
            admin.dispose()


def _drop_database(admin: Engine, name: str, attempts: int = 20) -> None:
    """DROP .. WITH (FORCE), retried: FORCE cannot end an autovacuum worker without
    superuser rights (InsufficientPrivilege), and the worker leaves within seconds."""
    for attempt in range(attempts):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except DBAPIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@pytest.fixture
def database_url(postgres_admin_url: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url) as url:
        yield url


@pytest.fixture
def database_factory(postgres_admin_url: str) -> Iterator[Callable[[str], str]]:
    """Create several databases in one test (e.g. one per service)."""
    stack: list[Any] = []

    def make(label: str = "test") -> str:
        cm = temporary_database(postgres_admin_url, label)
        stack.append(cm)
        return cm.__enter__()

    yield make
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    bootstrap = infra("PUHUI_KAFKA_BOOTSTRAP")
    if not kafka.reachable(bootstrap):
        pytest.fail(f"Kafka at {bootstrap} is not reachable; run `make up`", pytrace=False)
    return bootstrap


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    url = infra("PUHUI_REDIS_URL")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        pytest.fail(f"Redis at {url} is not reachable ({exc}); run `make up`", pytrace=False)
    return url


def province_node() -> str:
    """A province node id for tests (Guangdong); topics are shared, so filter by ids."""
    return "440000"


@contextmanager
def running(app: ServiceApp, ready_timeout: float = 60.0) -> Iterator[ServiceHost]:
    """Start an app behind a real gRPC server on a free port; stop it afterwards."""
    host = ServiceHost(app, readiness_interval=0.5)
    host.start()
    try:
        if not host.wait_ready(ready_timeout):
            raise AssertionError(f"{app.name} did not become SERVING within {ready_timeout}s")
        yield host
    finally:
        host.stop(grace=2.0)


def read_events(
    bootstrap: str,
    topic: str,
    predicate: Callable[[envelope_pb2.EventEnvelope], bool],
    *,
    count: int = 1,
    timeout: float = 30.0,
) -> list[envelope_pb2.EventEnvelope]:
    """Read `topic` from the beginning until `count` envelopes match `predicate`."""
    consumer = kafka.make_consumer(bootstrap, f"test-reader-{uuid.uuid4()}", "test-reader")
    consumer.subscribe(topics=[topic])
    found: list[envelope_pb2.EventEnvelope] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(found) < count:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    try:
                        envelope = envelope_pb2.EventEnvelope.FromString(record.value)
                    except DecodeError:
                        continue  # not an envelope (another test's raw record)
                    if predicate(envelope):
                        found.append(envelope)
    finally:
        consumer.close(autocommit=False)
    return found


class OtlpReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    """A real OTLP/gRPC trace receiver keeping every span with its resource's service name."""

    def __init__(self) -> None:
        self.spans: list[trace_pb2.Span] = []
        self.service_names: list[str] = []  # parallel to spans
        self.lock = threading.Lock()

    def Export(self, request: Any, context: Any) -> Any:
        with self.lock:
            for resource_spans in request.resource_spans:
                names = [
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                ]
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend(scope_spans.spans)
                    self.service_names.extend(names[:1] * len(scope_spans.spans))
        return trace_service_pb2.ExportTraceServiceResponse()

    def trace(self, trace_id: bytes) -> list[trace_pb2.Span]:
        with self.lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def of_service(self, name: str) -> list[trace_pb2.Span]:
        with self.lock:
            return [s for s, n in zip(self.spans, self.service_names, strict=True) if n == name]


@contextmanager
def otlp_receiver(
    credentials: grpc.ServerCredentials | None = None,
) -> Iterator[tuple[OtlpReceiver, str]]:
    """An OTLP/gRPC receiver on a free loopback port: (receiver, "127.0.0.1:<port>");
    TLS with `credentials`."""
    servicer = OtlpReceiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    if credentials is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        server.stop(0)
