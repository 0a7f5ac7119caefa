"""Business metrics of the feedback service (kit metrics cover RPCs, Kafka and the outbox).

`puhui_feedback_tickets_open` is counted in the database when Prometheus scrapes (one query
on the read session), like the kit's pool gauges (`puhui.kit.metrics.watch_database`):
nothing polls in the background. The app calls `watch_tickets` at start, `unwatch_tickets` at
stop.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
from datetime import UTC, date, datetime, time, timedelta, timezone

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select

from puhui.feedback.adapters.tables import tickets
from puhui.feedback.domain import TicketState
from puhui.feedback.workdays import WorkCalendar
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

TICKETS_OPEN = Gauge(
    "puhui_feedback_tickets_open",
    "Rectification tickets not yet closed or voided (counted in the database at scrape time).",
    ["node"],
)


def _open_tickets(node: str, db: Database) -> float:
    query = (
        select(func.count())
        .select_from(tickets)
        .where(tickets.c.state.not_in([int(s) for s in CLOSED_STATES]))
    )
    try:
        with db.read() as s:
            return float(s.execute(query).scalar_one())
    except Exception:  # a scrape must not fail because the database is down
        logger.warning("feedback %s: could not count open tickets", node, exc_info=True)
        return math.nan


def watch_tickets(node: str, db: Database) -> None:
    TICKETS_OPEN.labels(node=node).set_function(functools.partial(_open_tickets, node, db))


def unwatch_tickets(node: str) -> None:
    with contextlib.suppress(KeyError):
        TICKETS_OPEN.remove(node)


CALENDAR_KNOWN_UNTIL = Gauge(
    "puhui_feedback_calendar_known_until_timestamp_seconds",
    "Unix time at which the working-day calendar's data ends (midnight China time after its "
    "last known day): past it only weekends are off and rectification deadlines may be wrong.",
    ["node"],
)
_CHINA = timezone(timedelta(hours=8))
# The alert (deploy/prometheus) and the start-up warning use the same lead time.
CALENDAR_WARNING_DAYS = 60


def calendar_end(known_until: date) -> float:
    """Unix time of the midnight (China time) that ends `known_until`."""
    return datetime.combine(known_until + timedelta(days=1), time(), _CHINA).timestamp()


def watch_calendar(node: str, calendar: WorkCalendar, now: datetime | None = None) -> None:
    """Export the calendar's horizon; warn in the log when it ends within the alert's lead."""
    if calendar.known_until is None:
        return
    end = calendar_end(calendar.known_until)
    CALENDAR_KNOWN_UNTIL.labels(node=node).set(end)
    left = end - (now or datetime.now(UTC)).timestamp()
    if left < CALENDAR_WARNING_DAYS * 86400:
        logger.warning(
            "feedback %s: the working-day calendar ends on %s; deadlines after it count "
            "weekends only (upgrade chinesecalendar or add the year: docs/calendar.md)",
            node,
            calendar.known_until.isoformat(),
        )


def unwatch_calendar(node: str) -> None:
    with contextlib.suppress(KeyError):
        CALENDAR_KNOWN_UNTIL.remove(node)
