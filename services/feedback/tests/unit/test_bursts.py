"""Burst counters: fixed windows, and the in-process fallback when Redis fails."""

from __future__ import annotations

from typing import Any, cast

from puhui.feedback.adapters.bursts import InProcessBurstCounter, RedisBurstCounter


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_in_process_counter_counts_per_key_and_window() -> None:
    clock = Clock()
    counter = InProcessBurstCounter(600, clock)
    assert [counter.hit("device:a") for _ in range(3)] == [1, 2, 3]
    assert counter.hit("device:b") == 1
    clock.now += 600
    assert counter.hit("device:a") == 1


class BrokenRedis:
    def pipeline(self) -> Any:
        raise ConnectionError("redis is down")


def test_redis_failure_falls_back_to_counting_in_process() -> None:
    counter = RedisBurstCounter(cast(Any, BrokenRedis()), "650000", 600, Clock())
    assert [counter.hit("address:ipv4:10.0.0.1") for _ in range(3)] == [1, 2, 3]
