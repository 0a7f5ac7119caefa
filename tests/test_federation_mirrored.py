"""The second topology: one Kafka cluster per province, mirrored to the hub's cluster by
MirrorMaker 2 with the identity replication policy (no renaming: `puhui.440000.*` on the
province's cluster is `puhui.440000.*` on the hub's). The province's catalog writes only to
its own cluster; the hub's national catalog, which consumes only the hub's cluster by topic
pattern, fills up through MM2."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from puhui.catalog import seed as catalog_seed
from puhui.catalog.adapters import db as catalog_tables
from puhui.federation.testing import federation
from puhui.federation.v1 import federation_pb2 as fpb
from puhui.kit.testing import free_port, load_infra

pytestmark = pytest.mark.integration


@pytest.fixture
def two_clusters(tmp_path: Path) -> Iterator[tuple[str, str, Any]]:
    """(province bootstrap, hub bootstrap, infra) — two fresh single-node clusters."""
    infra = load_infra()
    with contextlib.ExitStack() as stack:
        province = infra.start_kafka(tmp_path / "gd", free_port(), free_port())
        stack.callback(province.stop)
        hub = infra.start_kafka(tmp_path / "hub", free_port(), free_port())
        stack.callback(hub.stop)
        yield province.address, hub.address, infra


def test_province_events_reach_the_hub_through_mirror_maker(
    two_clusters: tuple[str, str, Any], database_factory: Callable[[str], str], tmp_path: Path
) -> None:
    province_kafka, hub_kafka, infra = two_clusters
    with federation(hub_kafka, database_factory) as fed:
        fed.start_hub()
        gd = fed.start_node("440000", ("catalog",), catalog={"kafka_bootstrap": province_kafka})
        app = gd.app("catalog")
        made, _ = catalog_seed.seed(app.db, app.outbox, "440000", 12, 3)
        with app.db.transaction() as s:
            approved = s.execute(
                select(func.count())
                .select_from(catalog_tables.institutions)
                .where(catalog_tables.institutions.c.status == 2)
            ).scalar_one()

        mm2 = infra.start_mirror_maker(
            tmp_path / "mm2", province_kafka, hub_kafka, r"puhui\.440000\..*",
            source="GD", target="HUB",
        )  # fmt: skip
        fed.stack.callback(mm2.stop)

        stub = fed.federation_stub()
        # Set-up on two fresh clusters: 120 s was once not enough on a loaded machine.
        deadline = time.monotonic() + 240
        provinces: dict[str, Any] = {}
        while time.monotonic() < deadline:
            stats = stub.GetNationalStatistics(fpb.GetNationalStatisticsRequest())
            provinces = {p.node_id: p for p in stats.provinces}
            if "440000" in provinces and provinces["440000"].institutions == made:
                break
            time.sleep(0.5)
        assert "440000" in provinces, "nothing arrived at the hub through MirrorMaker 2"
        assert provinces["440000"].institutions == made
        assert provinces["440000"].approved_institutions == approved
        found = stub.SearchNationalCatalog(fpb.SearchNationalCatalogRequest(node_ids=["440000"]))
        assert found.total_size == approved
