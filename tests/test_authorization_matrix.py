"""The authorisation matrix: every RPC of every service x every kind of caller x own and
other node, each cell asserted against the one declared policy (puhui.<service>.policy).

The RPCs are enumerated from the services' descriptors, so a new RPC without a policy row
fails here. Each call carries a minimal (empty) request: a cell the policy refuses must be
refused by the gate (UNAUTHENTICATED, or PERMISSION_DENIED with reason ROLE_REQUIRED)
before any validation runs; a cell the policy lets through must reach the service and
answer without crashing (INVALID_ARGUMENT, NOT_FOUND, the domain's own finer
PERMISSION_DENIED …; never INTERNAL).
The roles each caller holds at each node are written out below by hand, not computed by
the code under test.

Real apps (identity, catalog, data, feedback at 440000 and 320000; federation at the
hub) run in process over SQLite without Kafka, all trusting one test key per issuer.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf import descriptor_pool, message_factory
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from puhui.catalog.server import build as build_catalog
from puhui.data.server import build as build_data
from puhui.federation.server import build as build_federation
from puhui.federation.testing import CHEAP_ARGON2, DEV_KEY
from puhui.feedback.server import build as build_feedback
from puhui.identity.config import IdentityConfig
from puhui.identity.server import IdentityApp
from puhui.kit import config as kit_config
from puhui.kit import policy, tokens
from puhui.kit.server import ServiceApp
from puhui.kit.testing import running
from puhui.kit.trust import TrustAnchor

HERE, THERE, HUB = "440000", "320000", "000000"
STAFF = tokens.ROLE_INSTITUTION_STAFF
PA = tokens.ROLE_PROVINCE_ADMIN
NA = tokens.ROLE_NATIONAL_ADMIN
NS = tokens.ROLE_NODE_SERVICE
ALL_NODES = (HERE, THERE, HUB)


@dataclass(frozen=True)
class Actor:
    issuer: str = ""
    grants: tuple[str, ...] = ()
    # node -> the policy roles this caller holds there (written by hand)
    holds: dict[str, frozenset[str]] = field(default_factory=dict)
    bad: str = ""  # expired / forged / tampered / alg_none

    @property
    def anonymous(self) -> bool:
        return not self.issuer and not self.bad


def _everywhere(*roles: str) -> dict[str, frozenset[str]]:
    return {node: frozenset(roles) for node in ALL_NODES}


ACTORS: dict[str, Actor] = {
    "anonymous": Actor(),
    "person": Actor(HERE, ("innovator",)),
    "other_person": Actor(HERE, ("innovator",)),
    "staff_here": Actor(HERE, (f"{STAFF}:{HERE}-000001",), {HERE: frozenset({STAFF})}),
    "staff_other_institution": Actor(HERE, (f"{STAFF}:{HERE}-000002",), {HERE: frozenset({STAFF})}),
    "staff_other_node": Actor(THERE, (f"{STAFF}:{THERE}-000001",), {THERE: frozenset({STAFF})}),
    "province_admin_here": Actor(HERE, (f"{PA}:{HERE}",), {HERE: frozenset({PA})}),
    "province_admin_other_node": Actor(THERE, (f"{PA}:{THERE}",), {THERE: frozenset({PA})}),
    "national_admin": Actor(HUB, (NA,), _everywhere(NA)),
    "node_service": Actor(HERE, (f"{NS}:{HERE}",), {HERE: frozenset({NS})}),
    # A province cannot make its own national admin: the grant is dropped, not trusted.
    "self_made_national_admin": Actor(HERE, (NA,)),
    "expired": Actor(bad="expired"),
    "forged": Actor(bad="forged"),
    "tampered": Actor(bad="tampered"),
    "alg_none": Actor(bad="alg_none"),
}

# Never an answer to a minimal request: a crash, or the gate's code past the gate.
BROKEN = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)

# Cells where the service itself answers UNAUTHENTICATED after the gate let the call in.
SERVICE_UNAUTHENTICATED = {
    # Anonymous SignOut without a refresh token: nothing to sign out.
    ("IdentityService/SignOut", "anonymous"),
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Keys:
    """One ES256 key per issuer, published to the verifier; tokens minted with them."""

    def __init__(self) -> None:
        self.private: dict[str, Any] = {}
        self.key_sets = tokens.KeySets()
        for issuer in ALL_NODES:
            key = ec.generate_private_key(ec.SECP256R1())
            self.private[issuer] = key
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
            jwk.update(kid=f"k-{issuer}", alg="ES256", use="sig")
            self.key_sets.put(issuer, {"keys": [jwk]})
        self.verifier = tokens.JwtVerifier(self.key_sets, audience="puhui")

    def mint(
        self, issuer: str, grants: tuple[str, ...], *, ttl: float = 600, key: Any = None
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "sub": f"{issuer}:{uuid.uuid4().hex[:12]}",
            "aud": "puhui",
            "iat": now,
            "nbf": now - 5,
            "exp": int(now + ttl),
            "jti": uuid.uuid4().hex,
            "roles": list(grants),
            "acr": tokens.ACR_BY_LEVEL[tokens.ASSURANCE_SUBSTANTIAL],
        }
        headers = {"typ": tokens.TOKEN_TYPE, "kid": f"k-{issuer}"}
        return jwt.encode(claims, key or self.private[issuer], algorithm="ES256", headers=headers)

    def token(self, actor: Actor) -> str | None:
        if actor.bad == "expired":
            return self.mint(HUB, (NA,), ttl=-3600)
        if actor.bad == "forged":  # the hub's kid, someone else's key
            return self.mint(HUB, (NA,), key=ec.generate_private_key(ec.SECP256R1()))
        if actor.bad == "tampered":  # a person's token whose payload was edited afterwards
            header, payload, signature = self.mint(HERE, ("innovator",)).split(".")
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            claims["roles"] = [NA, f"{PA}:{HERE}"]
            return ".".join((header, _b64(json.dumps(claims).encode()), signature))
        if actor.bad == "alg_none":
            header = {"typ": tokens.TOKEN_TYPE, "alg": "none", "kid": f"k-{HUB}"}
            valid = self.mint(HUB, (NA,)).split(".")[1]
            return f"{_b64(json.dumps(header).encode())}.{valid}."
        if actor.anonymous:
            return None
        return self.mint(actor.issuer, actor.grants)


@dataclass
class Target:
    app: ServiceApp
    address: str


def _identity(verifier: Any, **common: Any) -> ServiceApp:
    config = kit_config.load(
        IdentityConfig,
        id_number_key=DEV_KEY,
        key_encryption_key=DEV_KEY,
        **CHEAP_ARGON2,
        **common,
    )
    return IdentityApp(config, verifier=verifier)


@pytest.fixture(scope="module")
def federation_of_apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Keys, dict]]:
    keys = Keys()
    state: Path = tmp_path_factory.mktemp("authz")
    targets: dict[tuple[str, str], Target] = {}
    with contextlib.ExitStack() as stack:
        for node in (HERE, THERE):
            common = {
                "node_id": node,
                "grpc_port": 0,
                "metrics_port": 0,
                "kafka_bootstrap": "",
                "state_dir": state,
            }
            apps = {
                "identity": _identity(keys.verifier, **common),
                "catalog": build_catalog(verifier=keys.verifier, **common),
                "data": build_data(verifier=keys.verifier, **common),
                "feedback": build_feedback(verifier=keys.verifier, run_consumers=False, **common),
            }
            for name, app in apps.items():
                host = stack.enter_context(running(app))
                targets[name, node] = Target(app, host.address)
        hub = build_federation(
            verifier=keys.verifier,
            node_id=HUB,
            grpc_port=0,
            metrics_port=0,
            kafka_bootstrap="",
            state_dir=state,
            anchor_key=TrustAnchor.generate().to_pem().decode(),
            national_models=False,
        )
        host = stack.enter_context(running(hub))
        targets["federation", HUB] = Target(hub, host.address)
        yield keys, targets


def _methods(app: ServiceApp) -> Iterator[tuple[str, Any, dict[str, policy.Rule] | None]]:
    pool = descriptor_pool.Default()
    for service in app.grpc_services():
        descriptor = pool.FindServiceByName(service.full_name)
        rules = dict(service.policy) if service.policy is not None else None
        for method in descriptor.methods:
            yield service.full_name, method, rules


def test_every_rpc_has_exactly_one_policy_row(federation_of_apps: tuple[Keys, dict]) -> None:
    _, targets = federation_of_apps
    for (name, _node), target in targets.items():
        for service in target.app.grpc_services():
            assert service.policy is not None, f"{service.full_name} declares no policy"
            descriptor = descriptor_pool.Default().FindServiceByName(service.full_name)
            missing = policy.missing_rows((m.name for m in descriptor.methods), service.policy)
            assert not missing, (
                f"{name}: RPCs without a policy row (or rows without RPC): {missing}"
            )


def _reason(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


def _call(
    channel: grpc.Channel, full_service: str, method: Any, token: str | None
) -> tuple[grpc.StatusCode, str]:
    request = message_factory.GetMessageClass(method.input_type)()
    path = f"/{full_service}/{method.name}"
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    try:
        if method.server_streaming:
            stream = channel.unary_stream(
                path,
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=bytes,
            )
            for _ in stream(request, metadata=metadata, timeout=20):
                pass
        else:
            call = channel.unary_unary(
                path,
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=bytes,
            )
            call(request, metadata=metadata, timeout=20)
    except grpc.RpcError as error:
        return error.code(), _reason(error)
    return grpc.StatusCode.OK, ""


def _expected(rule: policy.Rule, actor: Actor, node: str) -> str:
    """'unauthenticated', 'denied' or 'through' (the call reaches the service)."""
    if actor.bad:
        return "unauthenticated"  # a presented token must verify, even on public RPCs
    if rule.access is policy.Access.PUBLIC:
        return "through"
    if actor.anonymous:
        return "unauthenticated"
    if rule.access is policy.Access.SIGNED_IN:
        return "through"
    held = actor.holds.get(node, frozenset())
    return "through" if held & rule.roles else "denied"


def test_authorisation_matrix(federation_of_apps: tuple[Keys, dict]) -> None:
    keys, targets = federation_of_apps
    tokens_by_actor = {name: keys.token(actor) for name, actor in ACTORS.items()}
    failures: list[str] = []
    cells = 0
    for (_service, node), target in sorted(targets.items()):
        with grpc.insecure_channel(target.address) as channel:
            for full_service, method, rules in _methods(target.app):
                short = f"{full_service.rsplit('.', 1)[-1]}/{method.name}"
                rule = (rules or {}).get(method.name)
                if rule is None:
                    failures.append(f"{short}: no policy row")
                    continue
                for actor_name, actor in ACTORS.items():
                    cells += 1
                    code, reason = _call(channel, full_service, method, tokens_by_actor[actor_name])
                    want = _expected(rule, actor, node)
                    if want == "through" and (short, actor_name) in SERVICE_UNAUTHENTICATED:
                        want = "unauthenticated"
                    if want == "unauthenticated":
                        ok = code == grpc.StatusCode.UNAUTHENTICATED
                    elif want == "denied":
                        ok = code == grpc.StatusCode.PERMISSION_DENIED and reason == "ROLE_REQUIRED"
                    else:
                        ok = code not in BROKEN and reason != "ROLE_REQUIRED"
                    if not ok:
                        failures.append(
                            f"{short} at {node} as {actor_name}: expected {want}, got {code.name}"
                            f" {reason}"
                        )
    assert not failures, f"{len(failures)} of {cells} cells wrong:\n" + "\n".join(failures)
    assert cells > 1000
