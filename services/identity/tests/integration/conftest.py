"""Fixtures: identity against real PostgreSQL, Redis and Kafka, through a real gRPC server."""

from __future__ import annotations

import grpc
import pytest

from puhui.identity.server import build
from puhui.identity.tests.integration.support import ID_KEY, KEK, NODE
from puhui.identity.v1 import identity_pb2_grpc
from puhui.kit.testing import running, temporary_database


@pytest.fixture(scope="module")
def module_database(postgres_admin_url):
    """One database per test module: tests use their own unique accounts, so they can share
    a server (starting one per test would double the suite's time)."""
    with temporary_database(postgres_admin_url, "identity") as url:
        yield url


@pytest.fixture(scope="module")
def settings(module_database, kafka_bootstrap, redis_url):
    return {
        "node_id": NODE,
        "database_url": module_database,
        "kafka_bootstrap": kafka_bootstrap,
        "redis_url": redis_url,
        "grpc_port": 0,
        "metrics_port": 0,
        "id_number_key": ID_KEY,
        "key_encryption_key": KEK,
        # Every test connects from 127.0.0.1: keep the per-address ceiling out of the way
        # (it is tested on its own with distinct addresses).
        "throttle_address_ceiling": 10**9,
        "jwks_cache_seconds": 0.2,
    }


@pytest.fixture(scope="module")
def identity_host(settings):
    with running(build(**settings)) as host:
        yield host


@pytest.fixture
def identity(identity_host):
    with grpc.insecure_channel(identity_host.address) as channel:
        yield identity_host.app, identity_pb2_grpc.IdentityServiceStub(channel)
