"""Keys (JWKS, rotation, retirement, an independent JWT library), roles, memberships and
node service accounts, end to end. Operator commands run through the real CLI code."""

from __future__ import annotations

import argparse
import base64
import json
import time

import grpc
import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from puhui.identity.cli import run_command
from puhui.identity.client import jwks_loader
from puhui.identity.tests.integration.support import NODE, register, sign_in, unique_email
from puhui.identity.v1 import events_pb2, identity_pb2
from puhui.kit import redis as kit_redis
from puhui.kit import tokens as kt
from puhui.kit.testing import bearer, eventually, read_events

pytestmark = pytest.mark.integration

TOPIC = f"puhui.{NODE}.identity.events"


def cli(settings, capsys, *argv: str) -> str:
    from puhui.identity.cli import _parser

    args: argparse.Namespace = _parser().parse_args(list(argv))
    assert run_command(args, **settings) == 0
    return capsys.readouterr().out


def kit_verifier(stub) -> kt.JwtVerifier:
    """A verifier that knows nothing but what GetJwks returns."""
    jwks = stub.GetJwks(identity_pb2.GetJwksRequest(), timeout=10)
    key_sets = kt.KeySets()
    key_sets.put(jwks.issuer, jwks.jwks_json)
    return kt.JwtVerifier(key_sets, "puhui", [NODE])


def test_access_token_verifies_with_an_independent_library_given_only_the_jwks(identity):
    _, stub = identity
    email = unique_email()
    person = register(stub, email=email)
    token = sign_in(stub, email).access_token
    jwks = stub.GetJwks(identity_pb2.GetJwksRequest(), timeout=10)
    assert jwks.issuer == NODE
    document = json.loads(jwks.jwks_json)
    assert document["keys"], "JWKS lists the active key"
    for key in document["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "public members only"

    decoded = jose_jwt.decode(token, KeySet.import_key_set(document), algorithms=["ES256"])
    jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": NODE},
        aud={"essential": True, "value": "puhui"},
        sub={"essential": True, "value": person.person_id},
        jti={"essential": True},
    ).validate(decoded.claims)
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.claims["acr"] == "http://eidas.europa.eu/LoA/low"
    assert decoded.claims["roles"] == ["innovator"]
    assert decoded.claims["exp"] - decoded.claims["iat"] == 900

    # the kit's verifier, given the same JWKS: accepts it for "puhui", not for another audience
    assert kit_verifier(stub).verify(token).subject == person.person_id
    jwks_only = kt.KeySets()
    jwks_only.put(jwks.issuer, jwks.jwks_json)
    with pytest.raises(kt.Unauthenticated, match="audience"):
        kt.JwtVerifier(jwks_only, "puhui-data", [NODE]).verify(token)


def test_rotation_keeps_old_tokens_valid_until_retired(identity, settings, capsys, kafka_bootstrap):
    _, stub = identity
    email = unique_email()
    register(stub, email=email)
    old = sign_in(stub, email).access_token
    old_kid = json.loads(base64.urlsafe_b64decode(old.split(".")[0] + "=="))["kid"]

    new_kid = cli(settings, capsys, "keys", "rotate").splitlines()[0]
    assert new_kid != old_kid
    assert kit_verifier(stub).verify(old).subject  # passive key still listed
    time.sleep(0.3)  # the server re-reads its active key after jwks_cache_seconds (0.2 here)
    fresh = sign_in(stub, email).access_token
    assert json.loads(base64.urlsafe_b64decode(fresh.split(".")[0] + "=="))["kid"] == new_kid

    cli(settings, capsys, "keys", "retire", old_kid)
    verifier = kit_verifier(stub)
    with pytest.raises(kt.Unauthenticated, match="retired"):
        verifier.verify(old)
    assert verifier.verify(fresh).subject

    # the server itself stops accepting it too (its key-set cache is short)
    def refused() -> grpc.StatusCode | None:
        try:
            stub.GetMe(identity_pb2.GetMeRequest(), metadata=bearer(old), timeout=10)
        except grpc.RpcError as exc:
            return exc.code()
        return None

    assert eventually(refused, 10) == grpc.StatusCode.UNAUTHENTICATED

    changes = read_events(
        kafka_bootstrap,
        TOPIC,
        lambda e: e.type.endswith("KeySetChanged") and unpack_kid(e) in (new_kid, old_kid),
        count=3,
    )
    payloads = [_key_set(e) for e in changes]
    assert [(p.change, p.kid) for p in payloads] == [
        ("rotated", old_kid),  # the node's first key, made at start-up
        ("rotated", new_kid),
        ("retired", old_kid),
    ]
    assert old_kid not in payloads[2].jwks_json
    assert '"d"' not in payloads[0].jwks_json


def _key_set(envelope) -> events_pb2.KeySetChanged:
    payload = events_pb2.KeySetChanged()
    envelope.payload.Unpack(payload)
    return payload


def unpack_kid(envelope) -> str:
    return _key_set(envelope).kid


