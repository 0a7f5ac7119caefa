"""Catalog integration fixtures: a real gRPC server over real PostgreSQL and Kafka."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from puhui.catalog.server import CatalogApp, build
from puhui.catalog.tests.support import RoleTokens
from puhui.catalog.v1 import catalog_pb2_grpc
from puhui.kit.testing import running, temporary_database

NODE = "440000"


class Client:
    """A stub that sends a bearer token (or none) with every call."""

    def __init__(self, stub: catalog_pb2_grpc.CatalogServiceStub, token: str | None) -> None:
        self._stub = stub
        self._token = token

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._stub, name)

        def call(request: Any, **kw: Any) -> Any:
            kw.setdefault("timeout", 10)
            if self._token:
                kw["metadata"] = [("authorization", f"Bearer {self._token}")]
            return method(request, **kw)

        return call


class Catalog:
    def __init__(self, app: CatalogApp, channel: grpc.Channel) -> None:
        self.app = app
        self.stub = catalog_pb2_grpc.CatalogServiceStub(channel)

    def as_(self, token: str | None) -> Client:
        return Client(self.stub, token)


def _start(url: str, kafka_bootstrap: str) -> Iterator[Catalog]:
    app = build(
        verifier=RoleTokens(),
        node_id=NODE,
        database_url=url,
        kafka_bootstrap=kafka_bootstrap,
        grpc_port=0,
        metrics_port=0,
    )
    with running(app) as host, grpc.insecure_channel(host.address) as channel:
        yield Catalog(app, channel)


@pytest.fixture(scope="module")
def shared_catalog(postgres_admin_url: str, kafka_bootstrap: str) -> Iterator[Catalog]:
    """One server and database per test module; tests filter by the ids they create."""
    with temporary_database(postgres_admin_url, "catalog") as url:
        yield from _start(url, kafka_bootstrap)


@pytest.fixture
def fresh_catalog(database_url: str, kafka_bootstrap: str) -> Iterator[Catalog]:
    """A server over an empty database, for tests that need exact totals."""
    yield from _start(database_url, kafka_bootstrap)
