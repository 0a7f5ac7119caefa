"""Two hub replicas: only one publishes signed statements at a time (PostgreSQL advisory
lock), so a node's statements reach the compacted keys topic in their order."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from puhui.federation import domain
from puhui.federation.adapters import db as t
from puhui.federation.adapters.registry_store import KEYS_RELAY_LOCK, SqlRegistryStore
from puhui.federation.registry import Registry, StatementRelay
from puhui.federation.tests.unit.test_trust import JWKS
from puhui.kit import kafka, migrations, trust
from puhui.kit.db import Database

pytestmark = pytest.mark.integration


def unpublished(db: Database) -> int:
    kp = t.key_publications
    with db.transaction() as s:
        return int(
            s.execute(
                select(func.count()).select_from(kp).where(kp.c.published_at.is_(None))
            ).scalar_one()
        )


def test_one_replica_publishes_at_a_time(database_url: str, kafka_bootstrap: str) -> None:
    migrations.upgrade("federation", database_url)
    db = Database(database_url)
    db.start()
    topic = f"{trust.KEYS_TOPIC}.t{uuid.uuid4().hex[:8]}"
    kafka.ensure_topics(kafka_bootstrap, [topic], partitions=1)
    registry = Registry(db, trust.TrustAnchor.generate(), store=SqlRegistryStore)
    registry.join(
        domain.JoinRequest("440000", "广东", [("data", "gd:1")], json.dumps(JWKS)), admin=True
    )
    relay = StatementRelay(db, registry, kafka_bootstrap, topic)
    try:
        assert unpublished(db) == 1
        # Another replica is in the middle of a batch: it holds the lock in its transaction.
        with db.transaction() as other:
            assert other.execute(select(func.pg_try_advisory_xact_lock(KEYS_RELAY_LOCK))).scalar()
            assert relay.publish_once() == 0
            assert unpublished(db) == 1
        # Its transaction ended: this replica publishes.
        assert relay.publish_once() == 1
        assert unpublished(db) == 0
    finally:
        relay.stop()
        db.stop()
