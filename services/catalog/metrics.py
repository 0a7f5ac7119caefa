"""Business metrics of the catalog service (kit metrics cover RPCs, Kafka and the outbox).

`puhui_catalog_institutions` is read from the database when Prometheus scrapes (one
GROUP BY on the read session per watched node), like the kit's pool gauges: nothing polls in
the background. The app calls `watch_institutions` at start and `unwatch_institutions` at stop.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from puhui.catalog.adapters.db import institutions
from puhui.catalog.domain import Status, Tier
from puhui.kit.db import Database

logger = logging.getLogger(__name__)


def _name(enum_type: type[Tier] | type[Status], value: int) -> str:
    try:
        return enum_type(value).name.lower()
    except ValueError:
        return str(value)


def _family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "puhui_catalog_institutions",
        "Institutions in this node's catalog, by tier and status (lower-case names, e.g. "
        'tier "tisc", status "approved"); counted in the database at scrape time.',
        labels=["node", "tier", "status"],
    )


class InstitutionsCollector(Collector):
    """One collector per process; it counts the institutions of every watched node's database
    (several apps may run in one process, as in tests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.databases: dict[str, Database] = {}

    def describe(self) -> list[GaugeMetricFamily]:
        return [_family()]  # registering must not query the database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = _family()
        with self._lock:
            watched = list(self.databases.items())
        t = institutions
        for node, db in watched:
            try:
                with db.read() as s:
                    rows = s.execute(
                        select(t.c.tier, t.c.status, func.count()).group_by(t.c.tier, t.c.status)
                    ).all()
            except Exception:  # a scrape must not fail because one database is down
                logger.warning("catalog %s: could not count institutions", node, exc_info=True)
                continue
            for tier, status, n in rows:
                family.add_metric([node, _name(Tier, tier), _name(Status, status)], float(n))
        yield family


INSTITUTIONS = InstitutionsCollector()


def watch_institutions(node: str, db: Database) -> None:
    with INSTITUTIONS._lock:
        first = not INSTITUTIONS.databases
        INSTITUTIONS.databases[node] = db
    if first:
        REGISTRY.register(INSTITUTIONS)


def unwatch_institutions(node: str) -> None:
    with INSTITUTIONS._lock:
        if INSTITUTIONS.databases.pop(node, None) is None:
            return
        last = not INSTITUTIONS.databases
    if last:
        with contextlib.suppress(KeyError):
            REGISTRY.unregister(INSTITUTIONS)
