"""The registry's tables in SQL: `SqlRegistryStore` implements `registry.RegistryStore`
on one session (one transaction) — nodes, join codes, the anchor key and the queue of
signed statements waiting for the keys topic."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from puhui.federation import domain
from puhui.federation.adapters import db as t
from puhui.federation.registry import JoinCode, NodeRecord, Publication, SignedNode
from puhui.kit.db import is_postgresql
from puhui.kit.times import aware

# PostgreSQL advisory lock held by the one hub replica publishing statements ("puhui-kr").
KEYS_RELAY_LOCK = 0x70756875692D6B72


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
        jwks_time=aware(row.jwks_time),
    )


def _endpoints_json(endpoints: Sequence[tuple[str, str]]) -> str:
    return json.dumps([list(e) for e in endpoints])


def _written(node: SignedNode, now: datetime) -> dict[str, Any]:
    return {
        "name": node.name,
        "endpoints_json": _endpoints_json(node.endpoints),
        "jwks_json": json.dumps(node.jwks),
        "status": domain.STATUS_ACTIVE,
        "revision": node.revision,
        "statement": node.statement,
        "statement_expires_at": node.statement_expires_at,
        "updated_at": now,
    }


class SqlRegistryStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- anchor ------------------------------------------------------------------------------
    def anchor_pem(self) -> bytes | None:
        row = self.session.execute(
            select(t.anchor_keys).order_by(t.anchor_keys.c.created_at)
        ).first()
        return None if row is None else bytes(row.private_pem)

    def add_anchor(self, kid: str, private_pem: bytes, now: datetime) -> None:
        self.session.execute(
            t.anchor_keys.insert().values(kid=kid, private_pem=private_pem, created_at=now)
        )

    # -- nodes -------------------------------------------------------------------------------
    def node(self, node_id: str, *, lock: bool = False) -> NodeRecord | None:
        query = select(t.nodes).where(t.nodes.c.node_id == node_id)
        row = self.session.execute(query.with_for_update() if lock else query).first()
        return None if row is None else _record(row)

    def nodes(self, *, show_removed: bool) -> list[NodeRecord]:
        query = select(t.nodes).order_by(t.nodes.c.node_id)
        if not show_removed:
            query = query.where(t.nodes.c.status == domain.STATUS_ACTIVE)
        return [_record(r) for r in self.session.execute(query).all()]

    def expiring_nodes(self, horizon: datetime) -> list[NodeRecord]:
        """Active nodes whose statement expires before `horizon`, locked for update."""
        rows = self.session.execute(
            select(t.nodes)
            .where(
                t.nodes.c.status == domain.STATUS_ACTIVE,
                t.nodes.c.statement_expires_at < horizon,
            )
            .with_for_update()
        ).all()
        return [_record(r) for r in rows]

    def add_node(
        self, node_id: str, node: SignedNode, *, jwks_time: datetime, now: datetime
    ) -> None:
        self.session.execute(
            t.nodes.insert().values(
                node_id=node_id, jwks_time=jwks_time, joined_at=now, **_written(node, now)
            )
        )

    def rejoin_node(self, node_id: str, node: SignedNode, *, now: datetime) -> None:
        self.session.execute(
            update(t.nodes)
            .where(t.nodes.c.node_id == node_id)
            .values(jwks_time=now, joined_at=now, removed_reason=None, **_written(node, now))
        )

    def update_node(self, node_id: str, **values: Any) -> None:
        """Set the named columns of a node (`jwks` is stored as its JSON)."""
        if "jwks" in values:
            values["jwks_json"] = json.dumps(values.pop("jwks"))
        if "endpoints" in values:
            values["endpoints_json"] = _endpoints_json(values.pop("endpoints"))
        self.session.execute(update(t.nodes).where(t.nodes.c.node_id == node_id).values(**values))

    # -- join codes --------------------------------------------------------------------------
    def join_code(self, code_hash: str) -> JoinCode | None:
        row = self.session.execute(
            select(t.join_codes).where(t.join_codes.c.code_hash == code_hash)
        ).first()
        if row is None:
            return None
        used = None if row.used_at is None else aware(row.used_at)
        return JoinCode(row.code_hash, row.node_id, aware(row.expires_at), used)

    def join_code_exists(self, code_hash: str) -> bool:
        return (
            self.session.execute(
                select(t.join_codes.c.code_hash).where(t.join_codes.c.code_hash == code_hash)
            ).first()
            is not None
        )

    def add_join_code(self, code_hash: str, node_id: str, expires_at: datetime) -> None:
        self.session.execute(
            t.join_codes.insert().values(
                code_hash=code_hash, node_id=node_id, expires_at=expires_at
            )
        )

    def use_join_code(self, code_hash: str, now: datetime) -> None:
        self.session.execute(
            update(t.join_codes).where(t.join_codes.c.code_hash == code_hash).values(used_at=now)
        )

    # -- statements waiting for the keys topic ------------------------------------------------
    def add_publication(self, node_id: str, statement: str, now: datetime) -> None:
        self.session.execute(
            t.key_publications.insert().values(node_id=node_id, statement=statement, created_at=now)
        )

    def lock_publisher(self) -> bool:
        """Whether this transaction may publish: on PostgreSQL, one replica at a time holds
        a transaction-scoped advisory lock; SQLite has one process."""
        if not is_postgresql(self.session):
            return True
        return bool(
            self.session.execute(
                select(func.pg_try_advisory_xact_lock(KEYS_RELAY_LOCK))
            ).scalar_one()
        )

    def pending_publications(self, limit: int) -> list[Publication]:
        kp = t.key_publications
        rows = self.session.execute(
            select(kp.c.id, kp.c.node_id, kp.c.statement)
            .where(kp.c.published_at.is_(None))
            .order_by(kp.c.id)
            .limit(limit)
        ).all()
        return [Publication(r.id, r.node_id, r.statement) for r in rows]

    def mark_published(self, ids: Sequence[int], now: datetime) -> None:
        kp = t.key_publications
        self.session.execute(update(kp).where(kp.c.id.in_(list(ids))).values(published_at=now))
