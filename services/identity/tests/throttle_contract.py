"""One contract for both sign-in throttles (in-process and Redis): the same behaviour."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable

from puhui.identity import domain
from puhui.identity.tests.fakes import Clock

POLICY = domain.ThrottlePolicy(
    free_failures=2,
    base_delay=1.0,
    max_delay=4.0,
    lockout_failures=6,
    lockout_seconds=300.0,
    address_ceiling=50,
    window_seconds=600.0,
)

Factory = Callable[[domain.ThrottlePolicy, Clock], domain.SignInThrottle]


def _address() -> str:
    """A fresh documentation-range IPv6 address, so runs against a shared Redis never meet."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def _account() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.cn"


def check_growing_delays_then_lockout(make: Factory) -> None:
    clock = Clock()
    throttle = make(POLICY, clock)
    account, address = _account(), _address()
    delays = []
    for _ in range(5):
        assert throttle.check(account, address).allowed
        throttle.failed(account, address)
        verdict = throttle.check(account, address)
        delays.append(round(verdict.retry_after, 3))
        clock.advance(verdict.retry_after)
    assert delays == [0.0, 0.0, 1.0, 2.0, 4.0]
    throttle.failed(account, address)  # 6th failure: locked
    locked = throttle.check(account, address)
    assert locked.result is domain.SignInResult.LOCKED
    assert locked.retry_after == 300.0
    clock.advance(301)
    assert throttle.check(account, address).allowed


def check_other_addresses_are_not_locked_out(make: Factory) -> None:
    clock = Clock()
    throttle = make(POLICY, clock)
    account, attacker, user = _account(), _address(), _address()
    for _ in range(6):
        throttle.failed(account, attacker)
    assert throttle.check(account, attacker).result is domain.SignInResult.LOCKED
    assert throttle.check(account, user).allowed


def check_success_resets_the_pair(make: Factory) -> None:
    clock = Clock()
    throttle = make(POLICY, clock)
    account, address = _account(), _address()
    for _ in range(3):
        throttle.failed(account, address)
    assert not throttle.check(account, address).allowed
    throttle.succeeded(account, address)
    assert throttle.check(account, address).allowed


def check_address_ceiling(make: Factory) -> None:
    clock = Clock()
    throttle = make(dataclasses.replace(POLICY, address_ceiling=5), clock)
    address = _address()
    for _ in range(5):  # one failure each on five accounts: no pair is delayed
        throttle.failed(_account(), address)
    verdict = throttle.check(_account(), address)
    assert verdict.result is domain.SignInResult.LOCKED
    assert 0 < verdict.retry_after <= 600
    assert throttle.check(_account(), _address()).allowed


CHECKS = [
    check_growing_delays_then_lockout,
    check_other_addresses_are_not_locked_out,
    check_success_resets_the_pair,
    check_address_ceiling,
]
