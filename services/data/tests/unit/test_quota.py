"""Quota tiers, windows and export accounting (in-process counters, fixed clock)."""

from __future__ import annotations

import pytest

from puhui.data.adapters.quota import MemoryCounters
from puhui.data.errors import QuotaExhausted
from puhui.data.quota import Quota, parse_limits, tier_of
from puhui.kit.auth import Principal

LIMITS = parse_limits("anonymous=2/10,innovator=3/20,institution=4/30,node=5/40")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_tiers_follow_roles():
    assert tier_of(Principal(client_address="1.2.3.4")) == "anonymous"
    assert tier_of(Principal(subject="a", roles=frozenset({"innovator"}))) == "innovator"
    assert (
        tier_of(Principal(subject="a", roles=frozenset({"innovator", "institution_staff"})))
        == "institution"
    )
    assert tier_of(Principal(subject="n", roles=frozenset({"node_service"}))) == "node"
    assert tier_of(Principal(subject="x")) == "innovator"


def test_requests_per_minute_per_client_address_then_reset():
    clock = Clock(1_000_040.0)  # 40 s before the minute ends
    quota = Quota(MemoryCounters(), LIMITS, clock=clock)
    alice = Principal(client_address="10.0.0.1")
    bob = Principal(client_address="10.0.0.2")
    assert [quota.request(alice).remaining for _ in range(2)] == [1, 0]
    with pytest.raises(QuotaExhausted) as err:
        quota.request(alice)
    assert err.value.retry_after_seconds == 40
    assert quota.request(bob).remaining == 1  # another address has its own window
    clock.now += 40
    assert quota.request(alice).remaining == 1


def test_exported_records_per_day_are_taken_back_when_refused():
    quota = Quota(MemoryCounters(), LIMITS, clock=Clock(86400 * 100 + 3600))
    user = Principal(subject="u", roles=frozenset({"innovator"}))
    assert quota.records(user, 15).remaining == 5
    with pytest.raises(QuotaExhausted) as err:
        quota.records(user, 10)
    assert err.value.retry_after_seconds == 86400 - 3600
    assert quota.peek_records(user).remaining == 5
    assert quota.records(user, 5).remaining == 0


def test_malformed_limits_are_rejected():
    with pytest.raises(ValueError, match="tier=requests/records"):
        parse_limits("anonymous=lots")
    with pytest.raises(ValueError, match="missing"):
        parse_limits("anonymous=1/1")


def test_refusals_are_counted_by_quota():
    from prometheus_client import REGISTRY

    def refused(quota_name: str) -> float:
        labels = {"node": "unit-quota", "quota": quota_name}
        return REGISTRY.get_sample_value("puhui_data_quota_rejections_total", labels) or 0.0

    before = refused("requests_per_minute"), refused("records_per_day")
    quota = Quota(MemoryCounters(), LIMITS, clock=Clock(1_000_000.0), node="unit-quota")
    user = Principal(subject="u", roles=frozenset({"innovator"}))
    for _ in range(3):
        quota.request(user)
    with pytest.raises(QuotaExhausted):
        quota.request(user)
    with pytest.raises(QuotaExhausted):
        quota.records(user, 21)
    assert (refused("requests_per_minute"), refused("records_per_day")) == (
        before[0] + 1,
        before[1] + 1,
    )
