"""Business metrics of the data service (kit metrics cover RPCs, Kafka and the outbox)."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from typing import Any

from kafka import TopicPartition
from prometheus_client import Counter, Gauge

from puhui.kit import kafka

logger = logging.getLogger(__name__)

QUOTA_REJECTIONS = Counter(
    "puhui_data_quota_rejections_total",
    "Requests refused by a quota (RESOURCE_EXHAUSTED), by quota: requests_per_minute "
    "(calls per caller per minute) or records_per_day (exported records per caller per day).",
    ["node", "quota"],
)

EXPORT_STREAMS_OPEN = Gauge(
    "puhui_data_export_streams_open",
    "ExportPatents streams open now; each holds a gRPC stream worker until it ends.",
    ["node"],
)
EXPORT_STREAMS_REFUSED = Counter(
    "puhui_data_export_streams_refused_total",
    "ExportPatents calls refused (RESOURCE_EXHAUSTED, retry later) because "
    "PUHUI_DATA_EXPORT_STREAMS streams were already open.",
    ["node"],
)

SEARCH_TIMEOUTS = Counter(
    "puhui_data_search_timeouts_total",
    "Searches stopped (DEADLINE_EXCEEDED) because they ran longer in the database than "
    "PUHUI_DATA_SEARCH_TIMEOUT_MS.",
    ["node"],
)

MIRROR_COMPLETENESS = Gauge(
    "puhui_data_mirror_completeness_ratio",
    "Provincial mirror only: how far this node's mirror consumer has applied the hub's "
    'compacted mirror topic (one topic carries every data set, hence dataset="all"): '
    "committed offsets / end offsets summed over the topic's partitions, 1.0 when caught "
    "up (applied / (applied + lag)). Read from Kafka at scrape time; not exported on the "
    "hub.",
    ["node", "dataset"],
)


class MirrorPosition:
    """Compares the mirror consumer group's committed offsets with the topic's end offsets.

    Holds one offsets-only Kafka client (it joins no group: it reads the group's committed
    offsets without consuming), created at the first scrape and closed by `close()`.
    """

    def __init__(self, node: str, bootstrap: str, topic: str, group: str) -> None:
        self.node = node
        self.bootstrap = bootstrap
        self.topic = topic
        self.group = group
        self._lock = threading.Lock()
        self._client: Any = None

    def ratio(self) -> float | None:
        with self._lock:
            if self._client is None:
                self._client = kafka.make_consumer(
                    self.bootstrap,
                    self.group,
                    f"{self.group}-completeness",
                    request_timeout_ms=3_000,
                )
            client = self._client
            partitions = client.partitions_for_topic(self.topic)
            if not partitions:
                return None
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            ends = client.end_offsets(tps)
            end = sum(ends.values())
            applied = sum(min(client.committed(tp) or 0, ends[tp]) for tp in tps)
        if end <= applied:
            return 1.0
        return applied / end

    def value(self) -> float:
        try:
            ratio = self.ratio()
        except Exception:  # a scrape must not fail because Kafka is away
            logger.warning("data %s: could not read the mirror position", self.node, exc_info=True)
            return math.nan
        return math.nan if ratio is None else ratio

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.close()
                self._client = None


def watch_mirror(node: str, bootstrap: str, topic: str, group: str) -> MirrorPosition:
    collector = MirrorPosition(node, bootstrap, topic, group)
    MIRROR_COMPLETENESS.labels(node=node, dataset="all").set_function(collector.value)
    return collector


def unwatch_mirror(collector: MirrorPosition | None) -> None:
    if collector is None:
        return
    with contextlib.suppress(KeyError):
        MIRROR_COMPLETENESS.remove(collector.node, "all")
    collector.close()
