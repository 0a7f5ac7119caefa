"""Federation trust: the hub-signed key sets of every node, followed from Kafka.

ARCHITECTURE.md §8, docs/adr/0009. The hub (000000) keeps the node registry and holds the
federation **trust anchor** key (ES256). For every registered node it signs a *key-set
statement* — a compact JWS, header `typ` = `puhui-keyset+jws`, whose claims are

    {"node": "440000", "name": "广东", "status": "active" | "removed",
     "jwks": {"keys": [...]}, "rev": 7, "iat": ..., "exp": ...}

and publishes it to the compacted topic `puhui.000000.federation.keys`, keyed by the node
id. Every service process of every node runs a `KeySetFollower`: it reads that topic from
the beginning (all partitions assigned, no consumer group, nothing committed), checks each
statement against the configured anchor public key(s) and installs the node's key set into
the process's `KeySets` (`put`) or drops it (`remove`: status "removed", an expired
statement, or a Kafka tombstone). A statement with a lower revision than the one installed
is ignored, so replays and reordering cannot resurrect an old key set.

    verifier = federated_verifier(node_id="440000", bootstrap="127.0.0.1:19092",
                                  anchor_jwks=ANCHOR_PUBLIC_JWKS)
    verifier.start()        # follows the topic; verifier.wait_caught_up(10)
    app = MyApp(config, verifier=verifier)

With no anchor configured, `federated_verifier` returns a verifier that trusts only the
node's own identity service key set, loaded over gRPC (the single-node default).

Removing a node: the hub publishes a signed "removed" statement; each follower drops the
key set on receipt, and the `JwtVerifier`'s cache is keyed on the key-set generation, so
the node's tokens fail on the next call. The bound is the follower's poll interval plus
the hub's publish latency (measured in tests/test_federation_trust.py, bench).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from puhui.kit import kafka
from puhui.kit.config import HUB_NODE_ID, NODE_ID_RE, setting
from puhui.kit.revocation import MemoryRevocationStore, RevocationFollower
from puhui.kit.tokens import JwtVerifier, KeySets, RevocationStore, parse_jwks

logger = logging.getLogger(__name__)

# Not namespaced by itself (a constant, computed without reading the environment): a
# federation with PUHUI_FEDERATION_ID sets PUHUI_TRUST_KEYS_TOPIC=puhui.<id>.000000.federation.keys.
KEYS_TOPIC = kafka.topic_name(HUB_NODE_ID, "federation", "keys", federation_id="")
KEYS_TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "min.cleanable.dirty.ratio": "0.1",
    "segment.ms": "3600000",
}
STATEMENT_TYPE = "puhui-keyset+jws"
STATUS_ACTIVE = "active"
STATUS_REMOVED = "removed"
DEFAULT_VALIDITY_SECONDS = 30 * 24 * 3600


class TrustError(ValueError):
    """A key-set statement that must not be trusted (bad signature, wrong anchor, expired …)."""


@dataclasses.dataclass(frozen=True)
class KeySetStatement:
    node: str
    name: str
    status: str
    jwks: Mapping[str, Any]
    revision: int
    issued_at: float
    expires_at: float

    @property
    def active(self) -> bool:
        return self.status == STATUS_ACTIVE


# -- the anchor (hub side) -------------------------------------------------------------------
def _thumbprint_kid(public_jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (EC members in lexicographic order), base64url."""
    canonical = json.dumps(
        {k: public_jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(canonical.encode())
    return base64.urlsafe_b64encode(digest.finalize()).rstrip(b"=").decode()


class TrustAnchor:
    """The hub's signing key for key-set statements (private; never leaves the hub)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
            private_key.curve, ec.SECP256R1
        ):
            raise TrustError("the trust anchor key must be an EC P-256 private key")
        self._key = private_key
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key()))
        self.kid = _thumbprint_kid(public)
        self._public_jwk = {**public, "kid": self.kid, "alg": "ES256", "use": "sig"}

    @classmethod
    def generate(cls) -> TrustAnchor:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, pem: bytes | str) -> TrustAnchor:
        data = pem.encode() if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise TrustError(f"trust anchor key is not a PEM private key: {exc}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TrustError("the trust anchor key must be an EC P-256 private key")
        return cls(key)

    def to_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_jwk(self) -> dict[str, Any]:
        return dict(self._public_jwk)

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def sign(
        self,
        node: str,
        jwks: Mapping[str, Any],
        *,
        name: str = "",
        status: str = STATUS_ACTIVE,
        revision: int,
        validity_seconds: float = DEFAULT_VALIDITY_SECONDS,
        now: float | None = None,
    ) -> str:
        issued = time.time() if now is None else now
        claims = {
            "iss": HUB_NODE_ID,
            "node": node,
            "name": name,
            "status": status,
            "jwks": dict(jwks),
            "rev": int(revision),
            "iat": int(issued),
            "exp": int(issued + validity_seconds),
        }
        return jwt.PyJWS().encode(
            json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode(),
            self._key,
            algorithm="ES256",
            headers={"typ": STATEMENT_TYPE, "kid": self.kid},
        )


# -- verification (every node) ---------------------------------------------------------------
def anchor_keys(anchor_jwks: Mapping[str, Any] | str) -> dict[str, Any]:
    """kid → public key of the configured anchor JWKS (several during an anchor rotation)."""
    keys = {kid: key for kid, (key, alg) in parse_jwks(anchor_jwks).items() if alg == "ES256"}
    if not keys:
        raise TrustError("the trust anchor JWKS holds no ES256 signing key")
    return keys


def verify_statement(
    token: str | bytes,
    anchors: Mapping[str, Any],
    *,
    now: float | None = None,
    check_expiry: bool = True,
) -> KeySetStatement:
    """Check a key-set statement against the anchor keys; return its content."""
    raw = token.decode() if isinstance(token, bytes) else token
    try:
        header = jwt.get_unverified_header(raw)
    except jwt.PyJWTError as exc:
        raise TrustError(f"not a JWS: {exc}") from None
    if header.get("typ") != STATEMENT_TYPE or header.get("alg") != "ES256":
        raise TrustError("not a Puhui key-set statement")
    key = anchors.get(str(header.get("kid")))
    if key is None:
        raise TrustError("statement signed by an unknown anchor key")
    try:
        payload = jwt.PyJWS().decode(raw, key, algorithms=["ES256"])
    except jwt.PyJWTError:
        raise TrustError("statement signature is invalid") from None
    try:
        claims = json.loads(payload)
        statement = KeySetStatement(
            node=str(claims["node"]),
            name=str(claims.get("name", "")),
            status=str(claims["status"]),
            jwks=claims.get("jwks") or {"keys": []},
            revision=int(claims["rev"]),
            issued_at=float(claims["iat"]),
            expires_at=float(claims["exp"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise TrustError(f"statement claims are malformed: {exc}") from None
    if claims.get("iss") != HUB_NODE_ID or not NODE_ID_RE.match(statement.node):
        raise TrustError("statement issuer or node id is malformed")
    if statement.status not in (STATUS_ACTIVE, STATUS_REMOVED):
        raise TrustError(f"unknown statement status {statement.status!r}")
    moment = time.time() if now is None else now
    if check_expiry and statement.expires_at < moment:
        raise TrustError("statement has expired")
    return statement


class KeySetFollower:
    """Follows the compacted keys topic into a `KeySets` (see the module docstring).

    One KafkaConsumer without a group: all partitions assigned, read from the beginning on
    every start (the topic is compacted, so that is one record per node). Kafka being
    down only delays updates: the installed key sets stay, tokens keep verifying.
    """

    def __init__(
        self,
        bootstrap: str,
        key_sets: KeySets,
        anchors: Mapping[str, Any],
        *,
        topic: str = KEYS_TOPIC,
        poll_timeout_ms: int = 200,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[KeySetStatement | None, str], None] | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.key_sets = key_sets
        self.anchors = dict(anchors)
        self.topic = topic
        self.poll_timeout_ms = poll_timeout_ms
        self.on_change = on_change
        self._clock = clock
        self._installed: dict[str, KeySetStatement] = {}
        self._removed_rev: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._caught_up = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer: Any = None
        self._end_offsets: dict[Any, int] = {}
        self.applied = 0
        self.rejected = 0

    # the state ---------------------------------------------------------------------------
    def statements(self) -> dict[str, KeySetStatement]:
        with self._lock:
            return dict(self._installed)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """Apply one record of the keys topic (public for unit tests)."""
        node = key.decode() if key else ""
        if value is None:  # tombstone: the node is gone from the compacted topic
            if node:
                self._drop(node, None)
            return
        try:
            statement = verify_statement(value, self.anchors, now=self._clock(), check_expiry=False)
        except TrustError as exc:
            self.rejected += 1
            # Statements of another (e.g. a retired) anchor are expected on a long-lived
            # topic; anything else (bad signature, malformed) deserves a warning.
            level = logging.INFO if "unknown anchor" in str(exc) else logging.WARNING
            logger.log(level, "keys topic: rejected a statement for %r: %s", node or "?", exc)
            return
        if node and node != statement.node:
            self.rejected += 1
            logger.warning("keys topic: record key %s names statement of %s", node, statement.node)
            return
        with self._lock:
            current = self._installed.get(statement.node)
            known_rev = max(
                current.revision if current else -1, self._removed_rev.get(statement.node, -1)
            )
        if statement.revision <= known_rev:
            return  # an older or repeated statement
        if not statement.active or statement.expires_at < self._clock():
            self._drop(statement.node, statement)
            return
        try:
            self.key_sets.put(statement.node, statement.jwks)
        except (ValueError, TypeError, KeyError) as exc:
            self.rejected += 1
            logger.warning("keys topic: key set of %s is unusable: %s", statement.node, exc)
            return
        with self._lock:
            self._installed[statement.node] = statement
            self._removed_rev.pop(statement.node, None)
        self.applied += 1
        logger.info("trusting key set of node %s (revision %d)", statement.node, statement.revision)
        if self.on_change is not None:
            self.on_change(statement, STATUS_ACTIVE)

    def _drop(self, node: str, statement: KeySetStatement | None) -> None:
        with self._lock:
            self._installed.pop(node, None)
            if statement is not None:
                self._removed_rev[node] = statement.revision
        self.key_sets.remove(node)
        self.applied += 1
        logger.warning("no longer trusting node %s", node)
        if self.on_change is not None:
            self.on_change(statement, STATUS_REMOVED)

    def expire(self) -> None:
        """Drop key sets whose statement has expired (the hub re-signs well before)."""
        now = self._clock()
        for node, statement in self.statements().items():
            if statement.expires_at < now:
                self._drop(node, statement)

    # the loop ----------------------------------------------------------------------------
    def start(self) -> KeySetFollower:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="keyset-follower", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wait_caught_up(self, timeout: float = 10.0) -> bool:
        """True once everything on the topic at start was applied."""
        return self._caught_up.wait(timeout)

    def _run(self) -> None:
        backoff = 0.5
        last_expiry = 0.0
        while not self._stop.is_set():
            try:
                self._poll()
                backoff = 0.5
                if self._clock() - last_expiry > 60:
                    self.expire()
                    last_expiry = self._clock()
            except Exception as exc:
                logger.warning("keys follower: %s; retrying in %.1fs", exc, backoff)
                self._close()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        self._close()

    def _close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close(autocommit=False)
            except Exception:
                logger.debug("keys follower: close failed", exc_info=True)
            self._consumer = None

    def _assign(self) -> bool:
        from kafka import KafkaConsumer
        from kafka.structs import TopicPartition

        if self._consumer is None:
            self._consumer = KafkaConsumer(
                **kafka.client_settings(),
                bootstrap_servers=kafka.servers(self.bootstrap),
                group_id=None,
                client_id="puhui-keyset-follower",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                metadata_max_age_ms=5_000,
                reconnect_backoff_max_ms=2_000,
                request_timeout_ms=15_000,
            )
        consumer = self._consumer
        if consumer.assignment():
            return True
        partitions = consumer.partitions_for_topic(self.topic)
        if not partitions:
            self._stop.wait(0.5)
            return False
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        self._end_offsets = dict(consumer.end_offsets(tps))
        if not any(self._end_offsets.values()):
            self._caught_up.set()
        return True

    def _poll(self) -> None:
        if not self._assign():
            return
        consumer = self._consumer
        batches = consumer.poll(timeout_ms=self.poll_timeout_ms, max_records=500)
        for records in batches.values():
            for record in records:
                self.apply(record.key, record.value)
        if not self._caught_up.is_set() and all(
            consumer.position(tp) >= end for tp, end in self._end_offsets.items()
        ):
            self._caught_up.set()


# -- configuration and the verifier every service uses ---------------------------------------
@dataclasses.dataclass(frozen=True, kw_only=True)
class TrustConfig:
    """Federation trust settings, read by every service process."""

    node_id: str = setting("PUHUI_NODE_ID", HUB_NODE_ID, doc="This node's id.")
    kafka_bootstrap: str = setting("PUHUI_KAFKA_BOOTSTRAP", "", doc="Kafka bootstrap servers.")
    trust_anchor_jwks: str = setting(
        "PUHUI_TRUST_ANCHOR_JWKS",
        "",
        doc="Public JWK Set (JSON) of the federation trust anchor, or @path to a file holding "
        "it; empty = single-node trust (only this node's own identity keys).",
        example="@/etc/puhui/anchor.jwks.json",
    )
    keys_topic: str = setting(
        "PUHUI_TRUST_KEYS_TOPIC", KEYS_TOPIC, doc="Compacted topic of hub-signed key sets."
    )
    token_audience: str = setting(
        "PUHUI_TOKEN_AUDIENCE", "puhui", doc="Audience access tokens must carry."
    )


def load_anchor_jwks(value: str) -> str:
    if value.startswith("@"):
        with open(value[1:], encoding="utf-8") as fh:
            return fh.read()
    return value


class FederatedVerifier(JwtVerifier):
    """A `JwtVerifier` whose key sets come from the hub-signed keys topic and whose revoked
    tokens come from every node's revocation topic (`puhui.kit.revocation`, ADR 0014)."""

    def __init__(
        self,
        key_sets: KeySets,
        *,
        audience: str | Iterable[str] = "puhui",
        follower: KeySetFollower | None = None,
        revocation_store: RevocationStore | None = None,
        bootstrap: str = "",
    ) -> None:
        super().__init__(key_sets, audience, issuers=None, revocation_store=revocation_store)
        self.follower = follower
        self.revocation_follower = (
            RevocationFollower(bootstrap, lambda: self.revocations) if bootstrap else None
        )

    def start(self) -> FederatedVerifier:
        if self.follower is not None:
            self.follower.start()
        if self.revocation_follower is not None:
            self.revocation_follower.start()
        return self

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()
        if self.revocation_follower is not None:
            self.revocation_follower.stop()

    def wait_caught_up(self, timeout: float = 10.0) -> bool:
        """True once the key sets and the recent revocations on Kafka were applied."""
        deadline = time.monotonic() + timeout
        keys = self.follower is None or self.follower.wait_caught_up(timeout)
        left = max(0.0, deadline - time.monotonic())
        revoked = self.revocation_follower is None or self.revocation_follower.wait_caught_up(left)
        return keys and revoked


def federated_verifier(
    *,
    node_id: str,
    bootstrap: str,
    anchor_jwks: Mapping[str, Any] | str | None,
    topic: str = KEYS_TOPIC,
    audience: str | Iterable[str] = "puhui",
    loader: Callable[[str], Any] | None = None,
    revocation_store: RevocationStore | None = None,
) -> FederatedVerifier:
    """The verifier a service process uses (not started: call `.start()`).

    With an anchor and Kafka: key sets of every node from the keys topic (`loader` is not
    used — an unsigned key set is never trusted). Without: only `loader` (e.g. this node's
    own identity service), the single-node default. With Kafka, either way, revocations of
    every node are followed into `revocation_store` (default: this process's memory).
    """
    store = MemoryRevocationStore() if revocation_store is None else revocation_store
    if anchor_jwks and bootstrap:
        key_sets = KeySets(None, ttl_seconds=float("inf"))
        follower = KeySetFollower(bootstrap, key_sets, anchor_keys(anchor_jwks), topic=topic)
        return FederatedVerifier(
            key_sets,
            audience=audience,
            follower=follower,
            revocation_store=store,
            bootstrap=bootstrap,
        )
    own = node_id

    def own_only(issuer: str) -> Any:
        return loader(issuer) if loader is not None and issuer == own else None

    key_sets = KeySets(own_only, ttl_seconds=60.0, unknown_kid_retry_seconds=2.0)
    return FederatedVerifier(
        key_sets, audience=audience, revocation_store=store, bootstrap=bootstrap
    )


def verifier_from_env(
    environ: Mapping[str, str] | None = None, **overrides: Any
) -> FederatedVerifier | None:
    """The federated verifier configured by PUHUI_TRUST_ANCHOR_JWKS, or None when unset."""
    from puhui.kit.config import load

    cfg = load(TrustConfig, environ, **overrides)
    if not cfg.trust_anchor_jwks or not cfg.kafka_bootstrap:
        return None
    return federated_verifier(
        node_id=cfg.node_id,
        bootstrap=cfg.kafka_bootstrap,
        anchor_jwks=load_anchor_jwks(cfg.trust_anchor_jwks),
        topic=cfg.keys_topic,
        audience=cfg.token_audience,
    )


def ensure_keys_topic(bootstrap: str, topic: str = KEYS_TOPIC) -> None:
    kafka.ensure_topics(bootstrap, [topic], partitions=1, configs=KEYS_TOPIC_CONFIG)
