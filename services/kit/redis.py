"""Redis access (quotas, rate limits, token revocation, caches).

`connect(url)` returns a redis-py client, or None for the embedded default (empty URL),
in which case services use their in-process stores.
"""

from __future__ import annotations

import redis as redis_lib

Redis = redis_lib.Redis


def connect(url: str) -> redis_lib.Redis | None:
    if not url:
        return None
    return redis_lib.Redis.from_url(
        url, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=30
    )


def ping(client: redis_lib.Redis) -> None:
    client.ping()
