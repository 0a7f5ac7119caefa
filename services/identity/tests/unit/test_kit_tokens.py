"""The kit's offline verifier (puhui.kit.tokens) and authorisation helper."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from puhui.identity import crypto
from puhui.identity.tests.fakes import Clock
from puhui.kit import tokens as kt
from puhui.kit.auth import Principal
from puhui.kit.errors import PermissionDenied, Unauthenticated

NOW = 1_800_000_000


class Node:
    """A node's signing keys and JWKS, as identity makes them."""

    def __init__(self, node: str = "440000") -> None:
        self.node = node
        self.pairs = [crypto.generate_key_pair(node)]

    @property
    def active(self) -> crypto.NewKeyPair:
        return self.pairs[-1]

    def jwks(self) -> dict:
        return {"keys": [p.public_jwk for p in self.pairs]}

    def token(
        self, pair: crypto.NewKeyPair | None = None, headers: dict | None = None, **overrides
    ) -> str:
        claims = {
            "iss": self.node,
            "sub": f"{self.node}:person-1",
            "aud": "puhui",
            "iat": NOW,
            "nbf": NOW,
            "exp": NOW + 900,
            "jti": "jti-1",
            "acr": kt.ACR_BY_LEVEL[kt.ASSURANCE_LOW],
            "roles": ["innovator"],
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        pair = pair or self.active
        key = crypto.load_private_key(pair.private_pem)
        return jwt.encode(
            claims,
            key,
            algorithm="ES256",
            headers={"kid": pair.kid, "typ": "at+jwt", **(headers or {})},
        )


@pytest.fixture
def setup():
    node = Node()
    clock = Clock(NOW)
    key_sets = kt.KeySets()
    key_sets.put(node.node, node.jwks())
    store = kt.MemoryRevocationStore(clock)
    verifier = kt.JwtVerifier(
        key_sets, audience="puhui", issuers=None, revocation_store=store, clock=clock
    )
    return node, clock, key_sets, store, verifier


def test_valid_token_gives_principal(setup):
    node, _, _, _, verifier = setup
    p = verifier.verify(
        node.token(roles=["innovator", "province_admin:440000"], orgs=[["440000:org", "admin"]])
    )
    assert p.subject == "440000:person-1"
    assert p.issuer == "440000"
    assert p.assurance == kt.ASSURANCE_LOW
    assert p.token_id == "jti-1"
    assert p.expires_at == NOW + 900
    assert p.has_role("province_admin", "440000")
    assert p.organisations == (("440000:org", "admin"),)
    assert {"innovator", "province_admin", "org_member", "org_admin"} <= p.roles


def test_expired_token_rejected_after_skew(setup):
    node, clock, _, _, verifier = setup
    token = node.token()
    clock.now = NOW + 900 + 29
    assert verifier.verify(token).subject  # within the 30 s skew
    clock.now = NOW + 900 + 31
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)


def test_not_yet_valid_token_rejected(setup):
    node, _, _, _, verifier = setup
    with pytest.raises(Unauthenticated, match="not yet valid"):
        verifier.verify(node.token(nbf=NOW + 60, iat=NOW + 60))
    assert verifier.verify(node.token(nbf=NOW + 20)).subject  # inside the skew


def test_forged_signature_rejected(setup):
    node, _, _, _, verifier = setup
    forger = crypto.generate_key_pair("440000")
    forged = node.token(
        pair=crypto.NewKeyPair(node.active.kid, forger.private_pem, node.active.public_jwk)
    )
    with pytest.raises(Unauthenticated, match="signature"):
        verifier.verify(forged)


def test_edited_payload_rejected(setup):
    node, _, _, _, verifier = setup
    header, payload, signature = node.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["national_admin"]
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated):
        verifier.verify(f"{header}.{edited}.{signature}")


def test_other_audience_rejected(setup):
    node, _, _, _, verifier = setup
    with pytest.raises(Unauthenticated, match="audience"):
        verifier.verify(node.token(aud="someone-else"))
    assert verifier.verify(node.token(aud=["someone-else", "puhui"])).subject


def test_unknown_issuer_rejected(setup):
    node, clock, key_sets, store, _ = setup
    stranger = Node("320000")
    verifier = kt.JwtVerifier(key_sets, "puhui", None, store, clock=clock)
    with pytest.raises(Unauthenticated, match="unknown"):
        verifier.verify(stranger.token())
    restricted = kt.JwtVerifier(key_sets, "puhui", ["320000"], store, clock=clock)
    key_sets.put("320000", stranger.jwks())
    assert restricted.verify(stranger.token()).issuer == "320000"
    with pytest.raises(Unauthenticated, match="issuer"):
        restricted.verify(node.token())


def test_token_claiming_another_issuer_does_not_verify_with_its_keys(setup):
    node, _, key_sets, _, verifier = setup
    key_sets.put("320000", Node("320000").jwks())
    with pytest.raises(Unauthenticated):
        verifier.verify(node.token(iss="320000"))  # signed by 440000's key


