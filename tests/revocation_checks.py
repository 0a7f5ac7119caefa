"""Shared by the revocation scenarios: call catalog, data and feedback with a bearer token and
see whether they accept it, and wait until every one of them refuses it as revoked."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping

import grpc

from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.feedback.v1 import feedback_pb2, feedback_pb2_grpc
from puhui.identity.v1 import identity_pb2, identity_pb2_grpc

PASSWORD = "correct horse battery 7"
PROPAGATION_BOUND_SECONDS = 5.0  # issue 16: enforced everywhere within 5 s


def register_and_sign_in(channel: grpc.Channel) -> tuple[str, identity_pb2.SignInResponse]:
    stub = identity_pb2_grpc.IdentityServiceStub(channel)
    email = f"rev-{uuid.uuid4().hex[:10]}@example.cn"
    stub.RegisterPerson(
        identity_pb2.RegisterPersonRequest(display_name="撤销测试", email=email, password=PASSWORD),
        timeout=15,
    )
    return email, sign_in(channel, email)


def sign_in(channel: grpc.Channel, login: str) -> identity_pb2.SignInResponse:
    return identity_pb2_grpc.IdentityServiceStub(channel).SignIn(
        identity_pb2.SignInRequest(login=login, password=PASSWORD), timeout=15
    )


def outcome(service: str, channel: grpc.Channel, token: str) -> tuple[grpc.StatusCode, str]:
    """(status code, details) of one ordinary call to `service` with `token`."""
    metadata = [("authorization", f"Bearer {token}")]
    try:
        if service == "catalog":
            catalog_pb2_grpc.CatalogServiceStub(channel).SearchInstitutions(
                catalog_pb2.SearchInstitutionsRequest(query="中心"), metadata=metadata, timeout=10
            )
        elif service == "data":
            data_pb2_grpc.DataServiceStub(channel).SearchPatents(
                data_pb2.SearchPatentsRequest(query="电池"), metadata=metadata, timeout=10
            )
        elif service == "feedback":
            feedback_pb2_grpc.FeedbackServiceStub(channel).ListRatings(
                feedback_pb2.ListRatingsRequest(), metadata=metadata, timeout=10
            )
        else:
            raise ValueError(service)
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


def accepted(service: str, channel: grpc.Channel, token: str) -> bool:
    """The token got past authentication (the call may still be refused for other reasons)."""
    return outcome(service, channel, token)[0] != grpc.StatusCode.UNAUTHENTICATED


def refused_as_revoked(service: str, channel: grpc.Channel, token: str) -> bool:
    code, details = outcome(service, channel, token)
    return code == grpc.StatusCode.UNAUTHENTICATED and "revoked" in details


def wait_accepted(targets: Mapping[str, grpc.Channel], token: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    pending = dict(targets)
    while pending and time.monotonic() < deadline:
        pending = {n: c for n, c in pending.items() if not accepted(n.split("@")[0], c, token)}
        if pending:
            time.sleep(0.2)
    assert not pending, {n: outcome(n.split("@")[0], c, token) for n, c in pending.items()}


def seconds_until_refused(
    targets: Mapping[str, grpc.Channel],
    token: str,
    since: float,
    timeout: float = PROPAGATION_BOUND_SECONDS,
) -> dict[str, float]:
    """Seconds from `since` (time.monotonic) until each target refuses `token` as revoked.
    Targets are named "<service>@<node>"; fails naming those that still accept it."""
    took: dict[str, float] = {}
    deadline = since + timeout
    while len(took) < len(targets):
        for name, channel in targets.items():
            if name not in took and refused_as_revoked(name.split("@")[0], channel, token):
                took[name] = time.monotonic() - since
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    late = {n: outcome(n.split("@")[0], c, token) for n, c in targets.items() if n not in took}
    assert not late, f"still accepted {timeout:.0f} s after the revocation: {late}"
    return took
