"""Sign-in throttling stores: Redis (shared by every process of the node) and an in-process
fallback for the embedded default. Both apply the domain's `ThrottlePolicy`."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

from puhui.identity.domain import PairState, SignInThrottle, ThrottlePolicy, Verdict


def _pair_key(account: str, address: str) -> str:
    # Hashed: Redis keys then hold no e-mail addresses or phone numbers.
    return hashlib.sha256(f"{account}\x00{address}".encode()).hexdigest()[:32]


class MemoryThrottle(SignInThrottle):
    def __init__(self, policy: ThrottlePolicy, clock: Callable[[], float] = time.time) -> None:
        self.policy = policy
        self.clock = clock
        self._pairs: dict[str, PairState] = {}
        self._addresses: dict[str, tuple[int, float]] = {}  # address -> (failures, window start)
        self._lock = threading.Lock()

    def _address_failures(self, address: str, now: float) -> tuple[int, float]:
        count, start = self._addresses.get(address, (0, now))
        if now - start >= self.policy.window_seconds:
            return 0, now
        return count, start

    def check(self, account: str, address: str) -> Verdict:
        now = self.clock()
        with self._lock:
            state = self._pairs.get(_pair_key(account, address), PairState())
            count, start = self._address_failures(address, now)
        return self.policy.verdict(state, count, start + self.policy.window_seconds - now, now)

    def failed(self, account: str, address: str) -> None:
        now = self.clock()
        key = _pair_key(account, address)
        with self._lock:
            self._pairs[key] = self.policy.after_failure(self._pairs.get(key, PairState()), now)
            count, start = self._address_failures(address, now)
            self._addresses[address] = (count + 1, start)
            if len(self._pairs) > 100_000:  # bound memory: forget the oldest idle pairs
                idle = [
                    k
                    for k, s in self._pairs.items()
                    if now - s.first_failure_at > self.policy.window_seconds
                ]
                for k in idle:
                    del self._pairs[k]

    def succeeded(self, account: str, address: str) -> None:
        with self._lock:
            self._pairs.pop(_pair_key(account, address), None)


class RedisThrottle(SignInThrottle):
    """Pair state in a hash `puhui:identity:signin:pair:<h>` (optimistic WATCH/MULTI update);
    per-address failures in a fixed-window counter `puhui:identity:signin:addr:<address>`."""

    PREFIX = "puhui:identity:signin"

    def __init__(
        self, client: Any, policy: ThrottlePolicy, clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.policy = policy
        self.clock = clock

    def _keys(self, account: str, address: str) -> tuple[str, str]:
        return f"{self.PREFIX}:pair:{_pair_key(account, address)}", f"{self.PREFIX}:addr:{address}"

    @staticmethod
    def _state(raw: dict[Any, Any]) -> PairState:
        if not raw:
            return PairState()
        get = {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in raw.items()}
        return PairState(
            int(get.get("failures", 0)),
            get.get("first", 0.0),
            get.get("next", 0.0),
            get.get("locked", 0.0),
        )

    def check(self, account: str, address: str) -> Verdict:
        now = self.clock()
        pair, addr = self._keys(account, address)
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(pair)
        pipe.get(addr)
        pipe.pttl(addr)
        raw, count, ttl_ms = pipe.execute()
        retry = (ttl_ms / 1000.0) if ttl_ms and ttl_ms > 0 else self.policy.window_seconds
        return self.policy.verdict(self._state(raw), int(count or 0), retry, now)

    def failed(self, account: str, address: str) -> None:
        now = self.clock()
        pair, addr = self._keys(account, address)
        ttl = int(max(self.policy.window_seconds, self.policy.lockout_seconds)) + 60

        def update(pipe: Any) -> None:
            state = self.policy.after_failure(self._state(pipe.hgetall(pair)), now)
            pipe.multi()
            pipe.hset(
                pair,
                mapping={
                    "failures": state.failures,
                    "first": state.first_failure_at,
                    "next": state.next_allowed_at,
                    "locked": state.locked_until,
                },
            )
            pipe.expire(pair, ttl)

        self.client.transaction(update, pair)
        pipe = self.client.pipeline()
        pipe.incr(addr)
        pipe.expire(addr, int(self.policy.window_seconds), nx=True)
        pipe.execute()

    def succeeded(self, account: str, address: str) -> None:
        pair, _ = self._keys(account, address)
        self.client.delete(pair)
