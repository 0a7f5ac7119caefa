"""Server bootstrap shared by every service.

`ServiceApp` owns a service's parts (database, outbox relay, consumers, Redis) and their
lifecycle; `ServiceHost` runs it behind a grpcio synchronous server whose calls are routed
into worker pools of their own (unary, stream, reflection, health; `puhui.kit.admission`,
ADR 0013), standard health (`grpc.health.v1`), server reflection, the interceptor, and a
Prometheus endpoint on its own port.

Health is NOT_SERVING until the database, Redis and Kafka (when configured) have answered;
afterwards the database and Redis are re-checked every few seconds. A Kafka outage does not
make a node unready: events wait in the outbox and the node keeps serving its users.

On SIGTERM or SIGINT: health goes NOT_SERVING, the server stops accepting RPCs, in-flight
RPCs get `shutdown_grace_seconds` to finish, background workers stop, and the process exits
within 10 s.
"""

from __future__ import annotations

import abc
import gc
import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy import MetaData, Table

from puhui.kit import (
    auth,
    kafka,
    logs,
    metrics,
    migrations,
    pagination,
    revocation,
    tokens,
    tracing,
    trust,
)
from puhui.kit import redis as kit_redis
from puhui.kit import reflection as api_reflection
from puhui.kit.accesslog import AccessLog
from puhui.kit.admission import Admission
from puhui.kit.config import ServiceConfig
from puhui.kit.db import Database, custom_plans, is_postgresql_url, session_settings
from puhui.kit.grpc_client import PING_INTERVAL_FLOOR_SECONDS
from puhui.kit.inbox import EventConsumer
from puhui.kit.interceptors import ServiceInterceptor
from puhui.kit.metrics_http import MetricsServer
from puhui.kit.outbox import Outbox, OutboxRelay
from puhui.kit.policy import Policy, Rule
from puhui.kit.tls import ServerTLS

logger = logging.getLogger(__name__)
VERSION = "0.1.0"
# Health name that is SERVING while the process runs (NOT_SERVING once it drains), whatever its
# dependencies: for liveness probes, which must not restart a pod because its database is down.
LIVENESS = "puhui.liveness"
# Clients ping every KEEPALIVE_SECONDS while calls are open (puhui.kit.grpc_client): accept
# pings down to PING_INTERVAL_FLOOR_SECONDS apart instead of gRPC's default 5 minutes, after
# which the server would close the connection with GOAWAY "too_many_pings".
KEEPALIVE_ENFORCEMENT = (
    ("grpc.http2.min_recv_ping_interval_without_data_ms", PING_INTERVAL_FLOOR_SECONDS * 1000),
    ("grpc.http2.max_ping_strikes", 2),
)


@dataclass(frozen=True)
class Dependency:
    name: str
    check: Callable[[], None]
    # Required for the first SERVING only (Kafka); re-checked continuously otherwise.
    startup_only: bool = False


@dataclass(frozen=True)
class GrpcService:
    """One gRPC service of an app: its full name and how to add it to a server."""

    full_name: str
    register: Callable[[grpc.Server], None]
    # The declared access policy of every RPC of the service (puhui.kit.policy); None
    # leaves the service ungoverned (test services only).
    policy: Mapping[str, Rule] | None = None


