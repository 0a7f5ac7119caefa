"""Business metrics of the feedback service (kit metrics cover RPCs, Kafka and the outbox).

`puhui_feedback_tickets_open` is counted in the database when Prometheus scrapes (one query
on the read session per watched node), like the kit's pool gauges: nothing polls in the
background. The app calls `watch_tickets` at start and `unwatch_tickets` at stop.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from puhui.feedback.adapters.db import tickets
from puhui.feedback.domain import TicketState
from puhui.kit.db import Database

logger = logging.getLogger(__name__)

RATINGS_ACCEPTED = Counter(
    "puhui_feedback_ratings_accepted_total",
    "Ratings accepted, by channel, level (very_satisfied .. very_dissatisfied) and whether "
    "they are bad reviews (dissatisfied or very_dissatisfied).",
    ["node", "channel", "level", "bad"],
)
RATINGS_FLAGGED = Counter(
    "puhui_feedback_ratings_flagged_total",
    "Ratings flagged for review (a burst from one device or address).",
    ["node"],
)
KIOSK_DUPLICATES = Counter(
    "puhui_feedback_kiosk_duplicates_total",
    "Kiosk ratings re-synced and recognised as already counted.",
    ["node"],
)
TICKETS_OPENED = Counter(
    "puhui_feedback_tickets_opened_total", "Rectification tickets opened for bad reviews.", ["node"]
)
TICKET_DEADLINE_BREACHED = Counter(
    "puhui_feedback_ticket_deadline_breached_total",
    "Rectification tickets found past their working-day deadline.",
    ["node"],
)
APPEALS_DECIDED = Counter(
    "puhui_feedback_appeals_decided_total", "Appeals decided, by decision.", ["node", "decision"]
)
REPORTS_RECEIVED = Counter(
    "puhui_feedback_reports_received_total",
    "Complaints, suggestions and needs received, "
    "by kind and whether they joined an existing group.",
    ["node", "kind", "grouped"],
)


CLOSED_STATES = (TicketState.CLOSED, TicketState.VOIDED)


def _family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "puhui_feedback_tickets_open",
        "Rectification tickets not yet closed or voided (counted in the database at scrape time).",
        labels=["node"],
    )


class OpenTicketsCollector(Collector):
    """One collector per process; it counts the open tickets of every watched node's database
    (several apps may run in one process, as in tests)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.databases: dict[str, Database] = {}

    def describe(self) -> list[GaugeMetricFamily]:
        return [_family()]  # registering must not query the database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = _family()
        with self.lock:
            watched = list(self.databases.items())
        query = (
            select(func.count())
            .select_from(tickets)
            .where(tickets.c.state.not_in([int(s) for s in CLOSED_STATES]))
        )
        for node, db in watched:
            try:
                with db.read() as s:
                    n = s.execute(query).scalar_one()
            except Exception:  # a scrape must not fail because one database is down
                logger.warning("feedback %s: could not count open tickets", node, exc_info=True)
                continue
            family.add_metric([node], float(n))
        yield family


TICKETS_OPEN = OpenTicketsCollector()


def watch_tickets(node: str, db: Database) -> None:
    with TICKETS_OPEN.lock:
        first = not TICKETS_OPEN.databases
        TICKETS_OPEN.databases[node] = db
    if first:
        REGISTRY.register(TICKETS_OPEN)


def unwatch_tickets(node: str) -> None:
    with TICKETS_OPEN.lock:
        if TICKETS_OPEN.databases.pop(node, None) is None:
            return
        last = not TICKETS_OPEN.databases
    if last:
        with contextlib.suppress(KeyError):
            REGISTRY.unregister(TICKETS_OPEN)
