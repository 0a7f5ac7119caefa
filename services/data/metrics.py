"""Business metrics of the data service (kit metrics cover RPCs, Kafka and the outbox)."""

from __future__ import annotations

from prometheus_client import Counter

QUOTA_REJECTIONS = Counter(
    "puhui_data_quota_rejections_total",
    "Requests refused by a quota (RESOURCE_EXHAUSTED), by quota: requests_per_minute "
    "(calls per caller per minute) or records_per_day (exported records per caller per day).",
    ["node", "quota"],
)