class ServiceApp(abc.ABC):
    """Base of every service's application object: parts and lifecycle, no transport.

    Subclasses set `name`, pass their SQLAlchemy metadata (which holds `puhui_outbox` and
    `puhui_inbox`), and implement `grpc_services()`; they may add `consumers()`.
    """

    name = ""
    # Services whose reads bind LIKE patterns or keys of very different frequencies: each
    # execution planned for its values (see `puhui.kit.db.custom_plans`).
    plan_every_execution = False

    def __init__(
        self,
        config: ServiceConfig,
        metadata: MetaData,
        *,
        verifier: auth.TokenVerifier | None = None,
    ) -> None:
        self.config = config
        self.metadata = metadata
        self.node = config.node_id
        if config.kafka_bootstrap:  # malformed Kafka settings stop the start, variable named
            kafka.security_from_env()
            kafka.federation()
        # At least one pooled connection per gRPC worker: beyond the pool every request
        # would open and close a PostgreSQL connection of its own (a backend fork each).
        url = config.effective_database_url()
        if self.plan_every_execution:
            url = custom_plans(url)
        self.db = Database(url, pool_size=max(10, config.grpc_workers))
        self._side_databases: dict[str, Database] = {}
        self.outbox = Outbox(self._table("puhui_outbox"), config.node_id, self.name)
        self.inbox = self._table("puhui_inbox")
        # No verifier given: the federated one when PUHUI_TRUST_ANCHOR_JWKS is configured
        # (every node's tokens, key sets followed from the hub-signed keys topic).
        self._federated: trust.FederatedVerifier | None = None
        if verifier is None:
            self._federated = trust.verifier_from_env(
                node_id=config.node_id, kafka_bootstrap=config.kafka_bootstrap
            )
        self.verifier: auth.TokenVerifier = verifier or self._federated or auth.RejectingVerifier()
        # Every node's revocations reach this app's verifier (ADR 0014): a federated verifier
        # follows them itself; a plain JwtVerifier (identity's own) gets a follower here.
        self._own_revocations: revocation.RevocationFollower | None = None
        self.revocation_follower: revocation.RevocationFollower | None = None
        if isinstance(self.verifier, trust.FederatedVerifier):
            self.revocation_follower = self.verifier.revocation_follower
        elif isinstance(self.verifier, tokens.JwtVerifier) and config.kafka_bootstrap:
            jwt_verifier = self.verifier
            self.revocation_follower = self._own_revocations = revocation.RevocationFollower(
                config.kafka_bootstrap, lambda: jwt_verifier.revocations
            )
        self.redis: kit_redis.Redis | None = None
        self.relay: OutboxRelay | None = None
        self._consumers: list[EventConsumer] = []

    def _table(self, name: str) -> Table:
        try:
            return self.metadata.tables[name]
        except KeyError:
            raise RuntimeError(f"{self.name}: metadata lacks the kit table {name}") from None

    # -- to implement ----------------------------------------------------------------------
    @abc.abstractmethod
    def grpc_services(self) -> Sequence[GrpcService]:
        """The gRPC services this app serves."""

    def consumers(self) -> Sequence[EventConsumer]:
        """Event consumers this service runs (built after start-up, Kafka configured)."""
        return ()

    def topics(self) -> Sequence[str]:
        """Topics this service produces to (created at start-up)."""
        return (self.outbox.topic(),)

    # -- helpers for subclasses ------------------------------------------------------------
    def side_database(self, prefix: str, **settings: str | int) -> Database:
        """A second pool on this service's database whose sessions start with `settings`
        (`puhui.kit.db.session_settings`: `statement_timeout=5000`, `plan_cache_mode=...`),
        over the app's own (`plan_every_execution`); a setting the operator's URL names stays
        as given. One connection per gRPC worker, started and stopped with the app, its pool
        figures labelled `pool="<prefix>read"`. SQLite: the one database."""
        if not is_postgresql_url(self.db.url):
            return self.db
        own: dict[str, str | int] = (
            {"plan_cache_mode": "force_custom_plan"} if self.plan_every_execution else {}
        )
        url = session_settings(self.config.effective_database_url(), **{**own, **settings})
        db = self._side_databases[prefix] = Database(url, pool_size=self.config.grpc_workers)
        return db

    def databases(self) -> dict[str, Database]:
        """Every database this app holds, by pool-label prefix ("" for the main one)."""
        return {"": self.db, **self._side_databases}

    def consumer(
        self,
        *,
        group: str,
        handler: Any,
        topics: Sequence[str] = (),
        pattern: str | None = None,
        **kw: Any,
    ) -> EventConsumer:
        return EventConsumer(
            self.db,
            self.inbox,
            self.config.kafka_bootstrap,
            group=group,
            handler=handler,
            node=self.node,
            service=self.name,
            topics=topics,
            pattern=pattern,
            **kw,
        )

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._federated is not None:
            self._federated.start()
        if self._own_revocations is not None:
            self._own_revocations.start()
        self.db.start()
        if self.config.migrate_on_start:
            migrations.upgrade(self.name, self.db.url)
        for side in self._side_databases.values():
            side.start()
        self.redis = kit_redis.connect(self.config.redis_url, node=self.node, service=self.name)
        if self.config.kafka_bootstrap:
            self.relay = OutboxRelay(self.db, self.outbox, self.config.kafka_bootstrap)
            self.relay.start()

    def start_consumers(self) -> None:
        """Called once Kafka answered (topics exist by then)."""
        if not self.config.kafka_bootstrap or self._consumers:
            return
        try:
            kafka.ensure_topics(self.config.kafka_bootstrap, self.topics())
        except Exception:
            logger.warning(
                "%s: could not create topics; the broker may auto-create them",
                self.name,
                exc_info=True,
            )
        self._consumers = list(self.consumers())
        for c in self._consumers:
            c.start()

    def stop(self) -> None:
        for c in self._consumers:
            c.stop(timeout=2.0)
        if self.relay is not None:
            self.relay.stop(timeout=2.0)
        if self.redis is not None:
            self.redis.close()
        if self._federated is not None:
            self._federated.stop()
        if self._own_revocations is not None:
            self._own_revocations.stop()
        for side in self._side_databases.values():
            side.stop()
        self.db.stop()

    def dependencies(self) -> list[Dependency]:
        deps = [Dependency("database", self.db.ping)]
        if migrations.has_history(self.name):
            service, url = self.name, self.db.url

            # Not SERVING first while the schema is behind or ahead of this code (the reason
            # is logged): new code must not go Ready before its migrations ran. Checked for the
            # first SERVING only: pods of the previous release keep serving on the expanded
            # schema while the rollout replaces them (docs/ops/upgrade.md).
            def schema_check() -> None:
                reason = migrations.schema_mismatch(service, url)
                if reason is not None:
                    raise RuntimeError(reason)

            deps.append(Dependency("schema", schema_check, startup_only=True))
        if self.redis is not None:
            client = self.redis
            deps.append(Dependency("redis", lambda: kit_redis.ping(client)))
        if self.config.kafka_bootstrap:
            bootstrap = self.config.kafka_bootstrap

            def kafka_check() -> None:
                if not kafka.reachable(bootstrap):
                    raise ConnectionError(f"Kafka at {bootstrap} does not answer")

            deps.append(Dependency("kafka", kafka_check, startup_only=True))
        follower = self.revocation_follower
        if follower is not None:
            # Not SERVING before the recent revocations are known: a restarted process must
            # not accept a token revoked while it was down.
            def revocations_check() -> None:
                if not follower.caught_up:
                    raise ConnectionError("recent token revocations not yet read from Kafka")

            deps.append(Dependency("revocations", revocations_check, startup_only=True))
        return deps


