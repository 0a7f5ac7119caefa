"""The fuzz harness: one node of the four services (real PostgreSQL, Redis, Kafka, gRPC
servers on free ports), every RPC called with generated requests, with and without tokens.

Each call is checked for what a caller must never see: INTERNAL or UNKNOWN, a call still
running at its deadline, and a rejected request (any code but OK) that changed the
service's database. The write check is a fingerprint of every table (row count and a hash
of every row; the outbox by its ids, since the relay marks rows published in the
background) taken after each call: the next call's "before". The node runs without
consumers (feedback's are off; no other service consumes its own topics), so nothing but
the calls writes (identity's served-persons consumer is off too).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.descriptor import FileDescriptor
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from puhui.catalog.v1 import catalog_pb2
from puhui.data.v1 import data_pb2
from puhui.feedback.v1 import feedback_pb2
from puhui.identity.v1 import identity_pb2
from puhui.kit import config as kit_config
from puhui.kit.auth import Principal
from puhui.kit.db import normalise_url
from puhui.kit.errors import Unauthenticated
from puhui.kit.fuzzing import RequestFactory, Rpc, rpcs
from puhui.kit.inbox import EventConsumer
from puhui.kit.testing import running

NODE = "540000"  # Tibet: no other suite runs a node with this id on the shared broker
INSTITUTION = f"{NODE}-000001"
SERVICES: dict[str, FileDescriptor] = {
    "identity": identity_pb2.DESCRIPTOR,
    "catalog": catalog_pb2.DESCRIPTOR,
    "data": data_pb2.DESCRIPTOR,
    "feedback": feedback_pb2.DESCRIPTOR,
}
# Every role a service checks, bound to this node and one institution: the deepest paths.
ADMIN = Principal(
    subject=f"{NODE}:fuzz-admin",
    issuer=NODE,
    roles=frozenset({"national_admin", "province_admin", "institution_staff", "org_admin"}),
    role_scopes=(
        ("province_admin", NODE),
        ("institution_staff", INSTITUTION),
        ("org_admin", f"{NODE}-org-000001"),
    ),
    assurance=3,
    scopes=frozenset({"data:export", "data:import", "data:mirror"}),
)
PERSON = Principal(subject=f"{NODE}:fuzz-person", issuer=NODE, roles=frozenset({"innovator"}))
# The node's own codes and principals: requests that name them get past the first checks.
VOCABULARY = (
    NODE,
    "540100",
    "540102",
    INSTITUTION,
    ADMIN.subject,
    PERSON.subject,
    "91540100MA6T000001",
    "item-patent-search",
)
TOKENS: tuple[str | None, ...] = (None, "fuzz-admin", "fuzz-person", "not-a-token")
NEVER = frozenset({"INTERNAL", "UNKNOWN"})
# Refused credentials are audited on purpose: these RPCs may add outbox rows when they fail.
AUDITED_FAILURES = {"SignIn": {"puhui_outbox"}, "IssueServiceToken": {"puhui_outbox"}}
CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}
TEST_KEY = "cHVodWktZnV6ei1vbmx5LWtleS0zMi1ieXRlcy0hISE="  # base64 of 32 bytes, tests only


class FuzzVerifier:
    """Bearer tokens name fixed principals; anything else is UNAUTHENTICATED."""

    def __init__(self) -> None:
        self.principals = {"fuzz-admin": ADMIN, "fuzz-person": PERSON}

    def verify(self, token: str) -> Principal:
        try:
            return self.principals[token]
        except KeyError:
            raise Unauthenticated("unknown token") from None


class WriteProbe:
    """A fingerprint of every table of one service's database."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(
            normalise_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        self.connection = self.engine.connect()
        tables = [
            row[0]
            for row in self.connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            )
        ]
        parts = []
        for table in tables:
            rows = "x.id::text" if table == "puhui_outbox" else "x::text"
            parts.append(
                f"SELECT '{table}', count(*), coalesce(sum(hashtext({rows})), 0) FROM \"{table}\" x"
            )
        self.query = text(" UNION ALL ".join(parts))

    def state(self) -> dict[str, tuple[int, int]]:
        return {str(t): (int(n), int(h)) for t, n, h in self.connection.execute(self.query)}

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()


@dataclass
class Target:
    service: str
    address: str
    database_url: str
    rpcs: list[Rpc]


@dataclass
class Report:
    """Codes per RPC and every call that broke a rule (kept to the first 50)."""

    requests: int = 0
    codes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[str] = field(default_factory=list)
    broken: int = 0
    hangs: int = 0
    writes: int = 0

    def fail(self, line: str) -> None:
        self.broken += 1
        if len(self.failures) < 50:
            self.failures.append(line)


