"""Caller identity: who is calling, as every service sees it.

The server interceptor reads `authorization: Bearer <token>` from the request metadata,
asks the configured `TokenVerifier` for a `Principal`, and makes it the current principal
for the handler (`current_principal()`). No token means the anonymous principal.

Verification itself is a seam: the identity service provides the JWT verifier (offline,
with cached key sets per issuer). Until one is configured, `RejectingVerifier` refuses
every presented token with UNAUTHENTICATED rather than trusting it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from puhui.kit.errors import PermissionDenied, Unauthenticated


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified caller."""

    subject: str = ""
    issuer: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    # role -> scopes it is bound to (institution ids, node ids)
    role_scopes: tuple[tuple[str, str], ...] = ()
    organisations: tuple[tuple[str, str], ...] = ()
    assurance: int = 0
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: str = ""
    client_address: str = ""
    # Unix seconds when the presented token expires (0: no token); lets a service revoke
    # the caller's own token by jti exactly until it dies (identity's SignOut).
    expires_at: float = 0.0

    @property
    def is_anonymous(self) -> bool:
        return not self.subject

    def has_role(self, role: str, scope: str | None = None) -> bool:
        if scope is None:
            return role in self.roles
        return (role, scope) in self.role_scopes


ANONYMOUS = Principal()

_current: contextvars.ContextVar[Principal] = contextvars.ContextVar(
    "puhui_principal", default=ANONYMOUS
)


def current_principal() -> Principal:
    return _current.get()


def set_current(principal: Principal) -> contextvars.Token[Principal]:
    return _current.set(principal)


def reset_current(token: contextvars.Token[Principal]) -> None:
    _current.reset(token)


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Principal:
        """Return the token's principal or raise Unauthenticated."""


class RejectingVerifier:
    """The default until identity's verifier is configured: no token is trusted."""

    def verify(self, token: str) -> Principal:
        raise Unauthenticated("token verification is not configured on this node")


def bearer_token(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    for key, value in metadata or ():
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = text.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("authorization metadata must be 'Bearer <token>'")
            return token.strip()
    return None


def require_signed_in(principal: Principal | None = None) -> Principal:
    principal = principal or current_principal()
    if principal.is_anonymous:
        raise Unauthenticated("sign in first")
    return principal


def require_role(*roles: str, principal: Principal | None = None) -> Principal:
    """The caller must hold one of `roles` (any scope)."""
    principal = require_signed_in(principal)
    if not any(principal.has_role(r) for r in roles):
        raise PermissionDenied(f"requires role {' or '.join(roles)}")
    return principal