class ServiceHost:
    """Runs one ServiceApp: gRPC server, health, reflection, metrics, signals."""

    def __init__(self, app: ServiceApp, *, readiness_interval: float = 2.0) -> None:
        self.app = app
        self.config = app.config
        self.readiness_interval = readiness_interval
        self.health = health.HealthServicer(
            experimental_non_blocking=True,
            experimental_thread_pool=futures.ThreadPoolExecutor(max_workers=1),
        )
        self.server: grpc.Server | None = None
        self.admission: Admission | None = None
        self.health_server: grpc.Server | None = None
        self.metrics_server = MetricsServer(
            self.config.grpc_host,
            self.config.metrics_port,
            node=self.config.node_id,
            service=app.name,
            health=self.serving,
        )
        self._status = health_pb2.HealthCheckResponse.NOT_SERVING
        self.port = 0
        self._service_names: list[str] = []
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._ready = threading.Event()
        self._readiness: threading.Thread | None = None
        self._failing: dict[str, str] = {}  # dependency -> why it failed its last check

    @property
    def address(self) -> str:
        return f"{self.config.grpc_host}:{self.port}"

    def start(self) -> None:
        cfg = self.config
        tracing.setup(self.app.name, cfg.node_id, cfg.otlp_endpoint)
        metrics.BUILD_INFO.labels(node=cfg.node_id, service=self.app.name, version=VERSION).set(1)
        self.metrics_server.start()
        self.app.start()
        for prefix, db in self.app.databases().items():
            metrics.watch_database(cfg.node_id, self.app.name, db, prefix=prefix)
        services = list(self.app.grpc_services())
        policy = Policy()
        for s in services:
            if s.policy is not None:
                policy.add(s.full_name, s.policy)
        pagination.configure(cfg.page_token_key)
        self.admission = Admission(cfg, self.app.name)
        self.interceptor = ServiceInterceptor(
            self.app.name,
            cfg.node_id,
            self.app.verifier,
            telemetry=cfg.telemetry,
            policy=policy,
            trusted_proxies=cfg.trusted_proxies,
            access_log=AccessLog(
                self.app.name, cfg.node_id, cfg.access_log_sample, cfg.access_log_key.encode()
            ),
            admission=self.admission,
        )
        self.server = grpc.server(
            self.admission.default_pool,
            interceptors=[self.interceptor],
            options=[
                ("grpc.so_reuseport", 0),
                ("grpc.max_receive_message_length", 8 * 1024 * 1024),
                *KEEPALIVE_ENFORCEMENT,
            ],
            # A backstop only (refused without RetryInfo): the lanes refuse first; the
            # margin is for health checks and refusals being sent.
            maximum_concurrent_rpcs=self.admission.capacity + 256,
        )
        for s in services:
            s.register(self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self._service_names = [s.full_name for s in services]
        api_reflection.enable(
            [*self._service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], self.server
        )
        self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        self.health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        bind = f"{cfg.grpc_host}:{cfg.grpc_port}"
        if cfg.tls_enabled:
            tls = ServerTLS(cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_client_ca_file)
            self.port = self.server.add_secure_port(bind, tls.credentials())
            metrics.TLS_CERTIFICATE_EXPIRY.labels(
                node=cfg.node_id, service=self.app.name
            ).set_function(tls.not_after)
        else:
            self.port = self.server.add_insecure_port(bind)
        if self.port == 0:
            raise SystemExit(f"{self.app.name}: cannot bind {cfg.grpc_host}:{cfg.grpc_port}")
        self.server.start()
        self.admission.start()
        if cfg.health_port:
            self._start_health_server()
        self._readiness = threading.Thread(
            target=self._watch_readiness, name="readiness", daemon=True
        )
        self._readiness.start()
        logger.info(
            "%s serving on %s (metrics :%d)", self.app.name, self.address, self.metrics_server.port
        )

    def _start_health_server(self) -> None:
        """grpc.health.v1 alone on a plaintext port: kubelet gRPC probes cannot speak TLS."""
        cfg = self.config
        pool = futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="health")
        self.health_server = grpc.server(pool)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.health_server)
        bind = f"{cfg.grpc_host}:{cfg.health_port}"
        if self.health_server.add_insecure_port(bind) == 0:
            raise SystemExit(f"{self.app.name}: cannot bind health port {bind}")
        self.health_server.start()

    def _set_health(self, status: int) -> None:
        self._status = status
        for name in ["", *self._service_names]:
            self.health.set(name, status)

    def serving(self) -> tuple[bool, str]:
        """What the metrics port's /healthz says: the gRPC health of the whole server."""
        status = health_pb2.HealthCheckResponse.NOT_SERVING
        if not self._stopping.is_set():
            status = self._status
        name = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
        serving = status == health_pb2.HealthCheckResponse.SERVING
        if not serving and not self._stopping.is_set():
            # Why not: one line per failing dependency (the schema says behind or ahead).
            name = "\n".join([name, *(f"{dep}: {why}" for dep, why in list(self._failing.items()))])
        return serving, name

    def _check(self, deps: list[Dependency], first: bool) -> bool:
        ok = True
        for dep in deps:
            if dep.startup_only and not first:
                continue
            try:
                dep.check()
                up = 1
                self._failing.pop(dep.name, None)
            except Exception as exc:
                up = 0
                ok = False
                self._failing[dep.name] = str(exc)
                logger.warning("%s: dependency %s not ready: %s", self.app.name, dep.name, exc)
            metrics.DEPENDENCY_UP.labels(
                node=self.config.node_id, service=self.app.name, dependency=dep.name
            ).set(up)
        return ok

    def _watch_readiness(self) -> None:
        deps = self.app.dependencies()
        first = True
        serving = False
        while not self._stopping.is_set():
            ok = self._check(deps, first)
            if ok and first:
                self.app.start_consumers()
                first = False
            if ok != serving and not self._stopping.is_set():
                serving = ok
                self._set_health(
                    health_pb2.HealthCheckResponse.SERVING
                    if ok
                    else health_pb2.HealthCheckResponse.NOT_SERVING
                )
                if ok:
                    self._ready.set()
            self._stopping.wait(self.readiness_interval if not first else 0.5)

    def wait_ready(self, timeout: float = 30.0) -> bool:
        return self._ready.wait(timeout)

    def stop(self, grace: float | None = None) -> None:
        """NOT_SERVING, stop accepting, drain in-flight RPCs, stop workers."""
        if self._stopping.is_set():
            self._stopped.wait(12)
            return
        self._stopping.set()
        started = time.monotonic()
        grace = self.config.shutdown_grace_seconds if grace is None else grace
        self.health.enter_graceful_shutdown()
        if self.server is not None:
            in_flight = self.interceptor.running
            self.server.stop(grace).wait(grace + 0.5)
            logger.info(
                "%s: drained %d in-flight RPCs",
                self.app.name,
                in_flight,
                extra={
                    "drain_in_flight_at_stop": in_flight,
                    "drain_still_running": self.interceptor.running,
                    "drain_cut_short": self.interceptor.cut_short,
                },
            )
        if self.health_server is not None:
            self.health_server.stop(0)
        if self.admission is not None:
            self.admission.stop()
        self.app.stop()
        for prefix in self.app.databases():
            metrics.unwatch_database(self.config.node_id, self.app.name, prefix=prefix)
        self.metrics_server.stop()
        logger.info("%s stopped in %.1fs", self.app.name, time.monotonic() - started)
        self._stopped.set()

    def serve_forever(self) -> None:
        """Block until SIGTERM/SIGINT, then stop gracefully."""
        stop_requested = threading.Event()

        def on_signal(signum: int, _frame: object) -> None:
            logger.info(
                "%s: received %s, shutting down", self.app.name, signal.Signals(signum).name
            )
            stop_requested.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        while not stop_requested.wait(0.5):
            pass
        self.stop()


def run(app_factory: Callable[[], ServiceApp]) -> None:
    """Entry point of `python -m puhui.<service>`: logs, app, host, serve until signalled."""
    app = app_factory()
    logs.configure(app.name, app.config.node_id, app.config.log_level)
    host = ServiceHost(app)
    host.start()
    # Everything built so far (modules, protobuf descriptors, SQLAlchemy metadata) lives as
    # long as the process: move it out of the collector's view so that full collections
    # under load scan only request garbage (shorter pauses, a lower p99).
    gc.freeze()
    metrics_port = host.metrics_server.port
    print(
        f"{app.name} node={app.config.node_id} grpc={host.address} metrics={metrics_port}",
        flush=True,
    )
    host.serve_forever()
