"""Who may call each FederationService RPC: checked by the kit interceptor right after
authentication, before validation (puhui.kit.policy). A joining node proves itself with
its join code, not a token; the registry's changes belong to national admins."""

from __future__ import annotations

from puhui.kit.policy import PUBLIC, Rule, roles
from puhui.kit.tokens import ROLE_NATIONAL_ADMIN

POLICY: dict[str, Rule] = {
    "JoinNode": PUBLIC,
    "GetNode": PUBLIC,
    "ListNodes": PUBLIC,
    "RemoveNode": roles(ROLE_NATIONAL_ADMIN),
    "CreateJoinCode": roles(ROLE_NATIONAL_ADMIN),
    "GetTrustAnchor": PUBLIC,
    "SearchNationalCatalog": PUBLIC,
    "GetNationalStatistics": PUBLIC,
    "GetFederationStatus": PUBLIC,
}