def test_retired_key_rejected_even_when_cached(setup):
    node, _, key_sets, _, verifier = setup
    old = node.token()
    assert verifier.verify(old).subject  # now cached
    node.pairs.append(crypto.generate_key_pair("440000"))
    key_sets.put("440000", node.jwks())  # rotation: old key passive, still verifies
    assert verifier.verify(old).subject
    node.pairs.pop(0)
    key_sets.put("440000", node.jwks())  # retirement
    with pytest.raises(Unauthenticated, match="unknown or retired"):
        verifier.verify(old)
    assert verifier.verify(node.token()).subject


def test_revoked_jti_rejected_even_when_cached(setup):
    node, _, _, store, verifier = setup
    token = node.token(jti="to-revoke")
    assert verifier.verify(token).subject
    store.revoke(kt.revocation_key("320000", "to-revoke"), NOW + 930)  # another node's jti
    assert verifier.verify(token).subject
    store.revoke(kt.revocation_key("440000", "to-revoke"), NOW + 930)
    with pytest.raises(Unauthenticated, match="revoked"):
        verifier.verify(token)


@pytest.mark.parametrize(
    ("token_factory", "why"),
    [
        (lambda n: "not-a-jwt", "garbage"),
        (lambda n: "a.b.c", "undecodable"),
        (lambda n: n.token() + ".x", "four segments"),
        (lambda n: n.token().replace(".", "..", 1), "empty segment"),
        (lambda n: n.token()[:-2] + "+/", "base64, not base64url"),
        (lambda n: n.token() + "=", "padded"),
        (lambda n: n.token()[:-1] + "é", "not ASCII"),
        (lambda n: n.token() + "A" * 17_000, "longer than MAX_TOKEN_LENGTH"),
        (lambda n: n.token(headers={"typ": "JWT"}), "not an access token"),
        (lambda n: n.token(sub=None), "no sub"),
        (lambda n: n.token(jti=None), "no jti"),
        (lambda n: n.token(exp=None), "no exp"),
        (
            lambda n: jwt.encode(
                {"iss": "440000", "sub": "x"},
                "secret-hmac-key-of-32-bytes-long",
                algorithm="HS256",
                headers={"kid": n.active.kid, "typ": "at+jwt"},
            ),
            "HS256 (alg confusion)",
        ),
    ],
)
def test_malformed_tokens_rejected(setup, token_factory, why):
    node, _, _, _, verifier = setup
    with pytest.raises(Unauthenticated):
        verifier.verify(token_factory(node))


def test_a_valid_token_with_a_junk_character_in_its_signature_is_refused(setup):
    """base64 decoders skip characters outside the alphabet; the verifier must not, or one
    token would have many spellings (each its own cache entry)."""
    node, _, _, _, verifier = setup
    token = node.token()
    assert verifier.verify(token).subject
    head, payload, signature = token.split(".")
    for junk in ("~", "!", " ", "\n"):
        with pytest.raises(Unauthenticated, match="malformed"):
            verifier.verify(f"{head}.{payload}.{signature[:10]}{junk}{signature[10:]}")


def test_private_jwk_refused():
    pair = crypto.generate_key_pair("440000")
    private = json.loads(
        jwt.algorithms.ECAlgorithm.to_jwk(crypto.load_private_key(pair.private_pem))
    )
    private["kid"] = pair.kid
    with pytest.raises(ValueError, match="private"):
        kt.parse_jwks({"keys": [private]})


def test_loader_fetches_missing_sets_and_refreshes_on_unknown_kid():
    node = Node()
    calls = []

    def loader(issuer):
        calls.append(issuer)
        return node.jwks() if issuer == "440000" else None

    clock = Clock(NOW)
    key_sets = kt.KeySets(loader, unknown_kid_retry_seconds=0)
    verifier = kt.JwtVerifier(key_sets, "puhui", clock=clock)
    assert verifier.verify(node.token()).subject
    node.pairs.append(crypto.generate_key_pair("440000"))  # rotated elsewhere
    assert verifier.verify(node.token(jti="new")).subject
    assert calls == ["440000", "440000"]


@pytest.mark.parametrize(
    ("issuer", "roles", "trusted"),
    [
        ("440000", ["national_admin"], set()),
        ("000000", ["national_admin"], {"national_admin"}),
        ("440000", ["province_admin:320000"], set()),
        ("440000", ["province_admin:440000"], {"province_admin"}),
        ("000000", ["province_admin:440000"], {"province_admin"}),
        ("440000", ["institution_staff:320000-000001"], set()),
        (
            "440000",
            ["institution_staff:440000-000001", "innovator"],
            {"institution_staff", "innovator"},
        ),
        ("440000", ["node_service:320000"], set()),
    ],
)
def test_issuers_are_trusted_only_for_their_own_scope(issuer, roles, trusted):
    node = Node(issuer)
    key_sets = kt.KeySets()
    key_sets.put(issuer, node.jwks())
    verifier = kt.JwtVerifier(key_sets, "puhui", clock=Clock(NOW))
    assert verifier.verify(node.token(roles=roles)).roles == trusted


