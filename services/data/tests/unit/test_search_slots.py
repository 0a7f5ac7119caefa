"""SearchPatents runs a few searches at once (PUHUI_DATA_SEARCH_CONCURRENCY); the rest wait
their turn until their deadline."""

from __future__ import annotations

import os
import threading
import time

import pytest
from prometheus_client import REGISTRY

from puhui.data import domain
from puhui.data.config import DataConfig
from puhui.data.servicer import DataServicer
from puhui.kit.config import ConfigError, load
from puhui.kit.errors import Unavailable


def test_default_is_the_machines_cores_plus_one():
    assert load(DataConfig, {}).search_slots == (os.cpu_count() or 1) + 1
    assert load(DataConfig, {"PUHUI_DATA_SEARCH_CONCURRENCY": "5"}).search_slots == 5
    with pytest.raises(ConfigError, match="SEARCH_CONCURRENCY"):
        load(DataConfig, {"PUHUI_DATA_SEARCH_CONCURRENCY": "-1"}).validate()


class Context:
    def __init__(self, remaining: float | None) -> None:
        self.remaining = remaining

    def time_remaining(self) -> float | None:
        return self.remaining


def sample(name: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"node": "000000"})


def servicer(slots: int) -> DataServicer:
    return DataServicer(domain.DataSets("000000"), None, None, search_slots=slots)  # type: ignore[arg-type]


def test_no_more_than_the_slots_run_at_once():
    s = servicer(2)
    running, most, lock = 0, 0, threading.Lock()
    seen_waiting = 0.0

    def search() -> None:
        nonlocal running, most, seen_waiting
        with s._search_turn(Context(None)):
            with lock:
                running += 1
                most = max(most, running)
                seen_waiting = max(seen_waiting, sample("puhui_data_search_waiting_requests"))
            time.sleep(0.02)
            with lock:
                running -= 1

    threads = [threading.Thread(target=search) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 2
    assert seen_waiting > 0  # the others were counted as waiting…
    assert sample("puhui_data_search_waiting_requests") == 0  # …and are not any more


def test_a_call_whose_deadline_passes_while_waiting_is_refused():
    s = servicer(1)
    before = sample("puhui_data_search_slot_timeouts_total") or 0.0
    with (
        s._search_turn(Context(None)),
        pytest.raises(Unavailable, match="deadline"),
        s._search_turn(Context(0.05)),
    ):
        pass
    with s._search_turn(Context(0.05)):  # the slot came back
        pass
    assert sample("puhui_data_search_slot_timeouts_total") == before + 1
    assert sample("puhui_data_search_waiting_requests") == 0


def test_zero_slots_means_no_limit():
    s = servicer(0)
    with s._search_turn(Context(0.0)), s._search_turn(Context(0.0)):
        pass
