"""Helpers for other services to verify Puhui access tokens with `puhui.kit.tokens`.

    from puhui.identity.client import jwks_loader
    from puhui.kit import tokens

    key_sets = tokens.KeySets(jwks_loader("127.0.0.1:50051"), ttl_seconds=300)
    verifier = tokens.JwtVerifier(key_sets, audience=config.token_audience,
                                  revocation_store=tokens.RedisRevocationStore(redis_client))

`jwks_loader(address)` asks the identity service at `address` (this node's) for its JWK
Set. It answers for that service's own issuer only; other nodes' key sets arrive through
federation (KeySetChanged events → `KeySets.put`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import grpc

from puhui.identity.v1 import identity_pb2, identity_pb2_grpc


def jwks_loader(address: str, *, timeout: float = 2.0) -> Callable[[str], str | None]:
    lock = threading.Lock()
    state: dict[str, identity_pb2_grpc.IdentityServiceStub] = {}

    def load(issuer: str) -> str | None:
        with lock:
            stub = state.get("stub")
            if stub is None:
                stub = identity_pb2_grpc.IdentityServiceStub(grpc.insecure_channel(address))
                state["stub"] = stub
        reply = stub.GetJwks(identity_pb2.GetJwksRequest(), timeout=timeout)
        return reply.jwks_json if reply.issuer == issuer else None

    return load
