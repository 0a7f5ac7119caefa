"""Redis access (quotas, rate limits, token revocation, caches).

`connect(url)` returns a redis-py client, or None for the embedded default (empty URL),
in which case services use their in-process stores. Failed commands are counted in
`puhui_redis_errors_total` by command name (commands sent through a pipeline are not:
a pipeline's caller counts its own failures).
"""

from __future__ import annotations

from typing import Any

import redis as redis_lib
from redis.exceptions import NoScriptError, RedisError

from puhui.kit import metrics


class Redis(redis_lib.Redis):
    """redis-py's client, counting failed commands (NOSCRIPT, which redis-py retries, aside)."""

    metric_labels: dict[str, str] = {"node": "", "service": ""}  # noqa: RUF012 - replaced per instance

    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute_command(*args, **options)
        except NoScriptError:
            raise
        except RedisError:
            operation = str(args[0]).split(" ", 1)[0].lower() if args else "unknown"
            metrics.REDIS_ERRORS.labels(operation=operation, **self.metric_labels).inc()
            raise


def connect(url: str, *, node: str = "", service: str = "") -> Redis | None:
    if not url:
        return None
    client = Redis(
        connection_pool=redis_lib.ConnectionPool.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=30
        )
    )
    client.metric_labels = {"node": node, "service": service}
    return client


def ping(client: redis_lib.Redis) -> None:
    client.ping()
