"""Typed configuration, read from the environment once at start-up.

Every setting is a dataclass field declared with `setting(...)`: the environment variable,
its default, a description and an example. `load(cls)` builds the config and stops with a
message naming the variable when a value is missing or malformed. The configuration
reference in docs/ is generated from these declarations, so it cannot drift.

Any variable NAME may instead be given as NAME_FILE, the path of a file holding the value
(Compose and Kubernetes secret files); NAME itself, when set and not empty, wins.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from puhui.kit import proxies

NODE_ID_RE = re.compile(r"^\d{6}$")
HUB_NODE_ID = "000000"


class ConfigError(SystemExit):
    """A missing or malformed setting; exits the process with the message."""


def setting(
    env: str,
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    example: str = "",
    secret: bool = False,
) -> Any:
    meta = {"env": env, "doc": doc, "example": example, "secret": secret}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _parse(kind: Any, raw: str) -> Any:
    if kind in (int, "int"):
        return int(raw)
    if kind in (float, "float"):
        return float(raw)
    if kind in (bool, "bool"):
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"expected true/false, got {raw!r}")
    if kind in (Path, "Path"):
        return Path(raw)
    if kind in (tuple[str, ...], "tuple[str, ...]"):
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    return raw


def _read_file(variable: str, path: str) -> str:
    """`<NAME>_FILE=/run/secrets/x`: the value of NAME is that file's content (Docker/Kubernetes
    secret files), without its trailing newline."""
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(
            f"configuration: {variable}={path!r} cannot be read: {exc.strerror}"
        ) from None


C = TypeVar("C")


def load(cls: type[C], environ: Mapping[str, str] | None = None, **overrides: Any) -> C:
    """Build `cls` from the environment; explicit `overrides` win (used by tests and `make run`)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in overrides:
            values[f.name] = overrides[f.name]
            continue
        name = f.metadata.get("env")
        if not name:
            continue
        raw = env.get(name)
        if not raw and env.get(f"{name}_FILE"):
            raw = _read_file(f"{name}_FILE", env[f"{name}_FILE"])
        if raw is None or (raw == "" and f.default is not dataclasses.MISSING):
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"configuration: {name} is required ({f.metadata['doc']})")
            continue
        try:
            values[f.name] = _parse(f.type, raw)
        except ValueError as exc:
            raise ConfigError(f"configuration: {name}={raw!r} is malformed: {exc}") from None
    config = cls(**values)
    validate = getattr(config, "validate", None)
    if validate is not None:
        validate()
    return config


def describe(cls: type) -> list[dict[str, str]]:
    """The settings of a config class, for the generated configuration reference."""
    rows = []
    for f in dataclasses.fields(cls):
        if "env" not in f.metadata:
            continue
        default = "" if f.default is dataclasses.MISSING else f.default
        rows.append(
            {
                "env": f.metadata["env"],
                "default": "(required)" if f.default is dataclasses.MISSING else repr(default),
                "doc": f.metadata["doc"],
                "example": f.metadata.get("example", ""),
                "secret": "yes" if f.metadata.get("secret") else "",
            }
        )
    return rows