# -- authorize ---------------------------------------------------------------------------------
def person(*roles: str, assurance: int = kt.ASSURANCE_SUBSTANTIAL, orgs=()) -> Principal:
    names = frozenset(r.partition(":")[0] for r in roles)
    scoped = tuple((r.partition(":")[0], r.partition(":")[2]) for r in roles if ":" in r)
    return Principal(
        subject="440000:p",
        issuer="440000",
        roles=names,
        role_scopes=scoped,
        assurance=assurance,
        organisations=tuple(orgs),
    )


def test_anonymous_is_unauthenticated():
    with pytest.raises(Unauthenticated):
        kt.authorize(Principal(), roles=["innovator"])


def test_missing_role_is_permission_denied():
    with pytest.raises(PermissionDenied):
        kt.authorize(person("innovator"), roles=[kt.ROLE_PROVINCE_ADMIN, kt.ROLE_NATIONAL_ADMIN])


def test_province_admin_acts_only_on_its_node():
    admin = person("province_admin:440000")
    assert kt.authorize(admin, roles=[kt.ROLE_PROVINCE_ADMIN], scope_node="440000") is admin
    with pytest.raises(PermissionDenied, match="320000"):
        kt.authorize(admin, roles=[kt.ROLE_PROVINCE_ADMIN], scope_node="320000")
    national = person("national_admin")
    assert kt.authorize(
        national, roles=[kt.ROLE_PROVINCE_ADMIN, kt.ROLE_NATIONAL_ADMIN], scope_node="320000"
    )


def test_institution_staff_bound_to_institution():
    staff = person("institution_staff:440000-000007")
    assert kt.authorize(staff, roles=[kt.ROLE_INSTITUTION_STAFF], institution="440000-000007")
    assert kt.authorize(staff, roles=[kt.ROLE_INSTITUTION_STAFF], scope_node="440000")
    with pytest.raises(PermissionDenied):
        kt.authorize(staff, roles=[kt.ROLE_INSTITUTION_STAFF], institution="440000-000008")


def test_organisation_roles():
    member = person("innovator", orgs=[("org-1", "member"), ("org-2", "admin")])
    assert kt.authorize(member, roles=[kt.ROLE_ORG_MEMBER], organisation="org-1")
    assert kt.authorize(member, roles=[kt.ROLE_ORG_ADMIN], organisation="org-2")
    with pytest.raises(PermissionDenied):
        kt.authorize(member, roles=[kt.ROLE_ORG_ADMIN], organisation="org-1")
    with pytest.raises(PermissionDenied):
        kt.authorize(member, roles=[kt.ROLE_ORG_MEMBER], organisation="org-3")


def test_minimum_assurance_and_scopes():
    low = person("innovator", assurance=kt.ASSURANCE_LOW)
    with pytest.raises(PermissionDenied, match="substantial"):
        kt.authorize(low, min_assurance=kt.ASSURANCE_SUBSTANTIAL)
    assert kt.authorize(low, min_assurance=kt.ASSURANCE_LOW)
    service = Principal(
        subject="440000:svc:x",
        issuer="440000",
        roles=frozenset({"node_service"}),
        scopes=frozenset({"data.read"}),
    )
    assert kt.authorize(service, roles=[kt.ROLE_NODE_SERVICE], scopes=["data.read"])
    with pytest.raises(PermissionDenied, match=r"data\.write"):
        kt.authorize(service, scopes=["data.write"])


def test_memory_revocation_expires():
    clock = Clock(NOW)
    store = kt.MemoryRevocationStore(clock)
    store.revoke("a", NOW + 10)
    assert store.is_revoked("a")
    assert not store.is_revoked("b")
    clock.advance(11)
    assert not store.is_revoked("a")


def test_eddsa_keys_verify_and_algorithm_must_match_the_key():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": "440000-ed", "alg": "EdDSA", "use": "sig"})
    key_sets = kt.KeySets()
    key_sets.put("440000", {"keys": [jwk]})
    verifier = kt.JwtVerifier(key_sets, "puhui", clock=Clock(NOW))
    claims = {
        "iss": "440000",
        "sub": "440000:p",
        "aud": "puhui",
        "nbf": NOW,
        "exp": NOW + 900,
        "jti": "e1",
    }
    headers = {"kid": "440000-ed", "typ": "at+jwt"}
    assert (
        verifier.verify(jwt.encode(claims, private, algorithm="EdDSA", headers=headers)).subject
        == "440000:p"
    )
    es_key = crypto.load_private_key(crypto.generate_key_pair("440000").private_pem)
    with pytest.raises(Unauthenticated, match="algorithm"):
        verifier.verify(jwt.encode(claims, es_key, algorithm="ES256", headers=headers))
