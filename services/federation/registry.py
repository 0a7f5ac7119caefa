"""The node registry at the hub: join, remove, re-sign; every change of a node's trusted key
set writes a signed statement to `key_publications` in the same transaction, and the
`StatementRelay` publishes it to the compacted keys topic (node id as the key)."""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from puhui.federation import domain
from puhui.federation.adapters import db as t
from puhui.kit import kafka, trust
from puhui.kit.config import HUB_NODE_ID
from puhui.kit.db import Database
from puhui.kit.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied, Violations
from puhui.kit.times import aware, utcnow

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

    def endpoint(self, service: str) -> str | None:
        return next((a for s, a in self.endpoints if s == service), None)


def _record(row: Any) -> NodeRecord:
    return NodeRecord(
        node_id=row.node_id,
        name=row.name,
        endpoints=tuple((e[0], e[1]) for e in json.loads(row.endpoints_json)),
        jwks=json.loads(row.jwks_json),
        status=row.status,
        revision=int(row.revision),
        statement=row.statement,
        joined_at=aware(row.joined_at),
        updated_at=aware(row.updated_at),
    )


def load_anchor(db: Database, configured: str) -> trust.TrustAnchor:
    """The configured anchor (PEM or @file); on an embedded hub, the one kept in the
    database, generated on first start."""
    if configured:
        pem = configured
        if configured.startswith("@"):
            with open(configured[1:], "rb") as fh:
                return trust.TrustAnchor.from_pem(fh.read())
        return trust.TrustAnchor.from_pem(pem)
    with db.transaction() as session:
        row = session.execute(select(t.anchor_keys).order_by(t.anchor_keys.c.created_at)).first()
        if row is not None:
            return trust.TrustAnchor.from_pem(bytes(row.private_pem))
        anchor = trust.TrustAnchor.generate()
        session.execute(
            t.anchor_keys.insert().values(
                kid=anchor.kid, private_pem=anchor.to_pem(), created_at=utcnow()
            )
        )
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
        validity: timedelta = timedelta(days=30),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.anchor = anchor
        self.validity = validity
        self.clock = clock
        self.wake = threading.Event()

    # -- statements ----------------------------------------------------------------------
    def _sign(
        self,
        session: Session,
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
        session.execute(
            t.key_publications.insert().values(node_id=node_id, statement=statement, created_at=now)
        )
        self.wake.set()
        return statement, now + self.validity

    # -- reads ---------------------------------------------------------------------------
    def get(self, node_id: str) -> NodeRecord:
        with self.db.transaction() as session:
            row = session.execute(select(t.nodes).where(t.nodes.c.node_id == node_id)).first()
        if row is None:
            raise NotFound(f"node {node_id} is not registered")
        return _record(row)

    def list(self, *, show_removed: bool = False) -> list[NodeRecord]:
        query = select(t.nodes).order_by(t.nodes.c.node_id)
        if not show_removed:
            query = query.where(t.nodes.c.status == domain.STATUS_ACTIVE)
        with self.db.transaction() as session:
            return [_record(r) for r in session.execute(query).all()]

    # -- join codes ------------------------------------------------------------------------
    def create_join_code(self, node_id: str, valid_hours: int = 24) -> tuple[str, datetime]:
        v = Violations()
        domain.check_node_id(node_id, v)
        v.check(0 <= valid_hours <= 24 * 30, "valid_hours", "0..720 (0 = 24)")
        v.raise_if_any()
        code = f"pjc_{secrets.token_urlsafe(24)}"
        expires = self.clock() + timedelta(hours=valid_hours or 24)
        with self.db.transaction() as session:
            session.execute(
                t.join_codes.insert().values(
                    code_hash=domain.hash_join_code(code), node_id=node_id, expires_at=expires
                )
            )
        return code, expires

    def preset_join_codes(self, pairs: tuple[str, ...]) -> None:
        """Accept NODE:CODE pairs from the configuration (local federation, tests)."""
        with self.db.transaction() as session:
            for pair in pairs:
                node_id, _, code = pair.partition(":")
                digest = domain.hash_join_code(code)
                found = session.execute(
                    select(t.join_codes.c.code_hash).where(t.join_codes.c.code_hash == digest)
                ).first()
                if found is None:
                    session.execute(
                        t.join_codes.insert().values(
                            code_hash=digest,
                            node_id=node_id,
                            expires_at=self.clock() + timedelta(days=3650),
                        )
                    )

    def _use_join_code(self, session: Session, node_id: str, code: str) -> None:
        row = session.execute(
            select(t.join_codes).where(t.join_codes.c.code_hash == domain.hash_join_code(code))
        ).first()
        now = self.clock()
        if row is None or row.node_id != node_id:
            raise PermissionDenied("the join code is not valid for this node")
        if row.used_at is not None:
            raise PermissionDenied("the join code has been used already; ask the hub for a new one")
        if aware(row.expires_at) < now:
            raise PermissionDenied("the join code has expired; ask the hub for a new one")
        session.execute(
            update(t.join_codes)
            .where(t.join_codes.c.code_hash == row.code_hash)
            .values(used_at=now)
        )

    # -- changes ---------------------------------------------------------------------------
    def join(self, request: domain.JoinRequest, *, admin: bool) -> NodeRecord:
        valid = domain.validate_join(request)
        if not admin and not request.join_code:
            raise InvalidArgument.field("join_code", "required (ask the hub operator for one)")
        now = self.clock()
        with self.db.transaction() as session:
            row = session.execute(
                select(t.nodes).where(t.nodes.c.node_id == valid.node_id).with_for_update()
            ).first()
            if row is not None and row.status == domain.STATUS_ACTIVE:
                raise AlreadyExists(
                    f"node {valid.node_id} is already registered "
                    f"(joined {row.joined_at:%Y-%m-%d}); remove it at the hub first to re-join"
                )
            if not admin:
                self._use_join_code(session, valid.node_id, request.join_code)
            revision = (int(row.revision) + 1) if row is not None else 1
            statement, expires = self._sign(
                session, valid.node_id, valid.name, valid.jwks, domain.STATUS_ACTIVE, revision
            )
            values = {
                "name": valid.name,
                "endpoints_json": json.dumps([list(e) for e in valid.endpoints]),
                "jwks_json": json.dumps(valid.jwks),
                "status": domain.STATUS_ACTIVE,
                "revision": revision,
                "jwks_time": now,
                "statement": statement,
                "statement_expires_at": expires,
                "updated_at": now,
                "removed_reason": None,
            }
            if row is None:
                session.execute(
                    t.nodes.insert().values(node_id=valid.node_id, joined_at=now, **values)
                )
            else:
                session.execute(
                    update(t.nodes)
                    .where(t.nodes.c.node_id == valid.node_id)
                    .values(joined_at=now, **values)
                )
        logger.info("node %s joined the federation (revision %d)", valid.node_id, revision)
        return self.get(valid.node_id)

    def remove(self, node_id: str, reason: str = "") -> NodeRecord:
        v = Violations()
        v.require(node_id, "node_id")
        v.check(node_id != HUB_NODE_ID, "node_id", "the hub cannot be removed")
        v.check(len(reason) <= 500, "reason", "at most 500 characters")
        v.raise_if_any()
        with self.db.transaction() as session:
            row = session.execute(
                select(t.nodes).where(t.nodes.c.node_id == node_id).with_for_update()
            ).first()
            if row is None:
                raise NotFound(f"node {node_id} is not registered")
            if row.status != domain.STATUS_REMOVED:
                revision = int(row.revision) + 1
                statement, expires = self._sign(
                    session, node_id, row.name, {"keys": []}, domain.STATUS_REMOVED, revision
                )
                session.execute(
                    update(t.nodes)
                    .where(t.nodes.c.node_id == node_id)
                    .values(
                        status=domain.STATUS_REMOVED,
                        revision=revision,
                        statement=statement,
                        statement_expires_at=expires,
                        updated_at=self.clock(),
                        removed_reason=reason or None,
                    )
                )
        logger.warning("node %s removed from the federation", node_id)
        return self.get(node_id)

    def apply_key_set(self, session: Session, issuer: str, jwks_json: str, at: datetime) -> bool:
        """A KeySetChanged event from `issuer`'s identity service (inside the consumer's
        transaction). The hub registers itself on its own first key set; other issuers must
        be registered and active. Returns True when a new statement was signed."""
        v = Violations()
        jwks = domain.check_jwks(jwks_json, v)
        if jwks is None:
            logger.warning("KeySetChanged of %s carries an unusable key set; ignored", issuer)
            return False
        row = session.execute(
            select(t.nodes).where(t.nodes.c.node_id == issuer).with_for_update()
        ).first()
        now = self.clock()
        if row is None:
            if issuer != HUB_NODE_ID:
                logger.info("KeySetChanged of unregistered node %s ignored", issuer)
                return False
            statement, expires = self._sign(
                session,
                issuer,
                domain.province_name(issuer) or issuer,
                jwks,
                domain.STATUS_ACTIVE,
                1,
            )
            session.execute(
                t.nodes.insert().values(
                    node_id=issuer,
                    name=domain.province_name(issuer) or issuer,
                    endpoints_json="[]",
                    jwks_json=json.dumps(jwks),
                    status=domain.STATUS_ACTIVE,
                    revision=1,
                    jwks_time=at,
                    statement=statement,
                    statement_expires_at=expires,
                    joined_at=now,
                    updated_at=now,
                )
            )
            return True
        if row.status != domain.STATUS_ACTIVE:
            logger.info("KeySetChanged of removed node %s ignored", issuer)
            return False
        current = json.loads(row.jwks_json)
        if aware(row.jwks_time) >= at or not domain.key_set_changed(current, jwks):
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
        revision = int(row.revision) + 1
        statement, expires = self._sign(
            session, issuer, row.name, jwks, domain.STATUS_ACTIVE, revision
        )
        session.execute(
            update(t.nodes)
            .where(t.nodes.c.node_id == issuer)
            .values(
                jwks_json=json.dumps(jwks),
                jwks_time=at,
                revision=revision,
                statement=statement,
                statement_expires_at=expires,
                updated_at=now,
            )
        )
        logger.info("key set of node %s re-signed (revision %d)", issuer, revision)
        return True

    def register_hub_endpoints(self, endpoints: tuple[tuple[str, str], ...]) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(t.nodes)
                .where(t.nodes.c.node_id == HUB_NODE_ID)
                .values(endpoints_json=json.dumps([list(e) for e in endpoints]))
            )

    def resign_expiring(self) -> int:
        """Re-sign active statements past half their validity (so none ever expires)."""
        now = self.clock()
        horizon = now + self.validity / 2
        count = 0
        with self.db.transaction() as session:
            rows = session.execute(
                select(t.nodes)
                .where(
                    t.nodes.c.status == domain.STATUS_ACTIVE,
                    t.nodes.c.statement_expires_at < horizon,
                )
                .with_for_update()
            ).all()
            for row in rows:
                revision = int(row.revision) + 1
                statement, expires = self._sign(
                    session, row.node_id, row.name, json.loads(row.jwks_json), row.status, revision
                )
                session.execute(
                    update(t.nodes)
                    .where(t.nodes.c.node_id == row.node_id)
                    .values(
                        revision=revision,
                        statement=statement,
                        statement_expires_at=expires,
                        updated_at=now,
                    )
                )
                count += 1
        return count


# PostgreSQL advisory lock held by the one hub replica publishing statements ("puhui-kr").
KEYS_RELAY_LOCK = 0x70756875692D6B72


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
        kp = t.key_publications
        with self.db.transaction() as session:
            if (
                not self.db.is_sqlite
                and not session.execute(
                    select(func.pg_try_advisory_xact_lock(KEYS_RELAY_LOCK))
                ).scalar_one()
            ):
                return 0  # another replica is publishing; its batch ends with its transaction
            rows = session.execute(
                select(kp.c.id, kp.c.node_id, kp.c.statement)
                .where(kp.c.published_at.is_(None))
                .order_by(kp.c.id)
                .limit(200)
            ).all()
            if not rows:
                return 0
            if self._producer is None:
                self._producer = kafka.make_producer(self.bootstrap, "puhui-federation-keys")
            # One at a time per node keeps per-key order on the compacted topic.
            for row in rows:
                self._producer.send(
                    self.topic, key=row.node_id.encode(), value=row.statement.encode()
                ).get(timeout=15)
            session.execute(
                update(kp).where(kp.c.id.in_([r.id for r in rows])).values(published_at=utcnow())
            )
        return len(rows)
