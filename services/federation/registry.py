"""The node registry at the hub: join, remove, re-sign; every change of a node's trusted key
set writes a signed statement to `key_publications` in the same transaction, and the
`StatementRelay` publishes it to the compacted keys topic (node id as the key)."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from puhui.federation import domain
from puhui.kit import kafka, trust
from puhui.kit.config import HUB_NODE_ID
from puhui.kit.db import Database
from puhui.kit.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied, Violations
from puhui.kit.times import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeRecord:
    node_id: str
    name: str
    endpoints: tuple[tuple[str, str], ...]
    jwks: dict[str, Any]
    status: str
    revision: int
    statement: str
    joined_at: datetime
    updated_at: datetime
    jwks_time: datetime  # of the key set's source: older KeySetChanged events are ignored

    def endpoint(self, service: str) -> str | None:
        return next((a for s, a in self.endpoints if s == service), None)


@dataclass(frozen=True)
class JoinCode:
    code_hash: str
    node_id: str
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class Publication:
    """A signed statement waiting for the keys topic."""

    id: int
    node_id: str
    statement: str


@dataclass(frozen=True)
class SignedNode:
    """A node as a join (or the hub's first key set) writes it, with its new statement."""

    name: str
    endpoints: Sequence[tuple[str, str]]
    jwks: dict[str, Any]
    revision: int
    statement: str
    statement_expires_at: datetime


class RegistryStore(Protocol):
    """The registry's storage within one transaction (adapters/registry_store.py)."""

    def anchor_pem(self) -> bytes | None: ...
    def add_anchor(self, kid: str, private_pem: bytes, now: datetime) -> None: ...
    def node(self, node_id: str, *, lock: bool = False) -> NodeRecord | None: ...
    def nodes(self, *, show_removed: bool) -> list[NodeRecord]: ...
    def expiring_nodes(self, horizon: datetime) -> list[NodeRecord]: ...
    def add_node(
        self, node_id: str, node: SignedNode, *, jwks_time: datetime, now: datetime
    ) -> None: ...
    def rejoin_node(self, node_id: str, node: SignedNode, *, now: datetime) -> None: ...
    def update_node(self, node_id: str, **values: Any) -> None: ...
    def join_code(self, code_hash: str) -> JoinCode | None: ...
    def join_code_exists(self, code_hash: str) -> bool: ...
    def add_join_code(self, code_hash: str, node_id: str, expires_at: datetime) -> None: ...
    def use_join_code(self, code_hash: str, now: datetime) -> None: ...
    def add_publication(self, node_id: str, statement: str, now: datetime) -> None: ...
    def lock_publisher(self) -> bool: ...
    def pending_publications(self, limit: int) -> list[Publication]: ...
    def mark_published(self, ids: Sequence[int], now: datetime) -> None: ...


# A store bound to one session of `Database.transaction()` (the unit of work).
StoreFactory = Callable[[Any], RegistryStore]


def load_anchor(db: Database, configured: str, store: StoreFactory) -> trust.TrustAnchor:
    """The configured anchor (PEM or @file); on an embedded hub, the one kept in the
    database, generated on first start."""
    if configured:
        pem = configured
        if configured.startswith("@"):
            with open(configured[1:], "rb") as fh:
                return trust.TrustAnchor.from_pem(fh.read())
        return trust.TrustAnchor.from_pem(pem)
    with db.transaction() as session:
        stored = store(session).anchor_pem()
        if stored is not None:
            return trust.TrustAnchor.from_pem(stored)
        anchor = trust.TrustAnchor.generate()
        store(session).add_anchor(anchor.kid, anchor.to_pem(), utcnow())
    logger.warning(
        "federation: generated a development trust anchor %s (embedded hub only)", anchor.kid
    )
    return anchor


class Registry:
    def __init__(
        self,
        db: Database,
        anchor: trust.TrustAnchor,
        *,
        store: StoreFactory,
        validity: timedelta = timedelta(days=30),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.store = store
        self.anchor = anchor
        self.validity = validity
        self.clock = clock
        self.wake = threading.Event()

    @contextmanager
    def _transaction(self) -> Iterator[RegistryStore]:
        with self.db.transaction() as session:
            yield self.store(session)

    # -- statements ----------------------------------------------------------------------
    def _sign(
        self,
        store: RegistryStore,
        node_id: str,
        name: str,
        jwks: dict[str, Any],
        status: str,
        revision: int,
    ) -> tuple[str, datetime]:
        now = self.clock()
        statement = self.anchor.sign(
            node_id,
            jwks if status == domain.STATUS_ACTIVE else {"keys": []},
            name=name,
            status=status,
            revision=revision,
            validity_seconds=self.validity.total_seconds(),
            now=now.timestamp(),
        )
        store.add_publication(node_id, statement, now)
        self.wake.set()
        return statement, now + self.validity

    # -- reads ---------------------------------------------------------------------------
    def get(self, node_id: str) -> NodeRecord:
        with self._transaction() as store:
            node = store.node(node_id)
        if node is None:
            raise NotFound(f"node {node_id} is not registered")
        return node

    def list(self, *, show_removed: bool = False) -> list[NodeRecord]:
        with self._transaction() as store:
            return store.nodes(show_removed=show_removed)

    # -- join codes ------------------------------------------------------------------------
    def create_join_code(self, node_id: str, valid_hours: int = 24) -> tuple[str, datetime]:
        v = Violations()
        domain.check_node_id(node_id, v)
        v.check(0 <= valid_hours <= 24 * 30, "valid_hours", "0..720 (0 = 24)")
        v.raise_if_any()
        code = f"pjc_{secrets.token_urlsafe(24)}"
        expires = self.clock() + timedelta(hours=valid_hours or 24)
        with self._transaction() as store:
            store.add_join_code(domain.hash_join_code(code), node_id, expires)
        return code, expires

    def preset_join_codes(self, pairs: tuple[str, ...]) -> None:
        """Accept NODE:CODE pairs from the configuration (local federation, tests)."""
        with self._transaction() as store:
            for pair in pairs:
                node_id, _, code = pair.partition(":")
                digest = domain.hash_join_code(code)
                if not store.join_code_exists(digest):
                    store.add_join_code(digest, node_id, self.clock() + timedelta(days=3650))

    def _use_join_code(self, store: RegistryStore, node_id: str, code: str) -> None:
        found = store.join_code(domain.hash_join_code(code))
        now = self.clock()
        if found is None or found.node_id != node_id:
            raise PermissionDenied("the join code is not valid for this node")
        if found.used_at is not None:
            raise PermissionDenied("the join code has been used already; ask the hub for a new one")
        if found.expires_at < now:
            raise PermissionDenied("the join code has expired; ask the hub for a new one")
        store.use_join_code(found.code_hash, now)

    # -- changes ---------------------------------------------------------------------------
    def join(self, request: domain.JoinRequest, *, admin: bool) -> NodeRecord:
        valid = domain.validate_join(request)
        if not admin and not request.join_code:
            raise InvalidArgument.field("join_code", "required (ask the hub operator for one)")
        now = self.clock()
        with self._transaction() as store:
            node = store.node(valid.node_id, lock=True)
            if node is not None and node.status == domain.STATUS_ACTIVE:
                raise AlreadyExists(
                    f"node {valid.node_id} is already registered "
                    f"(joined {node.joined_at:%Y-%m-%d}); remove it at the hub first to re-join"
                )
            if not admin:
                self._use_join_code(store, valid.node_id, request.join_code)
            revision = (node.revision + 1) if node is not None else 1
            statement, expires = self._sign(
                store, valid.node_id, valid.name, valid.jwks, domain.STATUS_ACTIVE, revision
            )
            signed = SignedNode(
                valid.name, valid.endpoints, valid.jwks, revision, statement, expires
            )
            if node is None:
                store.add_node(valid.node_id, signed, jwks_time=now, now=now)
            else:
                store.rejoin_node(valid.node_id, signed, now=now)
        logger.info("node %s joined the federation (revision %d)", valid.node_id, revision)
        return self.get(valid.node_id)

    def remove(self, node_id: str, reason: str = "") -> NodeRecord:
        v = Violations()
        v.require(node_id, "node_id")
        v.check(node_id != HUB_NODE_ID, "node_id", "the hub cannot be removed")
        v.check(len(reason) <= 500, "reason", "at most 500 characters")
        v.raise_if_any()
        with self._transaction() as store:
            node = store.node(node_id, lock=True)
            if node is None:
                raise NotFound(f"node {node_id} is not registered")
            if node.status != domain.STATUS_REMOVED:
                revision = node.revision + 1
                statement, expires = self._sign(
                    store, node_id, node.name, {"keys": []}, domain.STATUS_REMOVED, revision
                )
                store.update_node(
                    node_id,
                    status=domain.STATUS_REMOVED,
                    revision=revision,
                    statement=statement,
                    statement_expires_at=expires,
                    updated_at=self.clock(),
                    removed_reason=reason or None,
                )
        logger.warning("node %s removed from the federation", node_id)
        return self.get(node_id)

    def apply_key_set(self, session: Any, issuer: str, jwks_json: str, at: datetime) -> bool:
        """A KeySetChanged event from `issuer`'s identity service (inside the consumer's
        transaction, `session`). The hub registers itself on its own first key set; other
        issuers must be registered and active. Returns True when a new statement was signed."""
        v = Violations()
        jwks = domain.check_jwks(jwks_json, v)
        if jwks is None:
            logger.warning("KeySetChanged of %s carries an unusable key set; ignored", issuer)
            return False
        store = self.store(session)
        node = store.node(issuer, lock=True)
        now = self.clock()
        if node is None:
            if issuer != HUB_NODE_ID:
                logger.info("KeySetChanged of unregistered node %s ignored", issuer)
                return False
            name = domain.province_name(issuer) or issuer
            statement, expires = self._sign(store, issuer, name, jwks, domain.STATUS_ACTIVE, 1)
            signed = SignedNode(name, (), jwks, 1, statement, expires)
            store.add_node(issuer, signed, jwks_time=at, now=now)
            return True
        if node.status != domain.STATUS_ACTIVE:
            logger.info("KeySetChanged of removed node %s ignored", issuer)
            return False
        current = node.jwks
        if node.jwks_time >= at or not domain.key_set_changed(current, jwks):
            return False
        if not domain.continues(current, jwks):
            # Continuity: a rotation keeps the previous key (passive), a retirement keeps the
            # active one. A set sharing no key with the trusted one is not a rotation of it —
            # a re-keyed node (or an impostor on the topic) must re-join at the hub.
            logger.warning(
                "KeySetChanged of %s shares no key with its trusted key set; ignored "
                "(re-join the node to replace all its keys)",
                issuer,
            )
            return False
        revision = node.revision + 1
        statement, expires = self._sign(
            store, issuer, node.name, jwks, domain.STATUS_ACTIVE, revision
        )
        store.update_node(
            issuer,
            jwks=jwks,
            jwks_time=at,
            revision=revision,
            statement=statement,
            statement_expires_at=expires,
            updated_at=now,
        )
        logger.info("key set of node %s re-signed (revision %d)", issuer, revision)
        return True

    def register_hub_endpoints(self, endpoints: tuple[tuple[str, str], ...]) -> None:
        with self._transaction() as store:
            store.update_node(HUB_NODE_ID, endpoints=endpoints)

    def resign_expiring(self) -> int:
        """Re-sign active statements past half their validity (so none ever expires)."""
        now = self.clock()
        horizon = now + self.validity / 2
        count = 0
        with self._transaction() as store:
            for node in store.expiring_nodes(horizon):
                revision = node.revision + 1
                statement, expires = self._sign(
                    store, node.node_id, node.name, node.jwks, node.status, revision
                )
                store.update_node(
                    node.node_id,
                    revision=revision,
                    statement=statement,
                    statement_expires_at=expires,
                    updated_at=now,
                )
                count += 1
        return count


class StatementRelay:
    """Publishes pending signed statements to the compacted keys topic, in order.

    Several hub replicas may run a relay; one publishes at a time (a transaction-scoped
    PostgreSQL advisory lock around each batch), so two replicas never interleave a node's
    statements on the compacted topic — where the last one written is the one that stays.
    """

    def __init__(
        self, db: Database, registry: Registry, bootstrap: str, topic: str = trust.KEYS_TOPIC
    ) -> None:
        self.db = db
        self.registry = registry
        self.bootstrap = bootstrap
        self.topic = topic
        self._producer: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="keys-relay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        self.registry.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._producer is not None:
            try:
                self._producer.close(timeout=2)
            except Exception:
                logger.debug("keys relay: producer close failed", exc_info=True)
            self._producer = None

    def _run(self) -> None:
        backoff = 0.5
        last_resign = 0.0
        import time

        while not self._stop.is_set():
            try:
                if time.monotonic() - last_resign > 3600:
                    self.registry.resign_expiring()
                    last_resign = time.monotonic()
                sent = self.publish_once()
                backoff = 0.5
                if not sent:
                    self.registry.wake.wait(0.2)
                    self.registry.wake.clear()
            except Exception as exc:
                logger.warning("keys relay: %s; retrying in %.1fs", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def publish_once(self) -> int:
        with self.db.transaction() as session:
            store = self.registry.store(session)
            if not store.lock_publisher():
                return 0  # another replica is publishing; its batch ends with its transaction
            pending = store.pending_publications(200)
            if not pending:
                return 0
            if self._producer is None:
                self._producer = kafka.make_producer(self.bootstrap, "puhui-federation-keys")
            # One at a time per node keeps per-key order on the compacted topic.
            for publication in pending:
                self._producer.send(
                    self.topic,
                    key=publication.node_id.encode(),
                    value=publication.statement.encode(),
                ).get(timeout=15)
            store.mark_published([p.id for p in pending], utcnow())
        return len(pending)