def build_apps(database: Callable[[str], str], kafka: str, redis: str) -> dict[str, Any]:
    from puhui.catalog.server import build as catalog
    from puhui.data.server import build as data
    from puhui.feedback.server import build as feedback
    from puhui.identity.config import IdentityConfig
    from puhui.identity.server import IdentityApp

    common = {"node_id": NODE, "kafka_bootstrap": kafka, "grpc_port": 0, "metrics_port": 0}
    verifier = FuzzVerifier()
    identity_config = kit_config.load(
        IdentityConfig,
        database_url=database("fzidentity"),
        redis_url=redis,
        id_number_key=TEST_KEY,
        key_encryption_key=TEST_KEY,
        throttle_address_ceiling=10**9,
        **CHEAP_ARGON2,
        **common,
    )
    return {
        "identity": _without_consumers(IdentityApp)(identity_config, verifier=verifier),
        "catalog": catalog(verifier=verifier, database_url=database("fzcatalog"), **common),
        "data": data(
            verifier=verifier,
            database_url=database("fzdata"),
            quota_enabled=False,
            mirror_source_node=NODE,  # the node owns its data sets: Put* reach the domain
            **common,
        ),
        "feedback": feedback(
            verifier=verifier,
            database_url=database("fzfeedback"),
            redis_url=redis,
            run_consumers=False,
            burst_limit=10**9,
            burst_address_limit=10**9,
            **common,
        ),
    }


def _without_consumers(app_class: Any) -> Any:
    """Identity without its served-persons read model: that consumer follows every node's
    feedback topic on the shared broker and writes its inbox whenever any event arrives,
    which the write check would blame on the call in flight (feedback runs without its
    consumers for the same reason)."""

    class WithoutConsumers(app_class):  # type: ignore[misc, valid-type]
        def consumers(self) -> Sequence[EventConsumer]:
            return ()

    return WithoutConsumers


@contextlib.contextmanager
def node(database: Callable[[str], str], kafka: str, redis: str) -> Iterator[list[Target]]:
    """The four services of one node, running; stopped afterwards."""
    with contextlib.ExitStack() as stack:
        targets = []
        for service, app in build_apps(database, kafka, redis).items():
            host = stack.enter_context(running(app))
            targets.append(
                Target(
                    service,
                    host.address,
                    app.config.database_url,
                    list(rpcs(SERVICES[service])),
                )
            )
        yield targets


def _server_time_limit(error: grpc.RpcError) -> bool:
    """A DEADLINE_EXCEEDED the server chose (its own time limit), not the caller's."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason == "TIME_LIMIT_EXCEEDED"
    return False


def call(
    channel: grpc.Channel, rpc: Rpc, payload: bytes, token: str | None, deadline: float
) -> tuple[str, float, bytes | None]:
    """(code name, seconds, the unary answer's bytes) of one call with raw request bytes."""
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    started = time.monotonic()
    answer: bytes | None = None
    try:
        if rpc.server_streaming:
            stream = channel.unary_stream(rpc.path)
            responses = stream(payload, timeout=deadline, metadata=metadata)
            for count, _ in enumerate(responses):
                if count >= 200:
                    responses.cancel()
                    break
        else:
            answer = channel.unary_unary(rpc.path)(payload, timeout=deadline, metadata=metadata)
        code = "OK"
    except grpc.RpcError as error:
        code = error.code().name  # type: ignore[attr-defined]
        if code == "CANCELLED" and rpc.server_streaming:
            code = "OK"  # we cancelled a long stream ourselves
        elif code == "DEADLINE_EXCEEDED" and not _server_time_limit(error):
            code = "HANG"
    return code, time.monotonic() - started, answer


def fuzz_service(
    target: Target, per_rpc: int, seed: int, deadline: float = 10.0, report: Report | None = None
) -> Report:
    """`per_rpc` requests to every RPC of `target`: tokens in turn, one in ten undecodable."""
    report = report or Report()
    factory = RequestFactory(seed, vocabulary=VOCABULARY)
    probe = WriteProbe(target.database_url)
    try:
        with grpc.insecure_channel(
            target.address, options=[("grpc.max_send_message_length", 8 << 20)]
        ) as channel:
            before = probe.state()
            for rpc in target.rpcs:
                for index in range(per_rpc):
                    raw = index % 10 == 9
                    payload = (
                        factory.undecodable()
                        if raw
                        else factory.message(rpc.request).SerializeToString()
                    )
                    token = TOKENS[index % len(TOKENS)]
                    code, seconds, answer = call(channel, rpc, payload, token, deadline)
                    if answer:
                        factory.learn(rpc.response.FromString(answer))
                    report.requests += 1
                    report.codes[rpc.path][code] += 1
                    after = probe.state()
                    where = f"{rpc.path} token={token} raw={raw} {len(payload)} B"
                    if code in NEVER:
                        report.fail(f"{code} {where} ({seconds:.2f} s)")
                    if code == "HANG" or seconds > deadline + 1:
                        report.hangs += 1
                        report.fail(f"past its deadline: {where} ({seconds:.2f} s)")
                    if code != "OK" and after != before:
                        allowed = AUDITED_FAILURES.get(rpc.name, set())
                        changed = {t for t in after if after[t] != before.get(t)}
                        if changed - allowed:
                            report.writes += 1
                            report.fail(f"{code} but wrote {sorted(changed)}: {where}")
                    before = after
    finally:
        probe.close()
    return report


def fuzz_node(targets: list[Target], per_rpc: int, seed: int) -> dict[str, Report]:
    """Every service fuzzed at once (one thread each: their databases are separate)."""
    reports = {t.service: Report() for t in targets}
    errors: list[BaseException] = []

    def run(target: Target, offset: int) -> None:
        try:
            fuzz_service(target, per_rpc, seed + offset, report=reports[target.service])
        except BaseException as exc:  # surfaced by the caller below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(t, i), name=f"fuzz-{t.service}")
        for i, t in enumerate(targets)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return reports
