"""Quotas: per caller tier, requests per minute and exported records per day.

Tiers come from the caller's roles (anonymous callers are counted per client address, signed-in
callers per subject). Windows are fixed (the current minute, the current UTC day), counted
in Redis so every process of a node shares them (in-process counters when no Redis is
configured). Every response carries the caller's remaining quota in metadata, in the spirit
of the IETF RateLimit fields and EPO OPS's `X-Throttling-Control`:

    ratelimit-limit: 120            requests per window
    ratelimit-remaining: 117
    ratelimit-reset: 43             seconds until the window resets
    ratelimit-records-limit / ratelimit-records-remaining / ratelimit-records-reset
    x-throttling-control: idle (requests=117/120, records=19500/20000)

Exhausted → RESOURCE_EXHAUSTED with google.rpc.RetryInfo (the seconds until the reset).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import grpc

from puhui.data import metrics
from puhui.data.errors import QuotaExhausted
from puhui.kit.auth import Principal

logger = logging.getLogger(__name__)

MINUTE = 60
DAY = 86400
TIER_ORDER = ("node", "institution", "innovator", "anonymous")
ROLE_TIERS = {
    "national_admin": "node",
    "node_service": "node",
    "institution_staff": "institution",
    "innovator": "innovator",
}
DEFAULT_LIMITS = "anonymous=30/2000,innovator=120/20000,institution=600/200000,node=6000/50000000"


@dataclass(frozen=True)
class Limits:
    requests_per_minute: int
    records_per_day: int


def parse_limits(text: str) -> dict[str, Limits]:
    """``anonymous=30/2000,innovator=120/20000,…`` → tier → Limits (requests/min, records/day)."""
    found: dict[str, Limits] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        tier, _, value = part.strip().partition("=")
        requests, _, records = value.partition("/")
        if tier not in TIER_ORDER or not requests.isdigit() or not records.isdigit():
            raise ValueError(
                f"bad quota {part!r}: expected tier=requests/records, tier one of {TIER_ORDER}"
            )
        found[tier] = Limits(int(requests), int(records))
    missing = set(TIER_ORDER) - set(found)
    if missing:
        raise ValueError(f"quota for tiers {sorted(missing)} missing")
    return found


def tier_of(principal: Principal) -> str:
    if principal.is_anonymous:
        return "anonymous"
    tiers = {ROLE_TIERS[r] for r in principal.roles if r in ROLE_TIERS}
    return next((t for t in TIER_ORDER if t in tiers), "innovator")


def caller_key(principal: Principal) -> str:
    if principal.is_anonymous:
        return f"addr:{principal.client_address or 'unknown'}"
    return f"sub:{principal.issuer}:{principal.subject}"


class CounterStore(Protocol):
    def add(self, key: str, amount: int, ttl: int) -> int:
        """Add to a counter that expires `ttl` seconds after its creation; return the total."""


@dataclass(frozen=True)
class Usage:
    limit: int
    used: int
    reset: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class Quota:
    def __init__(
        self,
        store: CounterStore,
        limits: dict[str, Limits],
        *,
        clock: Callable[[], float] = time.time,
        namespace: str = "puhui:data:quota",
        node: str = "",
    ) -> None:
        self.node = node
        self.store = store
        self.limits = limits
        self.clock = clock
        self.namespace = namespace

    def _window(self, size: int) -> tuple[int, int]:
        now = self.clock()
        start = int(now // size)
        return start, max(1, math.ceil((start + 1) * size - now))

    def request(self, principal: Principal) -> Usage:
        """Count one request; raise QuotaExhausted when over the per-minute limit."""
        limit = self.limits[tier_of(principal)].requests_per_minute
        window, reset = self._window(MINUTE)
        used = self.store.add(
            f"{self.namespace}:req:{caller_key(principal)}:{window}", 1, MINUTE + 5
        )
        if used > limit:
            metrics.QUOTA_REJECTIONS.labels(node=self.node, quota="requests_per_minute").inc()
            raise QuotaExhausted(
                f"request quota of {limit} per minute exhausted for this caller",
                retry_after_seconds=reset,
            )
        return Usage(limit, used, reset)

    def records(self, principal: Principal, count: int) -> Usage:
        """Count exported records; over the daily limit, take them back and raise."""
        limit = self.limits[tier_of(principal)].records_per_day
        window, reset = self._window(DAY)
        key = f"{self.namespace}:rec:{caller_key(principal)}:{window}"
        used = self.store.add(key, count, DAY + 60)
        if used > limit:
            self.store.add(key, -count, DAY + 60)
            metrics.QUOTA_REJECTIONS.labels(node=self.node, quota="records_per_day").inc()
            raise QuotaExhausted(
                f"export quota of {limit} records per day exhausted for this caller",
                retry_after_seconds=reset,
            )
        return Usage(limit, used, reset)

    def peek_records(self, principal: Principal) -> Usage:
        limit = self.limits[tier_of(principal)].records_per_day
        window, reset = self._window(DAY)
        used = self.store.add(f"{self.namespace}:rec:{caller_key(principal)}:{window}", 0, DAY + 60)
        return Usage(limit, used, reset)


def _state(requests: Usage, records: Usage) -> str:
    worst = min(
        requests.remaining / requests.limit if requests.limit else 1.0,
        records.remaining / records.limit if records.limit else 1.0,
    )
    return "idle" if worst > 0.5 else "busy" if worst > 0.1 else "overloaded"


class GrpcQuota:
    """Charges RPCs and reports the remaining quota in response metadata."""

    def __init__(self, quota: Quota) -> None:
        self.quota = quota

    def charge(
        self, context: grpc.ServicerContext, principal: Principal, *, records: int = 0
    ) -> None:
        if records:
            usage = self.quota.records(principal, records)
            context.set_trailing_metadata(self._record_fields(usage))
            return
        requests = self.quota.request(principal)
        exported = self.quota.peek_records(principal)
        context.send_initial_metadata(
            (
                ("ratelimit-limit", str(requests.limit)),
                ("ratelimit-remaining", str(requests.remaining)),
                ("ratelimit-reset", str(requests.reset)),
                *self._record_fields(exported),
                (
                    "x-throttling-control",
                    f"{_state(requests, exported)} (requests={requests.remaining}/{requests.limit},"
                    f" records={exported.remaining}/{exported.limit})",
                ),
            )
        )

    @staticmethod
    def _record_fields(usage: Usage) -> tuple[tuple[str, str], ...]:
        return (
            ("ratelimit-records-limit", str(usage.limit)),
            ("ratelimit-records-remaining", str(usage.remaining)),
            ("ratelimit-records-reset", str(usage.reset)),
        )
