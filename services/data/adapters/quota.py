"""Counter stores for quotas: Redis (shared by a node's processes) or in-process."""

from __future__ import annotations

import threading
import time
from typing import Any


class RedisCounters:
    def __init__(self, client: Any) -> None:
        self.client = client

    def add(self, key: str, amount: int, ttl: int) -> int:
        pipe = self.client.pipeline()
        pipe.incrby(key, amount)
        pipe.expire(key, ttl, nx=True)
        total, _ = pipe.execute()
        return int(total)


class MemoryCounters:
    """Single-process fallback (local runs without Redis)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}

    def add(self, key: str, amount: int, ttl: int) -> int:
        now = time.monotonic()
        with self._lock:
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            total, expires = self._counts.get(key, (0, now + ttl))
            if expires <= now:
                total, expires = 0, now + ttl
            total += amount
            self._counts[key] = (total, expires)
            return total
