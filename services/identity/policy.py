"""Who may call each IdentityService RPC: checked by the kit interceptor right after
authentication, before validation (puhui.kit.policy). The domain keeps the finer checks
(whose person, which organisation, which node a grant is for)."""

from __future__ import annotations

from puhui.kit.policy import PUBLIC, SIGNED_IN, Rule, roles
from puhui.kit.tokens import ROLE_INSTITUTION_STAFF, ROLE_NATIONAL_ADMIN, ROLE_PROVINCE_ADMIN

ADMINS = (ROLE_PROVINCE_ADMIN, ROLE_NATIONAL_ADMIN)

POLICY: dict[str, Rule] = {
    "RegisterPerson": PUBLIC,
    "SignIn": PUBLIC,
    "RefreshTokens": PUBLIC,
    # A refresh token alone signs out too (the access token may already have expired).
    "SignOut": PUBLIC,
    "IssueServiceToken": PUBLIC,
    "GetMe": SIGNED_IN,
    # Oneself; staff only persons their institution served (domain); admins of the node.
    "GetPerson": SIGNED_IN,
    "VerifyPerson": roles(ROLE_INSTITUTION_STAFF, *ADMINS),
    "CreateOrganisation": SIGNED_IN,
    "GetOrganisation": PUBLIC,
    "ListOrganisations": PUBLIC,
    # The organisation's admins (a membership, known to the domain) or the node's admins.
    "AddMembership": SIGNED_IN,
    "RemoveMembership": SIGNED_IN,
    "GrantRole": roles(*ADMINS),
    "RevokeRole": roles(*ADMINS),
    "GetJwks": PUBLIC,
    # One's own token; another's needs an admin of the node (domain).
    "RevokeToken": SIGNED_IN,
}
