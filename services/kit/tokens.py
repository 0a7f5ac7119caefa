"""Offline verification of Puhui access tokens, and the authorisation check every RPC uses.

Every node's identity service signs its access tokens (JWT, RFC 9068 `at+jwt`, ES256 or
EdDSA) with its own key and publishes the public keys as a JWK Set. Any service of any node
verifies any node's token without calling anyone:

    key_sets = KeySets(loader=fetch_jwks)            # issuer -> JWKS, cached
    verifier = JwtVerifier(key_sets, audience="puhui", issuers=None,
                           revocation_store=MemoryRevocationStore())  # fed by a
    RevocationFollower(bootstrap, lambda: verifier.revocations).start()  # puhui.kit.revocation
    app = MyApp(config, verifier=verifier)             # the kit interceptor calls verify()

    def GrantThing(self, request, context):
        who = authorize(roles=[ROLE_PROVINCE_ADMIN, ROLE_NATIONAL_ADMIN],
                        scope_node=resource.node, min_assurance=ASSURANCE_SUBSTANTIAL)

What `JwtVerifier.verify` checks, in order (any failure is `Unauthenticated`): header
`typ` = `at+jwt`, a known algorithm and a `kid`; `iss` accepted and its key set holds `kid`
(a retired key is no longer in the set); the signature; `exp` and `nbf` with `leeway`
seconds of clock skew (30 by default); `aud` contains one of the accepted audiences;
`sub` and `jti` present; (`iss`, `jti`) not revoked (`puhui.kit.revocation`: each process's
list, followed from every node's revocation topic).

Federation rule (ARCHITECTURE.md §8): an issuer is trusted only for what it is
authoritative for. `national_admin` is honoured only from the hub (000000);
`province_admin:<node>` and `node_service:<node>` only when `<node>` is the issuer (or the
hub issued it); `institution_staff:<institution id>` only for institutions of the issuer's
node (ids start with "<node>-", as the catalog makes them) or from the hub. Other grants
in the token are dropped from the Principal, not trusted.

Verified tokens are cached (bounded; entries die with the token, with any key-set change,
and a revoked `jti` is checked on every call), so a caller presenting the same token on
every RPC pays the signature check once.
"""

from __future__ import annotations

import binascii
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from puhui.kit.auth import Principal, current_principal
from puhui.kit.config import HUB_NODE_ID
from puhui.kit.errors import PermissionDenied, Unauthenticated
from puhui.kit.revocation import (
    MemoryRevocationStore,
    RedisRevocationStore,
    RevocationStore,
    revocation_key,
)

logger = logging.getLogger(__name__)

TOKEN_TYPE = "at+jwt"  # noqa: S105 (RFC 9068 media type)
ALGORITHMS = ("ES256", "EdDSA")
DEFAULT_LEEWAY_SECONDS = 30.0

# Roles (claim `roles`: "role" or "role:scope").
ROLE_INNOVATOR = "innovator"
ROLE_INSTITUTION_STAFF = "institution_staff"
ROLE_PROVINCE_ADMIN = "province_admin"
ROLE_NATIONAL_ADMIN = "national_admin"
ROLE_NODE_SERVICE = "node_service"
# Organisation roles (claim `orgs`: [[organisation_id, "member"|"admin"], ...]).
ORG_MEMBER = "member"
ORG_ADMIN = "admin"
ROLE_ORG_MEMBER = "org_member"
ROLE_ORG_ADMIN = "org_admin"

# Assurance levels (eIDAS names; claim `acr` carries the eIDAS LoA URI).
ASSURANCE_NONE = 0
ASSURANCE_LOW = 1
ASSURANCE_SUBSTANTIAL = 2
ASSURANCE_HIGH = 3
ACR_BY_LEVEL = {
    ASSURANCE_LOW: "http://eidas.europa.eu/LoA/low",
    ASSURANCE_SUBSTANTIAL: "http://eidas.europa.eu/LoA/substantial",
    ASSURANCE_HIGH: "http://eidas.europa.eu/LoA/high",
}
LEVEL_BY_ACR = {uri: level for level, uri in ACR_BY_LEVEL.items()}
ASSURANCE_NAMES = {
    ASSURANCE_LOW: "low",
    ASSURANCE_SUBSTANTIAL: "substantial",
    ASSURANCE_HIGH: "high",
}


