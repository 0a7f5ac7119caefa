"""Business metrics of the feedback service (kit metrics cover RPCs, Kafka and the outbox)."""

from __future__ import annotations

from prometheus_client import Counter

RATINGS_ACCEPTED = Counter(
    "puhui_feedback_ratings_accepted_total",
    "Ratings accepted, by channel and whether they are bad reviews.",
    ["node", "channel", "bad"],
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
