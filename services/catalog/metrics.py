"""Business metrics of the catalog service (kit metrics cover RPCs, Kafka and the outbox).

`puhui_catalog_institutions` is read from the database when Prometheus scrapes, like the
kit's pool gauges (`puhui.kit.metrics.watch_database`): the app calls `watch_institutions` at
start and `unwatch_institutions` at stop. One GROUP BY on the read session serves every
(tier, status) child of one scrape: the first child (registered first, so collected first)
runs it, the others read its result.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import math
import threading

from prometheus_client import Gauge
from sqlalchemy import func, select

from puhui.catalog.adapters.db import institutions
from puhui.catalog.domain import Status, Tier
from puhui.kit.db import Database

logger = logging.getLogger(__name__)

INSTITUTIONS = Gauge(
    "puhui_catalog_institutions",
    "Institutions in this node's catalog, by tier and status (lower-case names, e.g. "
    'tier "tisc", status "approved"); counted in the database at scrape time.',
    ["node", "tier", "status"],
)

_FIRST = (min(Tier), min(Status))


class _Counts:
    """The GROUP BY of one node's institutions, run again when the first child is read."""

    def __init__(self, node: str, db: Database) -> None:
        self.node = node
        self.db = db
        self._lock = threading.Lock()
        self._counts: dict[tuple[int, int], int] | None = None

    def _query(self) -> dict[tuple[int, int], int] | None:
        t = institutions
        try:
            with self.db.read() as s:
                rows = s.execute(
                    select(t.c.tier, t.c.status, func.count()).group_by(t.c.tier, t.c.status)
                ).all()
        except Exception:  # a scrape must not fail because the database is down
            logger.warning("catalog %s: could not count institutions", self.node, exc_info=True)
            return None
        return {(int(tier), int(status)): int(n) for tier, status, n in rows}

    def get(self, tier: Tier, status: Status) -> float:
        with self._lock:
            if (tier, status) == _FIRST or self._counts is None:
                self._counts = self._query()
            counts = self._counts
        if counts is None:
            return math.nan
        return float(counts.get((int(tier), int(status)), 0))


def _labels() -> itertools.product[tuple[Tier, Status]]:
    return itertools.product(Tier, Status)


def watch_institutions(node: str, db: Database) -> None:
    counts = _Counts(node, db)
    for tier, status in _labels():
        INSTITUTIONS.labels(
            node=node, tier=tier.name.lower(), status=status.name.lower()
        ).set_function(functools.partial(counts.get, tier, status))


def unwatch_institutions(node: str) -> None:
    for tier, status in _labels():
        with contextlib.suppress(KeyError):
            INSTITUTIONS.remove(node, tier.name.lower(), status.name.lower())