# -- key sets ---------------------------------------------------------------------------------
JwksLoader = Callable[[str], "Mapping[str, Any] | str | None"]


@dataclass(frozen=True)
class _IssuerKeys:
    keys: Mapping[str, tuple[Any, str]]  # kid -> (public key object, algorithm)
    loaded_at: float


def parse_jwks(jwks: Mapping[str, Any] | str) -> dict[str, tuple[Any, str]]:
    """Public signing keys of a JWK Set by kid. Private members are refused, not used."""
    data = json.loads(jwks) if isinstance(jwks, str) else jwks
    keys: dict[str, tuple[Any, str]] = {}
    for jwk in data.get("keys", ()):
        kid = jwk.get("kid")
        if not kid or jwk.get("use", "sig") != "sig":
            continue
        if "d" in jwk:
            raise ValueError(f"JWK {kid!r} carries private key material")
        alg = jwk.get("alg") or ("EdDSA" if jwk.get("kty") == "OKP" else "ES256")
        if alg not in ALGORITHMS:
            continue
        try:
            keys[kid] = (jwt.PyJWK(dict(jwk), algorithm=alg).key, alg)
        except jwt.PyJWTError as exc:
            logger.warning("skipping unusable JWK %s: %s", kid, exc)
    return keys


class KeySets:
    """Public key sets per issuer, cached.

    `put(issuer, jwks)` installs a set (e.g. from a KeySetChanged event); the optional
    `loader(issuer)` fetches one on a miss, when the cached copy is older than
    `ttl_seconds`, or when a token names a kid the set lacks (at most once per
    `unknown_kid_retry_seconds` per issuer). A loader failure keeps the stale set.
    """

    def __init__(
        self,
        loader: JwksLoader | None = None,
        *,
        ttl_seconds: float = 300.0,
        unknown_kid_retry_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._ttl = ttl_seconds
        self._retry = unknown_kid_retry_seconds
        self._clock = clock
        self._sets: dict[str, _IssuerKeys] = {}
        self._last_attempt: dict[str, float] = {}
        self._lock = threading.Lock()
        self.generation = 0  # bumped on every change; verified-token caches key on it

    def put(self, issuer: str, jwks: Mapping[str, Any] | str) -> None:
        keys = parse_jwks(jwks)
        with self._lock:
            old = self._sets.get(issuer)
            self._sets[issuer] = _IssuerKeys(keys, self._clock())
            if old is None or set(old.keys) != set(keys):
                self.generation += 1

    def remove(self, issuer: str) -> None:
        with self._lock:
            if self._sets.pop(issuer, None) is not None:
                self.generation += 1

    def issuers(self) -> frozenset[str]:
        return frozenset(self._sets)

    def _load(self, issuer: str, now: float) -> None:
        if self._loader is None:
            return
        with self._lock:
            if now - self._last_attempt.get(issuer, -1e18) < self._retry:
                return
            self._last_attempt[issuer] = now
        try:
            jwks = self._loader(issuer)
        except Exception as exc:
            logger.warning("key set of issuer %s could not be loaded: %s", issuer, exc)
            return
        if jwks is None:
            return
        try:
            self.put(issuer, jwks)
        except (ValueError, TypeError, KeyError) as exc:
            logger.warning("key set of issuer %s is malformed: %s", issuer, exc)

    def key(self, issuer: str, kid: str) -> tuple[Any, str] | None:
        """(public key, algorithm) of `kid` for `issuer`, or None."""
        now = self._clock()
        entry = self._sets.get(issuer)
        if entry is None or now - entry.loaded_at > self._ttl or kid not in entry.keys:
            self._load(issuer, now)
            entry = self._sets.get(issuer)
        if entry is None:
            return None
        return entry.keys.get(kid)


# -- the verifier ----------------------------------------------------------------------------
MAX_TOKEN_LENGTH = 16_384
_JWS_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _compact_jws(token: str, parts: list[str]) -> bool:
    """Three non-empty base64url segments (RFC 7515 §7.1), at most MAX_TOKEN_LENGTH long."""
    if len(token) > MAX_TOKEN_LENGTH or len(parts) != 3 or not all(parts):
        return False
    if not token.isascii():
        return False
    return not token.encode("ascii").translate(None, _JWS_ALPHABET)


def _b64(segment: str) -> bytes:
    """base64url without padding (the alphabet was checked by _compact_jws)."""
    return binascii.a2b_base64(
        segment.encode("ascii").translate(_URLSAFE) + b"=" * (-len(segment) % 4)
    )


def _b64json(segment: str) -> Any:
    return orjson.loads(_b64(segment))  # strict UTF-8 and RFC 8259; errors are ValueErrors


def _signature_ok(key: Any, alg: str, signing_input: bytes, signature: bytes) -> bool:
    """RFC 7518 §3.4 (ES256: raw R||S, 64 bytes) or RFC 8037 (EdDSA), with `cryptography`
    directly: PyJWT's decode path spends more time re-validating base64 than verifying."""
    # `key` came from parse_jwks for this `alg` (PyJWK checked the key type); a mismatch
    # surfaces as TypeError/AttributeError below and fails the check.
    try:
        if alg == "ES256":
            if len(signature) != 64 or key.curve.name != "secp256r1":
                return False
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            key.verify(encode_dss_signature(r, s), signing_input, _ECDSA_SHA256)
            return True
        if alg == "EdDSA":
            key.verify(signature, signing_input)
            return True
    except (InvalidSignature, TypeError, AttributeError, ValueError):
        return False
    return False


def _trusted(issuer: str, role: str, scope: str) -> bool:
    """Is `issuer` authoritative for granting (role, scope)? See the module docstring."""
    if issuer == HUB_NODE_ID:
        return True
    if role == ROLE_NATIONAL_ADMIN:
        return False
    if role in (ROLE_PROVINCE_ADMIN, ROLE_NODE_SERVICE):
        return scope == issuer
    if role == ROLE_INSTITUTION_STAFF:
        return scope.startswith(f"{issuer}-")
    return True


_EMPTY: frozenset[str] = frozenset()
_GRANTS_CACHE_SIZE = 4096
# (issuer, roles claim) -> (roles, role scopes) the issuer is trusted for. Tokens carry one
# of a few role lists, so filtering them is done once per list, not once per token.
_grants: dict[tuple[str, tuple[Any, ...]], tuple[frozenset[str], tuple[tuple[str, str], ...]]] = {}


def _trusted_grants(
    issuer: str, claim: Iterable[Any]
) -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
    """The (role, scope) grants of a `roles` claim that `issuer` is trusted for."""
    items = tuple(claim)
    try:
        return _grants[issuer, items]
    except KeyError:
        pass
    except TypeError:  # unhashable members (not strings): not cached
        items = tuple(str(item) for item in items)
    roles: set[str] = set()
    role_scopes: list[tuple[str, str]] = []
    for item in items:
        role, _, scope = str(item).partition(":")
        if not _trusted(issuer, role, scope):
            continue
        roles.add(role)
        if scope:
            role_scopes.append((role, scope))
    grants = frozenset(roles), tuple(role_scopes)
    if len(_grants) >= _GRANTS_CACHE_SIZE:
        _grants.clear()
    _grants[issuer, items] = grants
    return grants


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """A Principal from verified claims (roles filtered by the issuer's authority)."""
    issuer = str(claims.get("iss", ""))
    granted = claims.get("roles")
    roles, role_scopes = _trusted_grants(issuer, granted if isinstance(granted, list) else ())
    organisations: tuple[tuple[str, str], ...] = ()
    orgs = claims.get("orgs")
    if orgs:
        organisations = tuple(
            (str(pair[0]), str(pair[1]))
            for pair in orgs
            if isinstance(pair, (list, tuple)) and len(pair) == 2
        )
        if organisations:
            extra = {ROLE_ORG_MEMBER}
            if any(r == ORG_ADMIN for _, r in organisations):
                extra.add(ROLE_ORG_ADMIN)
            roles = roles | extra
    scope_claim = claims.get("scope")
    return Principal(
        subject=str(claims["sub"]),
        issuer=issuer,
        roles=roles,
        role_scopes=role_scopes,
        organisations=organisations,
        assurance=LEVEL_BY_ACR.get(str(claims.get("acr", "")), ASSURANCE_NONE),
        scopes=frozenset(str(scope_claim).split()) if scope_claim else _EMPTY,
        token_id=str(claims["jti"]),
        expires_at=float(claims["exp"]),
    )


class JwtVerifier:
    """The kit's `TokenVerifier` for Puhui access tokens (see the module docstring).

    `issuers`: the accepted `iss` values; None accepts any issuer whose key set
    `key_sets` holds or can load (federation: every node's tokens).
    """

    def __init__(
        self,
        key_sets: KeySets,
        audience: str | Iterable[str],
        issuers: Iterable[str] | None = None,
        revocation_store: RevocationStore | None = None,
        leeway: float = DEFAULT_LEEWAY_SECONDS,
        *,
        clock: Callable[[], float] = time.time,
        cache_size: int = 10_000,
    ) -> None:
        self.key_sets = key_sets
        self.audiences = frozenset([audience] if isinstance(audience, str) else audience)
        self.issuers = None if issuers is None else frozenset(issuers)
        self.revocations: RevocationStore = revocation_store or MemoryRevocationStore(clock)
        self.leeway = leeway
        self._clock = clock
        # token -> (principal, nbf, kid, key-set generation)
        self._cache: dict[str, tuple[Principal, float, str, int]] = {}
        self._headers: dict[str, dict[str, Any]] = {}
        self._cache_size = cache_size

    def verify(self, token: str) -> Principal:
        now = self._clock()
        cached = self._cache.get(token)
        if cached is not None:
            principal, nbf, kid, generation = cached
            # key() also lets the key set refresh when stale (a retirement bumps generation)
            key = self.key_sets.key(principal.issuer, kid)
            if key is not None and generation == self.key_sets.generation:
                self._check_time(principal.expires_at, nbf, now)
                self._check_revoked(principal.issuer, principal.token_id)
                return principal
            self._cache.pop(token, None)
        generation = self.key_sets.generation  # read first: a change meanwhile forces a re-check
        principal, nbf, kid = self._verify_uncached(token, now)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[token] = (principal, nbf, kid, generation)
        return principal

    def _verify_uncached(self, token: str, now: float) -> tuple[Principal, float, str]:
        parts = token.split(".")
        if not _compact_jws(token, parts):
            raise Unauthenticated("malformed token")
        try:
            header = self._headers.get(parts[0])
            if header is None:  # one node key → one header segment: parse it once
                header = _b64json(parts[0])
                if len(self._headers) < 256 and isinstance(header, dict):
                    self._headers[parts[0]] = header
            claims = _b64json(parts[1])
            signature = _b64(parts[2])
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("malformed token") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise Unauthenticated("malformed token")
        if header.get("typ") != TOKEN_TYPE or header.get("alg") not in ALGORITHMS:
            raise Unauthenticated("not a Puhui access token")
        issuer = claims.get("iss")
        kid = header.get("kid")
        if not isinstance(issuer, str) or not isinstance(kid, str):
            raise Unauthenticated("token lacks iss or kid")
        if self.issuers is not None and issuer not in self.issuers:
            raise Unauthenticated("token issuer is not accepted")
        found = self.key_sets.key(issuer, kid)
        if found is None:
            raise Unauthenticated("token signing key is unknown or retired")
        key, alg = found
        if header["alg"] != alg:
            raise Unauthenticated("token algorithm does not match its key")
        signing_input = token[: len(parts[0]) + 1 + len(parts[1])].encode("ascii")
        if not _signature_ok(key, alg, signing_input, signature):
            raise Unauthenticated("token signature is invalid")
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, (int, float)) or not isinstance(nbf, (int, float)):
            raise Unauthenticated("token lacks a valid exp/nbf")
        self._check_time(float(exp), float(nbf), now)
        aud = claims.get("aud")
        if isinstance(aud, str):
            for_us = aud in self.audiences
        else:
            for_us = isinstance(aud, list) and any(
                a in self.audiences for a in aud if isinstance(a, str)
            )
        if not for_us:
            raise Unauthenticated("token is for another audience")
        if not claims.get("sub") or not claims.get("jti"):
            raise Unauthenticated("token lacks sub or jti")
        self._check_revoked(issuer, str(claims["jti"]))
        return principal_from_claims(claims), float(nbf), kid

    def _check_time(self, exp: float, nbf: float, now: float) -> None:
        if now > exp + self.leeway:
            raise Unauthenticated("token has expired")
        if now < nbf - self.leeway:
            raise Unauthenticated("token is not yet valid")

    def _check_revoked(self, issuer: str, jti: str) -> None:
        if self.revocations.is_revoked(revocation_key(issuer, jti)):
            raise Unauthenticated("token has been revoked")


