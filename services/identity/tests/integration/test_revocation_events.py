"""Identity publishes every revocation (ADR 0014): a TokenRevoked event in the outbox on
`puhui.<node>.identity.revocations`, in the same transaction as a refresh family's
revocation — on PostgreSQL and on the embedded SQLite database (no Redis, no lock wait)."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from sqlalchemy import select

from puhui.events.v1 import revocation_pb2
from puhui.identity.adapters.db import outbox
from puhui.identity.server import build
from puhui.identity.tests.integration.support import (
    ID_KEY,
    KEK,
    NODE,
    register,
    sign_in,
    unique_email,
)
from puhui.identity.v1 import identity_pb2, identity_pb2_grpc
from puhui.kit.revocation import revocations_topic
from puhui.kit.testing import bearer, running

pytestmark = pytest.mark.integration


def revocations_in_outbox(app) -> list[revocation_pb2.TokenRevoked]:
    from puhui.events.v1 import envelope_pb2

    with app.db.transaction() as s:
        rows = s.execute(
            select(outbox.c.envelope).where(outbox.c.topic == revocations_topic(NODE))
        ).all()
    found = []
    for (raw,) in rows:
        event = revocation_pb2.TokenRevoked()
        assert envelope_pb2.EventEnvelope.FromString(raw).payload.Unpack(event)
        found.append(event)
    return found


def exercise(app, stub) -> None:
    email = unique_email()
    register(stub, email=email)
    verify = app.jwt_verifier.verify

    signed_in = sign_in(stub, email)
    stub.SignOut(identity_pb2.SignOutRequest(), metadata=bearer(signed_in.access_token), timeout=10)
    first = sign_in(stub, email)
    rotated = stub.RefreshTokens(
        identity_pb2.RefreshTokensRequest(refresh_token=first.refresh_token), timeout=10
    )
    rotated_jti = verify(rotated.access_token).token_id
    with pytest.raises(grpc.RpcError) as reused:
        stub.RefreshTokens(
            identity_pb2.RefreshTokensRequest(refresh_token=first.refresh_token), timeout=10
        )
    assert reused.value.code() == grpc.StatusCode.UNAUTHENTICATED

    events = {e.jti: e for e in revocations_in_outbox(app)}
    assert rotated_jti in events  # the reused family's newest access token
    event = events[rotated_jti]
    assert event.issuer == NODE
    assert event.expires_at.seconds > 0
    for e in events.values():  # ids only: no token or secret in the event
        assert rotated.access_token not in e.SerializeToString().decode("latin-1")
    with pytest.raises(Exception, match="revoked"):
        verify(rotated.access_token)


def test_revocations_are_events_in_the_outbox_on_postgresql(identity) -> None:
    app, stub = identity
    exercise(app, stub)


def test_refresh_reuse_on_the_embedded_sqlite_database(tmp_path: Path, kafka_bootstrap) -> None:
    app = build(
        node_id=NODE,
        database_url=f"sqlite:///{tmp_path / 'identity.db'}",
        kafka_bootstrap=kafka_bootstrap,
        redis_url="",
        grpc_port=0,
        metrics_port=0,
        id_number_key=ID_KEY,
        key_encryption_key=KEK,
        throttle_address_ceiling=10**9,
    )
    assert app.db.is_sqlite
    with running(app) as host, grpc.insecure_channel(host.address) as channel:
        exercise(app, identity_pb2_grpc.IdentityServiceStub(channel))
