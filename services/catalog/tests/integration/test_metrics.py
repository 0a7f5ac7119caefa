"""The institutions gauge is counted in the catalog's database when the registry is scraped."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from puhui.catalog.tests.support import GD_ADMIN, institution
from puhui.catalog.v1 import catalog_pb2

pytestmark = pytest.mark.integration


def _institutions(node: str) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for family in REGISTRY.collect():
        if family.name == "puhui_catalog_institutions":
            for s in family.samples:
                if s.labels["node"] == node and s.value:
                    out[(s.labels["tier"], s.labels["status"])] = s.value
    return out


def test_institutions_gauge_counts_rows_at_scrape_time(fresh_catalog):
    assert _institutions("440000") == {}
    fresh_catalog.as_(GD_ADMIN).CreateInstitution(
        catalog_pb2.CreateInstitutionRequest(institution=institution())
    )
    counted = _institutions("440000")
    assert sum(counted.values()) == 1
    ((tier, status),) = counted
    assert tier == "prefecture_centre"
    assert status in {"pending", "approved"}
