"""One declared access policy per RPC, checked right after authentication.

Every service declares a table `POLICY: dict[str, Rule]` keyed by the RPC's method name
("GetPerson") and hands it to the kit with its `GrpcService`. The server interceptor looks
each method's rule up once and `enforce`s it directly after it has authenticated the caller
and BEFORE any request validation or handler code runs, so an anonymous caller of a
non-public RPC learns nothing about the request's field rules:

- `PUBLIC`: anyone, anonymous included (a presented token must still be valid);
- `SIGNED_IN`: any verified caller; anonymous -> UNAUTHENTICATED;
- `roles(...)`: a verified caller holding one of the roles; anonymous -> UNAUTHENTICATED,
  without one of the roles -> PERMISSION_DENIED (reason `ROLE_REQUIRED`). With
  `node_scoped=True` (the default) a scoped role only counts when it is scoped to the
  serving node: `province_admin:<this node>`, `node_service:<this node>`,
  `institution_staff:<an institution of this node>`; `national_admin` counts everywhere.

The check is coarse on purpose: it decides who may call the RPC at all. Which institution,
which case, which person a caller may touch is the domain's decision, made after the
request has been validated. A method of a governed service without a row is refused
(fail closed), and the authorisation matrix test fails for it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from puhui.kit.auth import Principal
from puhui.kit.errors import PermissionDenied, Unauthenticated
from puhui.kit.tokens import (
    ROLE_INSTITUTION_STAFF,
    ROLE_NATIONAL_ADMIN,
    ROLE_NODE_SERVICE,
    ROLE_PROVINCE_ADMIN,
)


class Access(enum.Enum):
    PUBLIC = "public"
    SIGNED_IN = "signed_in"
    ROLES = "roles"
    UNDECLARED = "undeclared"  # a governed RPC without a row: nobody


@dataclass(frozen=True)
class Rule:
    access: Access
    roles: frozenset[str] = field(default_factory=frozenset)
    node_scoped: bool = True

    def allows(self, principal: Principal, node: str) -> bool:
        """True when the caller passes this rule at `node` (anonymous passes PUBLIC only)."""
        if self.access is Access.PUBLIC:
            return True
        if principal.is_anonymous:
            return False
        if self.access is Access.SIGNED_IN:
            return True
        if self.access is Access.UNDECLARED:
            return False
        return any(
            holds_at(principal, role, node if self.node_scoped else None) for role in self.roles
        )


PUBLIC = Rule(Access.PUBLIC)
SIGNED_IN = Rule(Access.SIGNED_IN)


def roles(*names: str, node_scoped: bool = True) -> Rule:
    if not names:
        raise ValueError("a roles rule names at least one role")
    return Rule(Access.ROLES, frozenset(names), node_scoped)


def holds_at(principal: Principal, role: str, node: str | None) -> bool:
    """Does the caller hold `role` at `node` (None: with any scope)?"""
    if role == ROLE_NATIONAL_ADMIN or node is None:
        return role in principal.roles
    if role in (ROLE_PROVINCE_ADMIN, ROLE_NODE_SERVICE):
        return principal.has_role(role, node)
    if role == ROLE_INSTITUTION_STAFF:
        return any(r == role and s.startswith(f"{node}-") for r, s in principal.role_scopes)
    return role in principal.roles


class RoleRequired(PermissionDenied):
    """The caller is signed in but holds none of the RPC's roles (the policy said no)."""

    reason = "ROLE_REQUIRED"


class Policy:
    """The rules of the services one server hosts, keyed by full method name
    ("/puhui.identity.v1.IdentityService/GetPerson")."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}
        self._services: set[str] = set()

    def add(self, service_full_name: str, rules: Mapping[str, Rule]) -> None:
        self._services.add(service_full_name)
        for method, rule in rules.items():
            self._rules[f"/{service_full_name}/{method}"] = rule

    def rule(self, method: str) -> Rule | None:
        """The rule of a full method name; None when its service is not governed."""
        if method.lstrip("/").rsplit("/", 1)[0] not in self._services:
            return None
        return self._rules.get(method, UNDECLARED)

    def check(self, method: str, principal: Principal, node: str) -> None:
        """Raise Unauthenticated / PermissionDenied unless the caller may call `method`."""
        rule = self.rule(method)
        if rule is not None:
            enforce(rule, principal, node)


UNDECLARED = Rule(Access.UNDECLARED)


def enforce(rule: Rule, principal: Principal, node: str) -> None:
    """Raise Unauthenticated / PermissionDenied unless `rule` lets the caller in at `node`."""
    if rule.allows(principal, node):
        return
    if rule.access is Access.UNDECLARED:
        raise PermissionDenied("no access policy is declared for this RPC")
    if principal.is_anonymous:
        raise Unauthenticated("sign in first")
    raise RoleRequired(f"requires role {' or '.join(sorted(rule.roles))}")


def missing_rows(method_names: Iterable[str], rules: Mapping[str, Rule]) -> list[str]:
    """RPCs of a service without a policy row, and rows naming no RPC."""
    names = set(method_names)
    return sorted((names - set(rules)) | (set(rules) - names))
