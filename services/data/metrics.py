"""Business metrics of the data service (kit metrics cover RPCs, Kafka and the outbox)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from kafka import TopicPartition
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from puhui.kit import kafka

logger = logging.getLogger(__name__)

QUOTA_REJECTIONS = Counter(
    "puhui_data_quota_rejections_total",
    "Requests refused by a quota (RESOURCE_EXHAUSTED), by quota: requests_per_minute "
    "(calls per caller per minute) or records_per_day (exported records per caller per day).",
    ["node", "quota"],
)


def _completeness_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "puhui_data_mirror_completeness_ratio",
        "Provincial mirror only: how far this node's mirror consumer has applied the hub's "
        'compacted mirror topic (which carries every data set, hence dataset="all"): '
        "committed offsets / end offsets summed over the topic's partitions, 1.0 when caught "
        "up (applied / (applied + lag)). Read from Kafka at scrape time; not exported on the "
        "hub.",
        labels=["node", "dataset"],
    )


class MirrorCompletenessCollector(Collector):
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

    def describe(self) -> list[GaugeMetricFamily]:
        return [_completeness_family()]  # registering must not reach Kafka

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

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = _completeness_family()
        try:
            ratio = self.ratio()
        except Exception:  # a scrape must not fail because Kafka is away
            logger.warning("data %s: could not read the mirror position", self.node, exc_info=True)
            ratio = None
        if ratio is not None:
            family.add_metric([self.node, "all"], ratio)
        yield family

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.close()
                self._client = None


def watch_mirror(node: str, bootstrap: str, topic: str, group: str) -> MirrorCompletenessCollector:
    collector = MirrorCompletenessCollector(node, bootstrap, topic, group)
    REGISTRY.register(collector)
    return collector


def unwatch_mirror(collector: MirrorCompletenessCollector | None) -> None:
    if collector is None:
        return
    with contextlib.suppress(KeyError):
        REGISTRY.unregister(collector)
    collector.close()