def default_state_dir() -> Path:
    return Path(os.environ.get("PUHUI_STATE", ".state"))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    """Settings every service process has. Services extend it with their own fields."""

    service: str = setting("PUHUI_SERVICE", "", doc="Service name (set by the launcher).")
    node_id: str = setting(
        "PUHUI_NODE_ID",
        HUB_NODE_ID,
        doc="Node id: 000000 for the national hub, else the province's GB/T 2260 code.",
        example="440000",
    )
    grpc_host: str = setting("PUHUI_GRPC_HOST", "127.0.0.1", doc="Address the gRPC server binds.")
    grpc_port: int = setting("PUHUI_GRPC_PORT", 0, doc="gRPC port; 0 picks a free port.")
    grpc_workers: int = setting(
        "PUHUI_GRPC_WORKERS",
        4,
        doc=(
            "Worker threads of the gRPC server for unary calls. Python handlers share one GIL: "
            "on 2 cores 4 workers served 1.5x the requests of 16 (bench/grpc_read). Calls "
            "beyond it wait in arrival order (puhui_grpc_server_queued_requests), at most "
            "PUHUI_GRPC_QUEUE of them. Streams and health have workers of their own."
        ),
    )
    grpc_queue: int = setting(
        "PUHUI_GRPC_QUEUE",
        64,
        doc=(
            "Unary calls that may wait for one of PUHUI_GRPC_WORKERS; one more is refused at "
            "once with RESOURCE_EXHAUSTED (reason WORKERS_EXHAUSTED) and a RetryInfo instead "
            'of waiting past its deadline (puhui_grpc_server_refused_total{lane="unary"}).'
        ),
    )
    grpc_queue_wait_ms: int = setting(
        "PUHUI_GRPC_QUEUE_WAIT_MS",
        1000,
        doc=(
            "A unary call is also refused at once (WORKERS_EXHAUSTED) when the calls waiting "
            "ahead of it would keep it waiting longer than this at the recent mean call time: "
            "slow calls shorten the queue, so a caller learns at once instead of at its "
            "deadline. 0: only PUHUI_GRPC_QUEUE bounds the queue."
        ),
    )
    grpc_stream_workers: int = setting(
        "PUHUI_GRPC_STREAM_WORKERS",
        8,
        doc=(
            "Worker threads for server streams (ExportPatents): a stream holds its thread until "
            "it ends. One stream more is refused at once with RESOURCE_EXHAUSTED (reason "
            "STREAMS_EXHAUSTED) and a RetryInfo; unary calls and health never wait for them."
        ),
    )
    grpc_reflection_workers: int = setting(
        "PUHUI_GRPC_REFLECTION_WORKERS",
        4,
        doc=(
            "Worker threads for server-reflection streams (grpcurl keeps one open per "
            "command); one more is refused at once (reason STREAMS_EXHAUSTED)."
        ),
    )
    grpc_health_workers: int = setting(
        "PUHUI_GRPC_HEALTH_WORKERS",
        2,
        doc=(
            "Worker threads that answer grpc.health.v1 Check and send the refusals of the "
            "other pools: health answers whatever the other workers do."
        ),
    )
    grpc_stream_idle_seconds: float = setting(
        "PUHUI_GRPC_STREAM_IDLE_SECONDS",
        30.0,
        doc=(
            "A stream (server stream or reflection) that neither sent nor received a message "
            "for this long is cancelled and gives its worker back: a client that stopped "
            "reading, or keeps an idle grpcurl stream open, cannot hold it forever "
            "(puhui_grpc_server_idle_streams_cancelled_total). 0: never."
        ),
    )
    metrics_port: int = setting(
        "PUHUI_METRICS_PORT", 0, doc="Prometheus /metrics HTTP port; 0 picks a free port."
    )
    shutdown_grace_seconds: float = setting(
        "PUHUI_SHUTDOWN_GRACE_SECONDS",
        7.0,
        doc="On SIGTERM, how long in-flight RPCs may finish (the process exits within 10 s).",
    )
    database_url: str = setting(
        "PUHUI_DATABASE_URL",
        "",
        doc="SQLAlchemy URL of this service's own database; empty = SQLite under PUHUI_STATE.",
        example="postgresql+psycopg://puhui:secret@db:5432/puhui_catalog",
        secret=True,
    )
    migrate_on_start: bool = setting(
        "PUHUI_MIGRATE_ON_START", True, doc="Run Alembic migrations before serving."
    )
    kafka_bootstrap: str = setting(
        "PUHUI_KAFKA_BOOTSTRAP",
        "",
        doc=(
            "Kafka bootstrap servers; empty disables the relay and consumers "
            "(events wait in the outbox)."
        ),
        example="127.0.0.1:19092",
    )
    redis_url: str = setting(
        "PUHUI_REDIS_URL",
        "",
        doc="Redis URL; empty uses in-process stores (single-process local runs only).",
        example="redis://127.0.0.1:16379/0",
        secret=True,
    )
    otlp_endpoint: str = setting(
        "PUHUI_OTLP_ENDPOINT",
        "",
        doc="OTLP endpoint for traces when no OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT is set "
        "(prefer the standard OTEL_* variables: docs/tracing.md); http:// is plaintext, "
        "https:// or no scheme TLS; empty = no export.",
        example="http://127.0.0.1:4317",
    )
    telemetry: bool = setting(
        "PUHUI_TELEMETRY",
        True,
        doc="RPC spans and RPC metrics in the server interceptor; off only to measure their cost.",
    )
    log_level: str = setting("PUHUI_LOG_LEVEL", "INFO", doc="Log level.")
    access_log_sample: float = setting(
        "PUHUI_ACCESS_LOG_SAMPLE",
        1.0,
        doc="Share (0-1) of successful RPCs written to the access log (logger puhui.access, "
        "one JSON line per RPC, ~0.1 ms of CPU each: ADR 0017), chosen by trace id; failed "
        "RPCs are always written.",
        example="0.1",
    )
    access_log_key: str = setting(
        "PUHUI_ACCESS_LOG_KEY",
        "",
        doc="Key of the caller's hash in the access log (the same on a node's services to "
        "follow one caller across them); empty = a random key per process.",
        secret=True,
    )
    page_token_key: str = setting(
        "PUHUI_PAGE_TOKEN_KEY",
        "",
        doc="Key of the HMAC that signs page tokens (a token not signed under it is refused "
        "as INVALID_ARGUMENT); replicas of one service must share it; empty = a random key "
        "per process.",
        secret=True,
    )
    state_dir: Path = setting(  # noqa: RUF009 (a Path default is immutable)
        "PUHUI_STATE",
        Path(".state"),
        doc="Folder for embedded databases and local state.",
    )
    token_audience: str = setting(
        "PUHUI_TOKEN_AUDIENCE", "puhui", doc="Audience (`aud`) access tokens must carry."
    )
    tls_cert_file: str = setting(
        "PUHUI_TLS_CERT_FILE",
        "",
        doc="PEM certificate chain of the gRPC server; with PUHUI_TLS_KEY_FILE the port serves "
        "TLS only. Empty = plaintext. Re-read when the file changes.",
        example="/run/secrets/node_tls_crt",
    )
    tls_key_file: str = setting(
        "PUHUI_TLS_KEY_FILE",
        "",
        doc="PEM private key of the gRPC server certificate (a secret file; mode 0600).",
        example="/run/secrets/node_tls_key",
    )
    tls_client_ca_file: str = setting(
        "PUHUI_TLS_CLIENT_CA_FILE",
        "",
        doc="PEM trust anchor(s) of the federation; when set, clients must present a "
        "certificate issued under them (mutual TLS).",
        example="/run/secrets/federation_ca_crt",
    )
    trusted_proxies: tuple[str, ...] = setting(
        "PUHUI_TRUSTED_PROXIES",
        (),
        doc="Comma-separated CIDRs of the proxies / load balancers in front of the gRPC port. "
        "Only when the TCP peer lies in one of them is x-forwarded-for read (its right-most "
        "address outside these networks is the client); from any other peer it is ignored.",
        example="10.0.0.0/8,fd00::/8",
    )
    health_port: int = setting(
        "PUHUI_HEALTH_PORT",
        0,
        doc="Extra plaintext port serving only grpc.health.v1 (for kubelet gRPC probes, which "
        "cannot speak TLS); 0 = none.",
        example="8081",
    )

    def validate(self) -> None:
        if not NODE_ID_RE.match(self.node_id):
            raise ConfigError(
                f"configuration: PUHUI_NODE_ID={self.node_id!r} is malformed: "
                "expected 6 digits (000000 or a GB/T 2260 province code)"
            )
        if not 0.0 <= self.access_log_sample <= 1.0:
            raise ConfigError("configuration: PUHUI_ACCESS_LOG_SAMPLE must be between 0 and 1")
        for env, value in (
            ("PUHUI_GRPC_WORKERS", self.grpc_workers),
            ("PUHUI_GRPC_STREAM_WORKERS", self.grpc_stream_workers),
            ("PUHUI_GRPC_REFLECTION_WORKERS", self.grpc_reflection_workers),
            ("PUHUI_GRPC_HEALTH_WORKERS", self.grpc_health_workers),
        ):
            if value < 1:
                raise ConfigError(f"configuration: {env} must be at least 1")
        if min(self.grpc_queue, self.grpc_queue_wait_ms, self.grpc_stream_idle_seconds) < 0:
            raise ConfigError(
                "configuration: PUHUI_GRPC_QUEUE, PUHUI_GRPC_QUEUE_WAIT_MS and "
                "PUHUI_GRPC_STREAM_IDLE_SECONDS must be 0 or more"
            )
        if self.shutdown_grace_seconds >= 10:
            raise ConfigError("configuration: PUHUI_SHUTDOWN_GRACE_SECONDS must be below 10")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ConfigError(
                "configuration: PUHUI_TLS_CERT_FILE and PUHUI_TLS_KEY_FILE must be set together"
            )
        try:
            proxies.parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"configuration: PUHUI_TRUSTED_PROXIES is malformed: {exc}") from None
        if self.tls_client_ca_file and not self.tls_cert_file:
            raise ConfigError(
                "configuration: PUHUI_TLS_CLIENT_CA_FILE (mutual TLS) needs PUHUI_TLS_CERT_FILE "
                "and PUHUI_TLS_KEY_FILE"
            )

    @property
    def tls_enabled(self) -> bool:
        return bool(self.tls_cert_file and self.tls_key_file)

    @property
    def is_hub(self) -> bool:
        return self.node_id == HUB_NODE_ID

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = self.state_dir / self.node_id / f"{self.service}.db"
        return f"sqlite:///{path}"