def test_edited_and_other_audience_tokens_rejected_by_the_server(identity, settings):
    _, stub = identity
    email = unique_email()
    register(stub, email=email)
    header, payload, signature = sign_in(stub, email).access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["national_admin"]
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(grpc.RpcError) as info:
        stub.GetMe(
            identity_pb2.GetMeRequest(),
            metadata=bearer(f"{header}.{edited}.{signature}"),
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_roles_need_admins_and_are_audited(identity, settings, capsys, kafka_bootstrap):
    _, stub = identity
    admin_email, user_email = unique_email(), unique_email()
    admin = register(stub, email=admin_email)
    user = register(stub, email=user_email)
    grant = identity_pb2.RoleGrant(role=identity_pb2.ROLE_INSTITUTION_STAFF, scope="440000-000001")
    request = identity_pb2.GrantRoleRequest(person_id=user.person_id, grant=grant)

    with pytest.raises(grpc.RpcError) as info:
        stub.GrantRole(request, timeout=10)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as info:
        stub.GrantRole(
            request, metadata=bearer(sign_in(stub, admin_email).access_token), timeout=10
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED

    # bootstrap: the operator makes the first province admin and verifies them
    cli(settings, capsys, "roles", "grant", admin.person_id, "province_admin", "--scope", NODE)
    cli(
        settings,
        capsys,
        "persons",
        "verify",
        admin.person_id,
        "--level",
        "substantial",
        "--method",
        "id_check",
    )
    token = sign_in(stub, admin_email).access_token
    granted = stub.GrantRole(request, metadata=bearer(token), timeout=10)
    assert {(g.role, g.scope) for g in granted.roles} == {
        (identity_pb2.ROLE_INNOVATOR, ""),
        (identity_pb2.ROLE_INSTITUTION_STAFF, "440000-000001"),
    }
    with pytest.raises(grpc.RpcError) as info:
        stub.GrantRole(
            identity_pb2.GrantRoleRequest(
                person_id=user.person_id,
                grant=identity_pb2.RoleGrant(role=identity_pb2.ROLE_PROVINCE_ADMIN, scope="320000"),
            ),
            metadata=bearer(token),
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    stub.RevokeRole(
        identity_pb2.RevokeRoleRequest(person_id=user.person_id, grant=grant),
        metadata=bearer(token),
        timeout=10,
    )

    # the user's next token carries what they hold now
    user_view = stub.GetPerson(
        identity_pb2.GetPersonRequest(person_id=user.person_id), metadata=bearer(token), timeout=10
    )
    assert [g.role for g in user_view.roles] == [identity_pb2.ROLE_INNOVATOR]

    events = read_events(
        kafka_bootstrap,
        TOPIC,
        lambda e: e.type.endswith("RoleChanged") and e.subject == f"person/{user.person_id}",
        count=2,
    )
    changes = []
    for e in events:
        p = events_pb2.RoleChanged()
        e.payload.Unpack(p)
        changes.append((p.grant.role, p.granted, p.actor))
    assert changes == [
        (identity_pb2.ROLE_INSTITUTION_STAFF, True, admin.person_id),
        (identity_pb2.ROLE_INSTITUTION_STAFF, False, admin.person_id),
    ]


def test_organisations_and_memberships(identity, kafka_bootstrap):
    _, stub = identity
    owner_email, member_email = unique_email(), unique_email()
    owner = register(stub, email=owner_email)
    member = register(stub, email=member_email)
    owner_token = sign_in(stub, owner_email).access_token
    member_token = sign_in(stub, member_email).access_token
    org = stub.CreateOrganisation(
        identity_pb2.CreateOrganisationRequest(
            credit_code="91440300MA5F000007",
            name="深圳某科技有限公司",
            type=identity_pb2.ORGANISATION_TYPE_ENTERPRISE,
            region_code="440305",
        ),
        metadata=bearer(owner_token),
        timeout=10,
    )
    assert org.home_node == NODE
    with pytest.raises(grpc.RpcError) as info:
        stub.CreateOrganisation(
            identity_pb2.CreateOrganisationRequest(
                credit_code="91440300MA5F000007", name="x", type=1, region_code="440305"
            ),
            metadata=bearer(member_token),
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as info:
        stub.CreateOrganisation(
            identity_pb2.CreateOrganisationRequest(
                credit_code="91440300MA5F000008", name="x", type=1, region_code="440305"
            ),
            metadata=bearer(member_token),
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    add = identity_pb2.AddMembershipRequest(
        organisation_id=org.organisation_id,
        person_id=member.person_id,
        role=identity_pb2.MEMBERSHIP_ROLE_MEMBER,
    )
    with pytest.raises(grpc.RpcError) as info:
        stub.AddMembership(add, metadata=bearer(member_token), timeout=10)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    stub.AddMembership(add, metadata=bearer(owner_token), timeout=10)
    refreshed = sign_in(stub, member_email).access_token
    claims = json.loads(base64.urlsafe_b64decode(refreshed.split(".")[1] + "=="))
    assert claims["orgs"] == [[org.organisation_id, "member"]]

    listed = stub.ListOrganisations(
        identity_pb2.ListOrganisationsRequest(region_code="440300"), timeout=10
    )
    assert [o.organisation_id for o in listed.organisations] == [org.organisation_id]

    events = read_events(
        kafka_bootstrap,
        TOPIC,
        lambda e: (
            e.type.endswith("MembershipChanged")
            and e.subject == f"organisation/{org.organisation_id}"
        ),
        count=2,
    )
    members = []
    for e in events:
        p = events_pb2.MembershipChanged()
        e.payload.Unpack(p)
        members.append((p.person_id, p.role, p.added))
    assert members == [
        (owner.person_id, identity_pb2.MEMBERSHIP_ROLE_ADMIN, True),
        (member.person_id, identity_pb2.MEMBERSHIP_ROLE_MEMBER, True),
    ]


def test_node_service_account_client_credentials(identity, settings, capsys):
    _, stub = identity
    out = cli(
        settings, capsys, "service-accounts", "create", "catalog-sync", "--scope", "data.read"
    )
    secret = next(
        line.split("=", 1)[1] for line in out.splitlines() if line.startswith("client_secret=")
    )
    session = stub.IssueServiceToken(
        identity_pb2.IssueServiceTokenRequest(
            client_id="catalog-sync", client_secret=secret, scopes=["data.read"]
        ),
        timeout=10,
    )
    principal = kit_verifier(stub).verify(session.access_token)
    assert principal.subject == f"{NODE}:svc:catalog-sync"
    assert kt.authorize(principal, roles=[kt.ROLE_NODE_SERVICE], scopes=["data.read"])
    with pytest.raises(grpc.RpcError) as info:
        stub.IssueServiceToken(
            identity_pb2.IssueServiceTokenRequest(
                client_id="catalog-sync", client_secret="pcs_wrong"
            ),
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_another_service_verifies_with_the_jwks_loader(identity_host, identity, redis_url):
    """How catalog/data/feedback adopt the verifier: key set fetched from identity by gRPC,
    revocations shared through Redis."""
    _, stub = identity
    email = unique_email()
    register(stub, email=email)
    session = sign_in(stub, email)
    client = kit_redis.connect(redis_url)
    assert client is not None
    try:
        verifier = kt.JwtVerifier(
            kt.KeySets(jwks_loader(identity_host.address)),
            audience="puhui",
            revocation_store=kt.RedisRevocationStore(client, refresh_seconds=0),
        )
        principal = verifier.verify(session.access_token)
        assert principal.issuer == NODE
        assert kt.authorize(principal, roles=[kt.ROLE_INNOVATOR]) is principal
        with pytest.raises(kt.PermissionDenied):
            kt.authorize(principal, roles=[kt.ROLE_PROVINCE_ADMIN], scope_node=NODE)
        stub.SignOut(
            identity_pb2.SignOutRequest(), metadata=bearer(session.access_token), timeout=10
        )
        with pytest.raises(kt.Unauthenticated):
            verifier.verify(session.access_token)
    finally:
        client.close()


def test_verify_person_raises_assurance_and_requires_a_verified_admin(
    identity, settings, capsys, kafka_bootstrap
):
    _, stub = identity
    admin_email, user_email = unique_email(), unique_email()
    admin = register(stub, email=admin_email)
    user = register(stub, email=user_email)
    request = identity_pb2.VerifyPersonRequest(
        person_id=user.person_id,
        assurance_level=identity_pb2.ASSURANCE_LEVEL_SUBSTANTIAL,
        method="id_check",
    )
    cli(settings, capsys, "roles", "grant", admin.person_id, "province_admin", "--scope", NODE)
    with pytest.raises(grpc.RpcError) as info:  # an admin still at LOW assurance
        stub.VerifyPerson(
            request, metadata=bearer(sign_in(stub, admin_email).access_token), timeout=10
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "assurance" in info.value.details()

    cli(settings, capsys, "persons", "verify", admin.person_id, "--level", "high")
    verified = stub.VerifyPerson(
        request, metadata=bearer(sign_in(stub, admin_email).access_token), timeout=10
    )
    assert verified.assurance_level == identity_pb2.ASSURANCE_LEVEL_SUBSTANTIAL
    claims = json.loads(
        base64.urlsafe_b64decode(sign_in(stub, user_email).access_token.split(".")[1] + "==")
    )
    assert claims["acr"] == "http://eidas.europa.eu/LoA/substantial"

    (event,) = read_events(
        kafka_bootstrap,
        TOPIC,
        lambda e: e.type.endswith("PersonVerified") and e.subject == f"person/{user.person_id}",
    )
    payload = events_pb2.PersonVerified()
    event.payload.Unpack(payload)
    assert (payload.assurance_level, payload.method, payload.actor) == (
        identity_pb2.ASSURANCE_LEVEL_SUBSTANTIAL,
        "id_check",
        admin.person_id,
    )
