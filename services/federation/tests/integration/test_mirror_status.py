"""GetFederationStatus compares each province's data sets with the hub's: a province is in
sync only when every data set's count AND content hash equal the hub's (the probe stands in
for the data services' GetMirrorStatus replies; tests/test_federation_data_distribution.py
runs the real ones)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from puhui.data.v1 import data_pb2
from puhui.federation import domain
from puhui.federation.adapters.registry_store import SqlRegistryStore
from puhui.federation.registry import Registry
from puhui.federation.servicer import FederationServicer
from puhui.federation.tests.unit.test_trust import JWKS
from puhui.federation.v1 import federation_pb2 as fpb
from puhui.kit import migrations, trust
from puhui.kit.db import Database

pytestmark = pytest.mark.integration
PATENTS, TRADEMARKS = data_pb2.DATA_SET_PATENTS, data_pb2.DATA_SET_TRADEMARKS


def mirror(*sets: tuple[int, int, str]) -> data_pb2.MirrorStatus:
    return data_pb2.MirrorStatus(
        data_sets=[
            data_pb2.DataSetStatus(data_set=ds, record_count=n, content_hash=h) for ds, n, h in sets
        ]
    )


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    url = f"sqlite:///{tmp_path / 'federation.db'}"
    migrations.upgrade("federation", url)
    db = Database(url)
    db.start()
    registry = Registry(db, trust.TrustAnchor.generate(), store=SqlRegistryStore)
    for node in ("440000", "320000", "110000", "510000"):
        registry.join(
            domain.JoinRequest(node, f"node {node}", [("data", f"{node}:1")], json.dumps(JWKS)),
            admin=True,
        )
    yield registry
    db.stop()


def test_in_sync_needs_every_count_and_hash_equal(registry: Registry) -> None:
    replies = {
        "hub:1": mirror((PATENTS, 10, "p1"), (TRADEMARKS, 10, "t1")),
        "440000:1": mirror((PATENTS, 10, "p1"), (TRADEMARKS, 10, "t1")),  # complete
        "320000:1": mirror((PATENTS, 10, "p1"), (TRADEMARKS, 10, "t-old")),  # a stale record
        "110000:1": mirror((PATENTS, 10, "p1")),  # trademarks not mirrored yet
        # 510000 does not answer
    }
    servicer = FederationServicer(
        registry, registry.db, mirror_probe=replies.get, hub_data_address=lambda: "hub:1"
    )
    status = servicer.GetFederationStatus(fpb.GetFederationStatusRequest(), None)  # type: ignore[arg-type]
    by_node = {p.node_id: p for p in status.provinces}
    assert status.hub_data_records == 20
    seen = {
        n: (p.mirror_records, p.mirror_completeness, p.mirror_in_sync) for n, p in by_node.items()
    }
    assert seen == {
        "440000": (20, 1.0, True),
        "320000": (20, 1.0, False),  # every record counted, one differs: not complete
        "110000": (10, 0.5, False),
        "510000": (0, -1.0, False),  # unknown
    }
