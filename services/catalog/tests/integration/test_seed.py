"""`python -m puhui.catalog seed` loads examples into PostgreSQL, once."""

from __future__ import annotations

import os
import subprocess
import sys

import grpc
import pytest

from puhui.catalog import seed
from puhui.catalog.server import build
from puhui.catalog.tests.support import RoleTokens
from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from puhui.kit.testing import running

pytestmark = pytest.mark.integration


def run_seed(url: str) -> str:
    env = {
        **os.environ,
        "PUHUI_DATABASE_URL": url,
        "PUHUI_NODE_ID": "440000",
        "PUHUI_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-m", "puhui.catalog", "seed", "--examples", "30", "--seed", "5"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout


def test_seed_command_loads_examples_once(database_url):
    out = run_seed(database_url)
    assert "seeded 30 example institutions" in out
    app = build(
        verifier=RoleTokens(),
        node_id="440000",
        database_url=database_url,
        grpc_port=0,
        metrics_port=0,
    )
    with running(app) as host, grpc.insecure_channel(host.address) as channel:
        # Seeding again does nothing.
        assert seed.seed(app.db, app.outbox, "440000", 30, 5) == (0, 0)
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        found = stub.SearchInstitutions(
            catalog_pb2.SearchInstitutionsRequest(query="示例", page_size=100), timeout=10
        )
        assert 20 <= found.total_size <= 30  # the approved ones are public
        assert all(i.is_example for i in found.institutions)
        tiscs = stub.SearchInstitutions(
            catalog_pb2.SearchInstitutionsRequest(tiers=[catalog_pb2.INSTITUTION_TIER_TISC]),
            timeout=10,
        )
        assert tiscs.total_size >= 1
        match = stub.Match(
            catalog_pb2.MatchRequest(
                profile=catalog_pb2.InnovatorProfile(
                    region_code="440300", needs=[catalog_pb2.SERVICE_CATEGORY_PATENT_SEARCH]
                )
            ),
            timeout=10,
        )
        assert match.matches
