"""Registration, sign-in, refresh, sign-out, revocation and audit events, end to end."""

from __future__ import annotations

import uuid

import grpc
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from puhui.identity.adapters.db import outbox, persons
from puhui.identity.tests.integration.support import NODE, PASSWORD, register, sign_in, unique_email
from puhui.identity.v1 import events_pb2, identity_pb2
from puhui.kit import redis as kit_redis
from puhui.kit import tokens as kt
from puhui.kit.testing import bearer, read_events, violations

pytestmark = pytest.mark.integration

TOPIC = f"puhui.{NODE}.identity.events"
ID_NUMBER = "440301199001011234"


def unpack(envelope, message_type):
    payload = message_type()
    assert envelope.payload.Unpack(payload)
    return payload


def counts(app) -> tuple[int, int]:
    with app.db.transaction() as s:
        return (
            s.execute(select(func.count()).select_from(persons)).scalar_one(),
            s.execute(select(func.count()).select_from(outbox)).scalar_one(),
        )


def test_register_sign_in_refresh_and_audit_events(identity, kafka_bootstrap):
    _app, stub = identity
    email = unique_email()
    person = register(stub, email=email.upper(), id_number=ID_NUMBER)
    assert person.person_id.startswith(f"{NODE}:")
    assert person.email == email
    assert person.id_number_masked == "4403**********1234"
    assert person.assurance_level == identity_pb2.ASSURANCE_LEVEL_LOW

    with pytest.raises(grpc.RpcError) as wrong:
        sign_in(stub, email, "Wrong-Password-1")
    assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED

    session = sign_in(stub, email)
    assert session.token_type == "Bearer"
    assert 800 <= session.expires_in_seconds <= 900
    me = stub.GetMe(identity_pb2.GetMeRequest(), metadata=bearer(session.access_token), timeout=10)
    assert me.person_id == person.person_id
    assert me.id_number_masked == "4403**********1234"

    rotated = stub.RefreshTokens(
        identity_pb2.RefreshTokensRequest(refresh_token=session.refresh_token), timeout=10
    )
    assert rotated.refresh_token != session.refresh_token
    stub.GetMe(identity_pb2.GetMeRequest(), metadata=bearer(rotated.access_token), timeout=10)

    # replaying the first refresh token revokes the whole family, newest tokens included
    with pytest.raises(grpc.RpcError) as replay:
        stub.RefreshTokens(
            identity_pb2.RefreshTokensRequest(refresh_token=session.refresh_token), timeout=10
        )
    assert replay.value.code() == grpc.StatusCode.UNAUTHENTICATED
    for attempt in (
        lambda: stub.RefreshTokens(
            identity_pb2.RefreshTokensRequest(refresh_token=rotated.refresh_token), timeout=10
        ),
        lambda: stub.GetMe(
            identity_pb2.GetMeRequest(), metadata=bearer(rotated.access_token), timeout=10
        ),
    ):
        with pytest.raises(grpc.RpcError) as dead:
            attempt()
        assert dead.value.code() == grpc.StatusCode.UNAUTHENTICATED

    events = read_events(
        kafka_bootstrap, TOPIC, lambda e: e.subject == f"person/{person.person_id}", count=3
    )
    by_type = [e.type for e in events]
    assert by_type[0] == "puhui.identity.v1.PersonRegistered"
    attempts = [
        unpack(e, events_pb2.SignInAttempted) for e in events if e.type.endswith("SignInAttempted")
    ]
    assert [a.result for a in attempts] == [
        events_pb2.SIGN_IN_RESULT_BAD_CREDENTIALS,
        events_pb2.SIGN_IN_RESULT_SUCCESS,
    ]
    assert attempts[0].client_network == "127.0.0.0/24"
    assert all(e.source_node == NODE for e in events)


def test_bad_input_names_fields_and_writes_nothing(identity):
    app, stub = identity
    before = counts(app)
    with pytest.raises(grpc.RpcError) as info:
        stub.RegisterPerson(
            identity_pb2.RegisterPersonRequest(
                display_name="",
                email="nope",
                mobile="123",
                password="short",
                id_number="440301199001011235",
            ),
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(info.value)) == {
        "display_name",
        "email",
        "mobile",
        "password",
        "id_number",
    }
    assert counts(app) == before

    with pytest.raises(grpc.RpcError) as info:
        stub.SignIn(
            identity_pb2.SignInRequest(login="", password="", audience="elsewhere"), timeout=10
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(info.value)) == {"login", "password", "audience"}


def test_duplicate_registration_is_already_exists(identity):
    _, stub = identity
    email = unique_email()
    register(stub, email=email)
    with pytest.raises(grpc.RpcError) as info:
        register(stub, email=email)
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"node": NODE, **labels}) or 0.0


