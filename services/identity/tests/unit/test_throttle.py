"""The in-process sign-in throttle against the shared throttle contract."""

from __future__ import annotations

import pytest

from puhui.identity.adapters.throttle import MemoryThrottle
from puhui.identity.tests.throttle_contract import CHECKS


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_memory_throttle(check):
    check(lambda policy, clock: MemoryThrottle(policy, clock))
