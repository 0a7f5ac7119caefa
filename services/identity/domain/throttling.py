"""Sign-in throttling: the policy, its state, and the port its stores implement."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Protocol

from puhui.identity.domain.model import SignInResult


# -- throttling -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ThrottlePolicy:
    """Growing delays then a temporary lockout per (account, address); a ceiling per address.

    Nothing is counted per account alone, so failures from another address can never lock
    the real user out: an attacker only slows and locks out their own (account, address)
    pairs and, past the ceiling, their own address.
    """

    free_failures: int = 3
    base_delay: float = 1.0
    max_delay: float = 60.0
    lockout_failures: int = 10
    lockout_seconds: float = 900.0
    address_ceiling: int = 100
    window_seconds: float = 900.0

    def after_failure(self, state: PairState, now: float) -> PairState:
        failures = state.failures + 1 if now - state.first_failure_at < self.window_seconds else 1
        first = state.first_failure_at if failures > 1 else now
        next_allowed = 0.0
        locked_until = 0.0
        if failures >= self.lockout_failures:
            locked_until = now + self.lockout_seconds
        elif failures > self.free_failures:
            next_allowed = now + min(
                self.base_delay * 2 ** (failures - self.free_failures - 1), self.max_delay
            )
        return PairState(failures, first, next_allowed, locked_until)

    def verdict(
        self, state: PairState, address_failures: int, address_retry: float, now: float
    ) -> Verdict:
        if state.locked_until > now:
            return Verdict(SignInResult.LOCKED, state.locked_until - now)
        if address_failures >= self.address_ceiling:
            return Verdict(SignInResult.LOCKED, max(address_retry, 1.0))
        if state.next_allowed_at > now:
            return Verdict(SignInResult.THROTTLED, state.next_allowed_at - now)
        return Verdict(SignInResult.SUCCESS, 0.0)


@dataclass(frozen=True)
class PairState:
    failures: int = 0
    first_failure_at: float = 0.0
    next_allowed_at: float = 0.0
    locked_until: float = 0.0


@dataclass(frozen=True)
class Verdict:
    result: SignInResult  # SUCCESS = may try
    retry_after: float

    @property
    def allowed(self) -> bool:
        return self.result is SignInResult.SUCCESS


class SignInThrottle(Protocol):
    def check(self, account: str, address: str) -> Verdict: ...
    def failed(self, account: str, address: str) -> None: ...
    def succeeded(self, account: str, address: str) -> None: ...


def client_network(address: str) -> str:
    """The client's network for audit events: /24 (IPv4) or /48 (IPv6); never the full address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def throttle_address(address: str) -> str:
    """What the throttle counts per: the IPv4 address, or the IPv6 /64 (one subscriber's
    prefix, so rotating through its 2^64 addresses does not escape the ceiling)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


# -- use cases ---------------------------------------------------------------------------------
