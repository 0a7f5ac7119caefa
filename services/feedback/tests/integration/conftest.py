"""One feedback app per test module (real PostgreSQL, Redis, Kafka, gRPC server)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY

from puhui.feedback.adapters.db import identity_persons
from puhui.feedback.server import build
from puhui.feedback.tests.support import (
    IT_NODE as NODE,
)
from puhui.feedback.tests.support import (
    IT_PERSON,
    DictVerifier,
)
from puhui.feedback.tests.support import (
    IT_PRINCIPALS as PRINCIPALS,
)
from puhui.feedback.v1 import feedback_pb2_grpc
from puhui.kit import testing
from puhui.kit.testing import running, temporary_database

logger = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def module_app(postgres_admin_url, kafka_bootstrap, redis_url):
    with temporary_database(postgres_admin_url, "feedback") as url:
        app = build(
            node_id=NODE,
            database_url=url,
            kafka_bootstrap=kafka_bootstrap,
            redis_url=redis_url,
            grpc_port=0,
            metrics_port=0,
            burst_limit=3,
            burst_address_limit=100_000,
            verifier=DictVerifier(PRINCIPALS),
        )
        with running(app) as host, grpc.insecure_channel(host.address) as channel:
            with app.db.transaction() as session:  # the person the tests serve exists
                session.execute(identity_persons.insert().values(person_id=IT_PERSON))
            yield app, feedback_pb2_grpc.FeedbackServiceStub(channel)


def eventually(probe: Callable[[], Any], timeout: float = 90.0) -> Any:
    """Poll `probe` until it returns something truthy (consumers apply events asynchronously).

    The generous timeout only matters on a loaded machine; a passing probe returns at once.
    On timeout the consumers' progress is logged to explain why.
    """
    try:
        return testing.eventually(probe, timeout, interval=0.2)
    except AssertionError:
        logger.error("eventually: gave up; consumer progress %s", consumer_progress())
        raise


def consumer_progress() -> dict[str, float]:
    out: dict[str, float] = {}
    for metric in REGISTRY.collect():
        if metric.name == "puhui_kafka_consumed":
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    key = f"{sample.labels['group']}/{sample.labels['outcome']}"
                    out[key] = out.get(key, 0.0) + sample.value
    return out
