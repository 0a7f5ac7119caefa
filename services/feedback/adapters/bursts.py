"""Burst counters for rating integrity: Redis fixed-window counters shared by every
replica, with an in-process fallback (embedded runs, or while Redis is unreachable)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable

from puhui.kit import metrics
from puhui.kit.redis import Redis

logger = logging.getLogger(__name__)


def _bucket(key: str) -> str:
    # Device ids and addresses are not kept in clear.
    return hashlib.sha256(key.encode()).hexdigest()[:24]


class InProcessBurstCounter:
    def __init__(self, window_seconds: int, clock: Callable[[], float] = time.time) -> None:
        self.window = window_seconds
        self.clock = clock
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> int:
        window = int(self.clock() // self.window)
        with self._lock:
            if len(self._counts) > 100_000:  # drop past windows
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            slot = (_bucket(key), window)
            self._counts[slot] = self._counts.get(slot, 0) + 1
            return self._counts[slot]


class RedisBurstCounter:
    def __init__(
        self,
        client: Redis,
        node: str,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.node = node
        self.window = window_seconds
        self.clock = clock
        self.fallback = InProcessBurstCounter(window_seconds, clock)

    def hit(self, key: str) -> int:
        window = int(self.clock() // self.window)
        name = f"puhui:{self.node}:feedback:burst:{_bucket(key)}:{window}"
        try:
            pipe = self.client.pipeline()
            pipe.incr(name)
            pipe.expire(name, self.window * 2)
            count, _ = pipe.execute()
            return int(count)
        except Exception:
            metrics.REDIS_ERRORS.labels(node=self.node, service="feedback", operation="burst").inc()
            logger.warning("burst counter: Redis failed; counting in process", exc_info=True)
            return self.fallback.hit(key)
