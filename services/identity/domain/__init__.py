"""Identity domain: persons, organisations, roles, sessions, signing keys. No proto, no SQL.

`Identity` holds the use cases, one module per aggregate (`persons`: registration, persons
and roles; `sessions`: sign-in, tokens and service accounts; `organisations`: organisations
and memberships; `keys`: the signing keys). Storage and events come from a unit of work
(`ports.UnitOfWork`: a context manager yielding a `Repository` and an `EventSink` bound to
one transaction); throttling and revocation are injected too. The model's values live in
`model`, the ports the adapters implement in `ports` and `throttling`.
"""

from __future__ import annotations

from puhui.identity.domain.core import TokenSettings
from puhui.identity.domain.keys import jwks_json
from puhui.identity.domain.model import (
    MAX_NAME,
    MAX_ORG_NAME,
    ROLE_CLAIMS,
    Assurance,
    Grant,
    KeyStatus,
    Membership,
    MembershipRole,
    NewOrganisation,
    NewPerson,
    Organisation,
    OrganisationQuery,
    OrganisationType,
    Person,
    RefreshFamily,
    RefreshRecord,
    Role,
    ServiceAccount,
    Session,
    SigningKey,
    SignInResult,
    staff_view,
)
from puhui.identity.domain.organisations import OrganisationUseCases
from puhui.identity.domain.ports import EventSink, Repository, UnitOfWork
from puhui.identity.domain.throttling import (
    PairState,
    SignInThrottle,
    ThrottlePolicy,
    Verdict,
    client_network,
    throttle_address,
)


class Identity(OrganisationUseCases):
    """Every identity use case; constructed with its unit of work, secrets and stores
    (see `core.IdentityCore`)."""


__all__ = [
    "MAX_NAME",
    "MAX_ORG_NAME",
    "ROLE_CLAIMS",
    "Assurance",
    "EventSink",
    "Grant",
    "Identity",
    "KeyStatus",
    "Membership",
    "MembershipRole",
    "NewOrganisation",
    "NewPerson",
    "Organisation",
    "OrganisationQuery",
    "OrganisationType",
    "PairState",
    "Person",
    "RefreshFamily",
    "RefreshRecord",
    "Repository",
    "Role",
    "ServiceAccount",
    "Session",
    "SignInResult",
    "SignInThrottle",
    "SigningKey",
    "ThrottlePolicy",
    "TokenSettings",
    "UnitOfWork",
    "Verdict",
    "client_network",
    "jwks_json",
    "staff_view",
    "throttle_address",
]
