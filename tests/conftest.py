"""Fixtures for the cross-node scenarios (tests/test_federation_*.py): an in-process
federation — the hub's federation service and any services of any node, each app with its
own PostgreSQL database and node id — against the one real Kafka."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from puhui.federation.testing import Federation, federation


@pytest.fixture
def fed(
    kafka_bootstrap: str, database_factory: Callable[[str], str], redis_url: str
) -> Iterator[Federation]:
    with federation(kafka_bootstrap, database_factory, redis_url) as f:
        yield f
