"""A pattern consumer rejoins its group when a subscribed topic stays unassigned (the
decision only: the real rebalance is covered by the federation tests on real Kafka)."""

from __future__ import annotations

from typing import Any

import pytest
from kafka.structs import TopicPartition

from puhui.kit import inbox


class Consumer:
    """Just the KafkaConsumer calls the check makes."""

    def __init__(self) -> None:
        self.held = {TopicPartition("puhui.440000.catalog.events", 0)}
        self.topics = {"puhui.440000.catalog.events", "puhui.440000.feedback.events"}
        self.calls: list[str] = []

    def assignment(self) -> set[TopicPartition]:
        return self.held

    def subscription(self) -> set[str]:
        return self.topics

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0, 1, 2}

    def unsubscribe(self) -> None:
        self.calls.append("unsubscribe")

    def subscribe(self, pattern: str) -> None:
        self.calls.append(f"subscribe {pattern}")


def make(pattern: str | None) -> inbox.EventConsumer:
    topics = () if pattern else ("t",)
    return inbox.EventConsumer(
        None, None, "", group="g", handler=lambda s, e: None, node="000000", service="x",  # type: ignore[arg-type]
        topics=topics, pattern=pattern,
    )  # fmt: skip


def test_a_topic_left_unassigned_makes_the_member_rejoin_once_a_minute(monkeypatch: Any) -> None:
    clock = [1000.0]
    monkeypatch.setattr(inbox.time, "monotonic", lambda: clock[0])
    consumer, member = Consumer(), make(r"puhui\.\d{6}\..*")
    for _ in range(3):  # 0, 5, 10 s: within the grace period
        member._check_assignment(consumer)
        clock[0] += inbox.ASSIGNMENT_CHECK_INTERVAL
    assert consumer.calls == []
    member._check_assignment(consumer)  # 15 s
    assert consumer.calls == ["unsubscribe", r"subscribe puhui\.\d{6}\..*"]
    clock[0] += 30
    member._check_assignment(consumer)
    clock[0] += inbox.ASSIGNMENT_GRACE
    member._check_assignment(consumer)
    assert len(consumer.calls) == 2  # not again within the minute


@pytest.mark.parametrize("pattern", [None, r"puhui\.\d{6}\..*"])
def test_nothing_happens_when_every_topic_has_a_share_or_topics_are_named(
    monkeypatch: Any, pattern: str | None
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(inbox.time, "monotonic", lambda: clock[0])
    consumer, member = Consumer(), make(pattern)
    if pattern:
        consumer.held.add(TopicPartition("puhui.440000.feedback.events", 2))
    for _ in range(30):
        member._check_assignment(consumer)
        clock[0] += inbox.ASSIGNMENT_CHECK_INTERVAL
    assert consumer.calls == []
