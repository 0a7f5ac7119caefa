"""A bounded slice of the generated fuzz suite (`make fuzz` runs the long one): at least
200 generated requests per RPC of every service, with and without tokens."""

from __future__ import annotations

import os

import pytest

from tests.fuzz import harness

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PER_RPC = int(os.environ.get("PUHUI_FUZZ_PER_RPC", "200"))


@pytest.mark.timeout(900)
def test_no_rpc_fails_internally_hangs_or_writes_on_rejection(
    database_factory, kafka_bootstrap, redis_url
):
    with harness.node(database_factory, kafka_bootstrap, redis_url) as targets:
        assert {t.service for t in targets} == set(harness.SERVICES)
        assert all(t.rpcs for t in targets)
        reports = harness.fuzz_node(targets, PER_RPC, seed=20261207)
    failures = [line for r in reports.values() for line in r.failures]
    assert not failures, "\n".join(failures)
    for target in targets:
        report = reports[target.service]
        assert report.requests == PER_RPC * len(target.rpcs)
        for rpc in target.rpcs:  # every RPC was reached, and some requests were refused
            codes = report.codes[rpc.path]
            assert sum(codes.values()) == PER_RPC
            assert codes["INVALID_ARGUMENT"] > 0, (rpc.path, dict(codes))