# -- authorisation ---------------------------------------------------------------------------
def holds(
    principal: Principal,
    role: str,
    *,
    scope_node: str | None = None,
    institution: str | None = None,
    organisation: str | None = None,
) -> bool:
    """Does `principal` hold `role` for the resource (node / institution / organisation)?

    - national_admin: everywhere; node_service: any node (limit it with `scopes`);
    - province_admin: only for resources of its own node (`scope_node`);
    - institution_staff: only for its institution (`institution`), and that
      institution's node when `scope_node` is given;
    - org_member / org_admin: only for `organisation` (required);
    - innovator (and other unscoped roles): when held.
    """
    if role in (ROLE_NATIONAL_ADMIN, ROLE_NODE_SERVICE):
        return role in principal.roles
    if role == ROLE_PROVINCE_ADMIN:
        if scope_node is None:
            return role in principal.roles
        return principal.has_role(role, scope_node)
    if role == ROLE_INSTITUTION_STAFF:
        scoped = [s for r, s in principal.role_scopes if r == role]
        if institution is not None:
            scoped = [s for s in scoped if s == institution]
        if scope_node is not None:
            scoped = [s for s in scoped if s.startswith(f"{scope_node}-")]
        return bool(scoped)
    if role in (ROLE_ORG_MEMBER, ROLE_ORG_ADMIN):
        if organisation is None:
            return False
        wanted = {ORG_ADMIN} if role == ROLE_ORG_ADMIN else {ORG_ADMIN, ORG_MEMBER}
        return any(o == organisation and r in wanted for o, r in principal.organisations)
    return role in principal.roles


