"""Federation trust end to end, on real Kafka and PostgreSQL: a province joins at the hub,
the hub signs its key set onto the compacted keys topic, services of another province then
accept the province's tokens offline; removing the node makes them fail everywhere."""

from __future__ import annotations

import json
import time
import uuid

import grpc
import pytest

from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from puhui.federation.testing import Bearer, Federation
from puhui.federation.v1 import federation_pb2 as fpb
from puhui.identity.v1 import identity_pb2, identity_pb2_grpc
from puhui.kit import trust
from puhui.kit.testing import eventually

pytestmark = pytest.mark.integration


def register_and_sign_in(channel: grpc.Channel) -> tuple[str, str]:
    stub = identity_pb2_grpc.IdentityServiceStub(channel)
    email = f"fed-{uuid.uuid4().hex[:10]}@example.cn"
    person = stub.RegisterPerson(
        identity_pb2.RegisterPersonRequest(
            display_name="跨省用户", email=email, password="correct horse battery 7"
        ),
        timeout=15,
    ).person
    session = stub.SignIn(
        identity_pb2.SignInRequest(login=email, password="correct horse battery 7"), timeout=15
    )
    return person.person_id, session.access_token


def search_status(channel: grpc.Channel, token: str) -> grpc.StatusCode:
    stub = Bearer(catalog_pb2_grpc.CatalogServiceStub(channel), token)
    try:
        stub.SearchInstitutions(catalog_pb2.SearchInstitutionsRequest(query="中心"))
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def test_join_distributes_keys_and_removal_rejects_tokens_everywhere(fed: Federation) -> None:
    fed.start_hub(national_models=False)
    gd = fed.start_node("440000", ("identity",))
    js = fed.start_node("320000", ("catalog",))
    _, token = register_and_sign_in(gd.channel("identity"))

    # Before the join, 320000 does not know 440000's keys.
    assert search_status(js.channel("catalog"), token) == grpc.StatusCode.UNAUTHENTICATED

    node = fed.join(gd, name="广东")
    assert node.status == fpb.NODE_STATUS_ACTIVE
    assert node.revision == 1
    statement = trust.verify_statement(node.signed_key_set, trust.anchor_keys(fed.anchor_jwks))
    assert statement.node == "440000"
    assert statement.active
    assert {k["kid"] for k in statement.jwks["keys"]} == {
        k["kid"] for k in json.loads(node.jwks_json)["keys"]
    }

    # The statement reaches 320000's follower through Kafka; the token is then accepted.
    eventually(lambda: search_status(js.channel("catalog"), token) == grpc.StatusCode.OK, 20)
    # ... and by a verifier that starts later (reads the compacted topic from the start).
    late = fed.verifier("510000")
    assert late.wait_caught_up(15)
    eventually(lambda: "440000" in late.key_sets.issuers(), 20)
    assert late.verify(token).subject

    # Anonymous callers cannot remove nodes.
    with pytest.raises(grpc.RpcError) as denied:
        fed.federation_stub().RemoveNode(fpb.RemoveNodeRequest(node_id="440000"))
    assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED

    # The hub operator removes the node: its tokens fail at 320000 within a bounded time.
    removed_at = time.monotonic()
    fed.hub.registry.remove("440000", "test")
    eventually(
        lambda: search_status(js.channel("catalog"), token) == grpc.StatusCode.UNAUTHENTICATED,
        20,
    )
    eventually(lambda: "440000" not in late.key_sets.issuers(), 20)
    bound = time.monotonic() - removed_at
    print(f"removal effective at 320000 after {bound:.2f}s")
    assert fed.federation_stub().GetNode(fpb.GetNodeRequest(node_id="440000")).status == (
        fpb.NODE_STATUS_REMOVED
    )


def test_key_rotation_at_the_province_is_resigned_by_the_hub(fed: Federation) -> None:
    fed.start_hub(national_models=False)
    gd = fed.start_node("440000", ("identity",))
    fed.join(gd)
    follower = fed.verifier("320000")
    eventually(lambda: "440000" in follower.key_sets.issuers(), 20)

    new_kid = gd.app("identity").identity.rotate_keys()  # KeySetChanged via the outbox
    eventually(lambda: follower.key_sets.key("440000", new_kid) is not None, timeout=30)
    node = fed.federation_stub().GetNode(fpb.GetNodeRequest(node_id="440000"))
    assert node.revision >= 2
    assert new_kid in {k["kid"] for k in json.loads(node.jwks_json)["keys"]}


def test_join_errors_are_clear(fed: Federation) -> None:
    fed.start_hub(national_models=False)
    gd = fed.start_node("440000", ("identity",))
    stub = fed.federation_stub()
    jwks = json.dumps(gd.app("identity").identity.jwks())

    def join_error(**kw: object) -> grpc.RpcError:
        request = fpb.JoinNodeRequest(
            node_id="440000", jwks_json=jwks, join_code=fed.join_codes["440000"]
        )
        for k, v in kw.items():
            setattr(request, k, v)
        with pytest.raises(grpc.RpcError) as err:
            stub.JoinNode(request)
        return err.value

    unknown = join_error(node_id="449900")
    assert unknown.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a GB/T 2260 province-level code" in unknown.details()
    assert join_error(node_id="440300").code() == grpc.StatusCode.INVALID_ARGUMENT  # a city
    bad_key = join_error(jwks_json='{"keys": [{"kty": "EC", "kid": "x"}]}')
    assert bad_key.code() == grpc.StatusCode.INVALID_ARGUMENT
    private = json.loads(jwks)
    private["keys"][0]["d"] = "AAAA"
    assert "private" in join_error(jwks_json=json.dumps(private)).details()
    assert join_error(join_code="wrong-code-123").code() == grpc.StatusCode.PERMISSION_DENIED
    # No row was written by any of these.
    assert fed.hub.registry.list(show_removed=True) == []

    fed.join(gd)
    duplicate = join_error(join_code=fed.join_codes["440000"])
    assert duplicate.code() == grpc.StatusCode.ALREADY_EXISTS