def test_unknown_account_and_wrong_password_give_the_same_answer(identity):
    _, stub = identity
    email = unique_email()
    registered = sample("puhui_identity_registrations_total", kind="person")
    register(stub, email=email)
    assert sample("puhui_identity_registrations_total", kind="person") == registered + 1
    failed = sample("puhui_identity_sign_ins_total", result="bad_credentials")
    answers = []
    for login in (unique_email(), email):
        with pytest.raises(grpc.RpcError) as info:
            sign_in(stub, login, "Wrong-Password-1")
        answers.append((info.value.code(), info.value.details()))
    assert answers[0] == answers[1]
    assert answers[0][0] == grpc.StatusCode.UNAUTHENTICATED
    assert sample("puhui_identity_sign_ins_total", result="bad_credentials") == failed + 2


def test_throttling_through_grpc_gives_resource_exhausted(settings, redis_url):
    from puhui.identity.server import build
    from puhui.identity.v1 import identity_pb2_grpc
    from puhui.kit.testing import running

    app = build(
        **{
            **settings,
            "throttle_free_failures": 1,
            "throttle_lockout_failures": 3,
            "throttle_base_delay_seconds": 30,
        }
    )
    with running(app) as host, grpc.insecure_channel(host.address) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        email = unique_email()
        register(stub, email=email)
        with pytest.raises(grpc.RpcError):
            sign_in(stub, email, "Wrong-Password-1")
        with pytest.raises(grpc.RpcError):
            sign_in(stub, email, "Wrong-Password-1")
        with pytest.raises(grpc.RpcError) as info:
            sign_in(stub, email)  # the right password must wait too
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "try again later" in info.value.details()


def test_sign_out_and_revocation_reach_every_process_through_redis(identity, redis_url):
    _app, stub = identity
    email = unique_email()
    register(stub, email=email)
    # a second "process": its own verifier and revocation snapshot, same Redis
    jwks = stub.GetJwks(identity_pb2.GetJwksRequest(), timeout=10)
    key_sets = kt.KeySets()
    key_sets.put(jwks.issuer, jwks.jwks_json)
    client = kit_redis.connect(redis_url)
    assert client is not None
    other = kt.JwtVerifier(
        key_sets, "puhui", [NODE], kt.RedisRevocationStore(client, refresh_seconds=0)
    )
    try:
        first = sign_in(stub, email)
        principal = other.verify(first.access_token)
        stub.RevokeToken(
            identity_pb2.RevokeTokenRequest(jti=principal.token_id),
            metadata=bearer(first.access_token),
            timeout=10,
        )
        with pytest.raises(kt.Unauthenticated, match="revoked"):
            other.verify(first.access_token)

        second = sign_in(stub, email)
        assert other.verify(second.access_token).subject
        stub.SignOut(
            identity_pb2.SignOutRequest(refresh_token=second.refresh_token),
            metadata=bearer(second.access_token),
            timeout=10,
        )
        with pytest.raises(kt.Unauthenticated, match="revoked"):
            other.verify(second.access_token)
        with pytest.raises(grpc.RpcError) as info:
            stub.RefreshTokens(
                identity_pb2.RefreshTokensRequest(refresh_token=second.refresh_token), timeout=10
            )
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        client.close()


def test_anonymous_and_bad_tokens_are_unauthenticated(identity):
    _, stub = identity
    with pytest.raises(grpc.RpcError) as info:
        stub.GetMe(identity_pb2.GetMeRequest(), timeout=10)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as info:
        stub.GetMe(
            identity_pb2.GetMeRequest(), metadata=bearer("eyJhbGciOiJub25lIn0.e30."), timeout=10
        )
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_behind_a_trusted_proxy_each_client_has_its_own_address_ceiling(settings):
    """PUHUI_TRUSTED_PROXIES: the forwarded address, not the balancer's, is throttled."""
    from puhui.identity.server import build
    from puhui.identity.v1 import identity_pb2_grpc
    from puhui.kit.testing import running

    app = build(
        **{
            **settings,
            "trusted_proxies": ("127.0.0.0/8",),
            "throttle_address_ceiling": 2,
            "throttle_free_failures": 50,
            "throttle_lockout_failures": 100,
        }
    )
    attacker = f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::1"
    user = f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::2"

    def attempt(stub, login: str, password: str, address: str):
        return stub.SignIn(
            identity_pb2.SignInRequest(login=login, password=password),
            metadata=[("x-forwarded-for", f"198.51.100.250, {address}")],
            timeout=10,
        )

    with running(app) as host, grpc.insecure_channel(host.address) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        email = unique_email()
        register(stub, email=email)
        codes = []
        for _ in range(4):
            with pytest.raises(grpc.RpcError) as failed:
                attempt(stub, email, "Wrong-Password-1", attacker)
            codes.append(failed.value.code())
        assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes  # the attacker's address is blocked
        assert attempt(stub, email, PASSWORD, user).access_token  # the user's is not
