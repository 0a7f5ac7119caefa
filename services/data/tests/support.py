"""Helpers shared by the data service's tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from puhui.data.server import DataApp, build
from puhui.data.v1 import data_pb2_grpc
from puhui.kit.auth import Principal
from puhui.kit.errors import Unauthenticated
from puhui.kit.testing import bearer, running

US_GRANTS = (
    Path(__file__).resolve().parent
    / "fixtures/patents/us_uspto_public_search/uspto_ppubs_biblio_129.csv"
)

ROLES = {
    "admin-token": Principal(
        subject="000000:admin", issuer="test", roles=frozenset({"national_admin"})
    ),
    "node-token": Principal(
        subject="000000:node",
        issuer="test",
        roles=frozenset({"node_service"}),
        role_scopes=(("node_service", "000000"),),
    ),
    "province-node-token": Principal(
        subject="440000:node",
        issuer="test",
        roles=frozenset({"node_service"}),
        role_scopes=(("node_service", "440000"),),
    ),
    "innovator-token": Principal(
        subject="440000:alice", issuer="test", roles=frozenset({"innovator"})
    ),
    "staff-token": Principal(
        subject="440000:bob", issuer="test", roles=frozenset({"institution_staff"})
    ),
}


class FixedVerifier:
    """Test TokenVerifier: a few fixed tokens, each a known principal."""

    def verify(self, token: str) -> Principal:
        try:
            return ROLES[token]
        except KeyError:
            raise Unauthenticated("unknown test token") from None


ADMIN = bearer("admin-token")


def retry_delay(err: grpc.RpcError) -> float:
    status = rpc_status.from_call(err)
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.ToTimedelta().total_seconds()
    raise AssertionError("no RetryInfo")


def error_reason(err: grpc.RpcError) -> str:
    for detail in rpc_status.from_call(err).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    raise AssertionError("no ErrorInfo")


@contextmanager
def serving_us_grants(**overrides: Any) -> Iterator[tuple[DataApp, data_pb2_grpc.DataServiceStub]]:
    """A data service (config `overrides`, tokens as ROLES) holding the 129 USPTO grants of
    the fixtures, and a stub connected to it."""
    app = build(verifier=FixedVerifier(), grpc_port=0, metrics_port=0, **overrides)
    with running(app) as host, grpc.insecure_channel(host.address) as channel:
        app.importer().run("uspto-ppubs-csv", US_GRANTS)
        yield app, data_pb2_grpc.DataServiceStub(channel)
