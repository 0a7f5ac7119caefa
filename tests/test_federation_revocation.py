"""Revocation is federated (issue 16, ADR 0014), on real Kafka and PostgreSQL: a token
revoked at 440000 — by SignOut, RevokeToken or a reused refresh token — is refused by
catalog, data and feedback at 440000 and at 320000 within 5 s; a restarted service still
refuses it; a revocation one node publishes for another node's token changes nothing."""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2, timestamp_pb2

from puhui.events.v1 import envelope_pb2, revocation_pb2
from puhui.federation.testing import Federation, Node
from puhui.identity.v1 import identity_pb2, identity_pb2_grpc
from puhui.kit import kafka
from puhui.kit.revocation import revocation_key, revocations_topic
from puhui.kit.testing import eventually
from tests.revocation_checks import (
    outcome,
    refused_as_revoked,
    register_and_sign_in,
    seconds_until_refused,
    sign_in,
    wait_accepted,
)

pytestmark = pytest.mark.integration

SERVICES = ("catalog", "data", "feedback")


def two_nodes(fed: Federation) -> tuple[Node, Node, dict[str, grpc.Channel]]:
    fed.start_hub(national_models=False)
    gd = fed.start_node("440000", ("identity", *SERVICES))
    js = fed.start_node("320000", SERVICES)
    fed.join(gd, name="广东")
    targets = {f"{s}@{n.node_id}": n.channel(s) for n in (gd, js) for s in SERVICES}
    return gd, js, targets


def identity_stub(node: Node, token: str | None = None) -> Any:
    stub = identity_pb2_grpc.IdentityServiceStub(node.channel("identity"))

    class Authed:
        def __getattr__(self, name: str) -> Any:
            method = getattr(stub, name)
            metadata = [("authorization", f"Bearer {token}")] if token else []
            return lambda request: method(request, metadata=metadata, timeout=15)

    return Authed()


def test_sign_out_revoke_token_and_refresh_reuse_reach_every_service_of_every_node(
    fed: Federation,
) -> None:
    gd, js, targets = two_nodes(fed)
    login, session = register_and_sign_in(gd.channel("identity"))
    wait_accepted(targets, session.access_token)

    # SignOut at 440000.
    identity_stub(gd, session.access_token).SignOut(
        identity_pb2.SignOutRequest(refresh_token=session.refresh_token)
    )
    took = seconds_until_refused(targets, session.access_token, time.monotonic())
    code, details = outcome("catalog", js.channel("catalog"), session.access_token)
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert details == "token has been revoked"
    print(f"sign-out refused everywhere after {max(took.values()):.2f}s: {took}")

    # RevokeToken (the caller's own token).
    second = sign_in(gd.channel("identity"), login)
    wait_accepted(targets, second.access_token)
    jti = gd.app("identity").jwt_verifier.verify(second.access_token).token_id
    identity_stub(gd, second.access_token).RevokeToken(identity_pb2.RevokeTokenRequest(jti=jti))
    seconds_until_refused(targets, second.access_token, time.monotonic())

    # A refresh token used twice: the family and its newest access token die everywhere.
    third = sign_in(gd.channel("identity"), login)
    rotated = identity_stub(gd).RefreshTokens(
        identity_pb2.RefreshTokensRequest(refresh_token=third.refresh_token)
    )
    wait_accepted(targets, rotated.access_token)
    with pytest.raises(grpc.RpcError) as reused:
        identity_stub(gd).RefreshTokens(
            identity_pb2.RefreshTokensRequest(refresh_token=third.refresh_token)
        )
    assert reused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    seconds_until_refused(targets, rotated.access_token, time.monotonic())