def authorize(
    principal: Principal | None = None,
    *,
    roles: Iterable[str] = (),
    scope_node: str | None = None,
    institution: str | None = None,
    organisation: str | None = None,
    scopes: Iterable[str] = (),
    min_assurance: int = ASSURANCE_NONE,
) -> Principal:
    """Check the caller (default: the current principal) and return it.

    Anonymous → Unauthenticated. Otherwise PermissionDenied unless: the assurance level is
    at least `min_assurance`; the caller holds every one of `scopes`; and, when `roles` is
    given, holds one of them for the resource (see `holds`).
    """
    principal = principal or current_principal()
    if principal.is_anonymous:
        raise Unauthenticated("sign in first")
    if principal.assurance < min_assurance:
        raise PermissionDenied(
            f"requires assurance level {ASSURANCE_NAMES.get(min_assurance, min_assurance)}"
            " or higher"
        )
    missing = [s for s in scopes if s not in principal.scopes]
    if missing:
        raise PermissionDenied(f"requires scope {' '.join(missing)}")
    wanted = list(roles)
    if wanted and not any(
        holds(
            principal, r, scope_node=scope_node, institution=institution, organisation=organisation
        )
        for r in wanted
    ):
        where = f" for node {scope_node}" if scope_node else ""
        raise PermissionDenied(f"requires role {' or '.join(wanted)}{where}")
    return principal


__all__ = [
    "ACR_BY_LEVEL",
    "ALGORITHMS",
    "ASSURANCE_HIGH",
    "ASSURANCE_LOW",
    "ASSURANCE_NAMES",
    "ASSURANCE_NONE",
    "ASSURANCE_SUBSTANTIAL",
    "DEFAULT_LEEWAY_SECONDS",
    "LEVEL_BY_ACR",
    "ORG_ADMIN",
    "ORG_MEMBER",
    "ROLE_INNOVATOR",
    "ROLE_INSTITUTION_STAFF",
    "ROLE_NATIONAL_ADMIN",
    "ROLE_NODE_SERVICE",
    "ROLE_ORG_ADMIN",
    "ROLE_ORG_MEMBER",
    "ROLE_PROVINCE_ADMIN",
    "TOKEN_TYPE",
    "JwtVerifier",
    "KeySets",
    "MemoryRevocationStore",
    "PermissionDenied",
    "RedisRevocationStore",
    "RevocationStore",
    "Unauthenticated",
    "authorize",
    "holds",
    "parse_jwks",
    "principal_from_claims",
    "revocation_key",
]
