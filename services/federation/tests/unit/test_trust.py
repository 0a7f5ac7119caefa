"""Key-set statements and the follower's rules, without Kafka."""

from __future__ import annotations

import json

import pytest

from puhui.federation import domain
from puhui.kit import trust
from puhui.kit.errors import InvalidArgument
from puhui.kit.tokens import KeySets


def node_jwks() -> dict:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**jwk, "kid": "k1", "alg": "ES256", "use": "sig"}]}


ANCHOR = trust.TrustAnchor.generate()
ANCHORS = trust.anchor_keys(ANCHOR.public_jwks())
JWKS = node_jwks()


def follower(clock: float = 1_000.0) -> trust.KeySetFollower:
    return trust.KeySetFollower("unused:1", KeySets(), ANCHORS, clock=lambda: clock)


def signed(
    rev: int, status: str = trust.STATUS_ACTIVE, node: str = "440000", now: float = 1_000.0
) -> bytes:
    return ANCHOR.sign(node, JWKS, status=status, revision=rev, now=now).encode()


def test_statement_round_trip_and_tampering() -> None:
    token = signed(3).decode()
    st = trust.verify_statement(token, ANCHORS, now=1_000.0)
    assert (st.node, st.revision, st.active) == ("440000", 3, True)
    header, payload, sig = token.split(".")
    forged = ".".join([header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), sig])
    with pytest.raises(trust.TrustError):
        trust.verify_statement(forged, ANCHORS, now=1_000.0)
    other = trust.anchor_keys(trust.TrustAnchor.generate().public_jwks())
    with pytest.raises(trust.TrustError, match="unknown anchor"):
        trust.verify_statement(token, other, now=1_000.0)
    with pytest.raises(trust.TrustError, match="expired"):
        trust.verify_statement(token, ANCHORS, now=1_000.0 + trust.DEFAULT_VALIDITY_SECONDS + 1)


def test_anchor_pem_round_trip() -> None:
    again = trust.TrustAnchor.from_pem(ANCHOR.to_pem())
    assert again.kid == ANCHOR.kid
    with pytest.raises(trust.TrustError):
        trust.TrustAnchor.from_pem("not a pem")


def test_follower_installs_ignores_old_revisions_and_removes() -> None:
    f = follower()
    f.apply(b"440000", signed(2))
    assert "440000" in f.key_sets.issuers()
    f.apply(b"440000", signed(3, trust.STATUS_REMOVED))
    assert "440000" not in f.key_sets.issuers()
    f.apply(b"440000", signed(2))  # a replay of the older active statement
    assert "440000" not in f.key_sets.issuers()
    f.apply(b"440000", signed(4))  # re-joined
    assert "440000" in f.key_sets.issuers()
    f.apply(b"440000", None)  # tombstone
    assert "440000" not in f.key_sets.issuers()


def test_follower_rejects_key_mismatch_and_garbage() -> None:
    f = follower()
    f.apply(b"320000", signed(1, node="440000"))
    f.apply(b"440000", b"garbage")
    assert f.key_sets.issuers() == frozenset()
    assert f.rejected == 2


def test_expired_statements_are_dropped() -> None:
    f = follower(clock=1_000.0)
    f.apply(b"440000", signed(1))
    f._clock = lambda: 1_000.0 + trust.DEFAULT_VALIDITY_SECONDS + 10
    f.expire()
    assert "440000" not in f.key_sets.issuers()


def test_single_node_verifier_only_trusts_its_own_keys() -> None:
    v = trust.federated_verifier(
        node_id="440000", bootstrap="", anchor_jwks=None, loader=lambda issuer: JWKS
    )
    assert v.key_sets.key("440000", "k1") is not None
    assert v.key_sets.key("320000", "k1") is None


@pytest.mark.parametrize(
    ("node_id", "message"),
    [
        ("", "required"),
        ("000000", "hub itself"),
        ("44", "6-digit"),
        ("449900", "province-level"),
        ("440300", "province-level"),
    ],
)
def test_join_rejects_bad_node_ids(node_id: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        domain.validate_join(domain.JoinRequest(node_id, "", (), json.dumps(JWKS)))
    assert any(message in v.description for v in err.value.violations)


@pytest.mark.parametrize(
    "jwks",
    ["", "nope", "[]", '{"keys": []}', '{"keys": [{"kty": "EC", "kid": "a"}]}'],
)
def test_join_rejects_bad_key_sets(jwks: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        domain.validate_join(domain.JoinRequest("440000", "", (), jwks))
    assert [v.field for v in err.value.violations] == ["jwks_json"]


def test_join_normalises_name_and_endpoints() -> None:
    valid = domain.validate_join(
        domain.JoinRequest("440000", "", (("identity", "10.0.0.1:7001"),), json.dumps(JWKS))
    )
    assert valid.name == "广东省"
    with pytest.raises(InvalidArgument):
        domain.validate_join(
            domain.JoinRequest("440000", "", (("mail", "nohost"),), json.dumps(JWKS))
        )


def test_national_total_is_the_sum_of_provinces() -> None:
    a = domain.Figures("440000", ratings=2, score_sum=9, service_cases=3)
    b = domain.Figures("320000", ratings=1, score_sum=1, service_cases=1)
    total = domain.national_total([a, b])
    assert (total.ratings, total.score_sum, total.service_cases) == (3, 10, 4)
    assert total.satisfaction == round(10 / 3 / 5 * 100, 2)
    assert domain.rating_score(1) == 5
    assert domain.rating_score(0) == 0


def test_a_key_set_change_must_keep_a_trusted_key() -> None:
    old = {"keys": [{"kid": "a", "x": "1"}]}
    rotated = {"keys": [{"kid": "b", "x": "2"}, {"kid": "a", "x": "1"}]}
    foreign = {"keys": [{"kid": "c", "x": "3"}]}
    assert domain.continues(old, rotated)
    assert not domain.continues(old, foreign)
    assert not domain.continues(old, {"keys": [{"kid": "a", "x": "9"}]})  # same kid, other key