def test_a_restarted_service_still_refuses_a_revoked_token(fed: Federation) -> None:
    gd, js, targets = two_nodes(fed)
    login, session = register_and_sign_in(gd.channel("identity"))
    wait_accepted(targets, session.access_token)
    identity_stub(gd, session.access_token).SignOut(identity_pb2.SignOutRequest())
    seconds_until_refused(targets, session.access_token, time.monotonic())

    # 320000's catalog stops; a new one (fresh verifier, empty memory) takes its place.
    js.services["catalog"].host.stop(grace=0.5)
    js.verifier = None
    database_url = js.app("catalog").config.database_url
    restarted = fed.start_service(js, "catalog", database_url=database_url).channel
    # SERVING means the recent revocations were read: refused from the first call on ...
    assert refused_as_revoked("catalog", restarted, session.access_token)
    # ... while the same person's other token is accepted (the keys are there too).
    wait_accepted(
        {"catalog@320000": restarted}, sign_in(gd.channel("identity"), login).access_token
    )
    assert refused_as_revoked("catalog", restarted, session.access_token)


def forged(topic_node: str, source: str, issuer: str, jti: str) -> tuple[str, bytes]:
    until = timestamp_pb2.Timestamp()
    until.FromNanoseconds(int((time.time() + 600) * 1e9))
    payload = any_pb2.Any()
    payload.Pack(revocation_pb2.TokenRevoked(issuer=issuer, jti=jti, expires_at=until))
    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    envelope = envelope_pb2.EventEnvelope(
        event_id=f"forged-{jti}-{issuer}",
        type=revocation_pb2.TokenRevoked.DESCRIPTOR.full_name,
        source_node=source,
        source_service="identity",
        subject=f"token/{jti}",
        time=now,
        payload=payload,
    )
    return revocations_topic(topic_node), envelope.SerializeToString()


def test_a_revocation_claiming_another_nodes_token_is_ignored(fed: Federation) -> None:
    gd, js, targets = two_nodes(fed)
    _, session = register_and_sign_in(gd.channel("identity"))
    wait_accepted(targets, session.access_token)
    jti = gd.app("identity").jwt_verifier.verify(session.access_token).token_id
    follower = js.verifier.revocation_follower  # type: ignore[union-attr]
    rejected_before = follower.rejected
    sentinel = f"sentinel-{jti}"
    producer = kafka.make_producer(fed.bootstrap, "test-forged-revocations")
    try:
        for topic, value in (
            forged("320000", "320000", "440000", jti),  # 320000 claims a 440000 token
            forged("440000", "320000", "440000", jti),  # ... written to 440000's topic
            forged("320000", "320000", "320000", jti),  # the same jti as 320000's own token
            forged("320000", "320000", "320000", sentinel),  # a valid one, written last
        ):
            producer.send(topic, key=f"token/{jti}".encode(), value=value)
        producer.flush(10)
    finally:
        producer.close(timeout=2)
    store = js.verifier.revocations  # type: ignore[union-attr]
    # The follower applies the valid record, and sees and refuses both false claims.
    eventually(lambda: store.is_revoked(revocation_key("320000", sentinel)), 10, interval=0.05)
    eventually(lambda: follower.rejected >= rejected_before + 2, 10, interval=0.05)
    for name, channel in targets.items():
        assert outcome(name.split("@")[0], channel, session.access_token)[0] != (
            grpc.StatusCode.UNAUTHENTICATED
        ), name


def test_a_removed_nodes_tokens_are_refused_by_every_service(fed: Federation) -> None:
    """A removed node needs no revocation events: the hub's "removed" key-set statement
    drops its keys everywhere (ADR 0009), so catalog, data and feedback refuse its tokens."""
    gd, _, targets = two_nodes(fed)
    _, session = register_and_sign_in(gd.channel("identity"))
    wait_accepted(targets, session.access_token)
    fed.hub.registry.remove("440000", "test")
    deadline = time.monotonic() + 5
    while True:
        results = {n: outcome(n.split("@")[0], c, session.access_token) for n, c in targets.items()}
        if all(code == grpc.StatusCode.UNAUTHENTICATED for code, _ in results.values()):
            break
        assert time.monotonic() < deadline, f"still accepted 5 s after the removal: {results}"
        time.sleep(0.05)
    assert {details for _, details in results.values()} == {
        "token signing key is unknown or retired"
    }
