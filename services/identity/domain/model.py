"""The identity model: persons, grants, organisations, keys and sessions as values."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from puhui.kit import tokens as kt

MAX_NAME = 100
MAX_ORG_NAME = 200


class Assurance(enum.IntEnum):
    LOW = kt.ASSURANCE_LOW
    SUBSTANTIAL = kt.ASSURANCE_SUBSTANTIAL
    HIGH = kt.ASSURANCE_HIGH


class Role(enum.IntEnum):
    INNOVATOR = 1
    INSTITUTION_STAFF = 2
    PROVINCE_ADMIN = 3
    NATIONAL_ADMIN = 4
    NODE_SERVICE = 5

    @property
    def claim_name(self) -> str:
        return ROLE_CLAIMS[self]


ROLE_CLAIMS = {
    Role.INNOVATOR: kt.ROLE_INNOVATOR,
    Role.INSTITUTION_STAFF: kt.ROLE_INSTITUTION_STAFF,
    Role.PROVINCE_ADMIN: kt.ROLE_PROVINCE_ADMIN,
    Role.NATIONAL_ADMIN: kt.ROLE_NATIONAL_ADMIN,
    Role.NODE_SERVICE: kt.ROLE_NODE_SERVICE,
}


class OrganisationType(enum.IntEnum):
    ENTERPRISE = 1
    UNIVERSITY = 2
    RESEARCH_INSTITUTE = 3
    SERVICE_INSTITUTION = 4
    GOVERNMENT_OFFICE = 5


class MembershipRole(enum.IntEnum):
    MEMBER = 1
    ADMIN = 2

    @property
    def claim_name(self) -> str:
        return kt.ORG_ADMIN if self is MembershipRole.ADMIN else kt.ORG_MEMBER


class KeyStatus(enum.StrEnum):
    ACTIVE = "active"  # signs new tokens, listed in the JWKS
    PASSIVE = "passive"  # no longer signs; still listed, so its tokens verify until they expire
    RETIRED = "retired"  # removed from the JWKS: its tokens no longer verify


class SignInResult(enum.IntEnum):
    SUCCESS = 1
    BAD_CREDENTIALS = 2
    THROTTLED = 3
    LOCKED = 4


@dataclass(frozen=True)
class Grant:
    role: Role
    scope: str = ""

    def claim(self) -> str:
        return f"{self.role.claim_name}:{self.scope}" if self.scope else self.role.claim_name


@dataclass(frozen=True)
class Membership:
    person_id: str
    organisation_id: str
    role: MembershipRole


@dataclass(frozen=True)
class Person:
    person_id: str
    home_node: str
    display_name: str
    email: str
    mobile: str
    id_number_masked: str
    assurance: Assurance
    password_hash: str = field(repr=False)
    created_at: datetime
    grants: tuple[Grant, ...] = ()
    memberships: tuple[Membership, ...] = ()


@dataclass(frozen=True)
class Organisation:
    organisation_id: str
    credit_code: str
    name: str
    type: OrganisationType
    region_code: str
    home_node: str
    created_at: datetime


@dataclass(frozen=True)
class SigningKey:
    kid: str
    public_jwk: dict[str, Any]
    sealed_private_key: bytes = field(repr=False)
    status: KeyStatus
    created_at: datetime
    retired_at: datetime | None = None


@dataclass(frozen=True)
class RefreshFamily:
    family_id: str
    person_id: str
    audience: str
    expires_at: datetime
    revoked_at: datetime | None = None
    last_jti: str = ""
    last_jti_expires_at: datetime | None = None


@dataclass(frozen=True)
class RefreshRecord:
    token_hash: str
    family_id: str
    created_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True)
class ServiceAccount:
    client_id: str
    secret_hash: str = field(repr=False)
    node: str
    scopes: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class NewPerson:
    display_name: str
    email: str = ""
    mobile: str = ""
    password: str = field(default="", repr=False)
    id_number: str = field(default="", repr=False)


@dataclass(frozen=True)
class NewOrganisation:
    credit_code: str
    name: str
    type: int
    region_code: str


@dataclass(frozen=True)
class Session:
    access_token: str = field(repr=False)
    expires_in_seconds: int
    refresh_token: str = field(repr=False)
    person: Person | None = None


@dataclass(frozen=True)
class OrganisationQuery:
    type: int = 0
    region_code: str = ""

    def filters(self) -> dict[str, object]:
        return {"type": self.type, "region": self.region_code}


# -- ports --------------------------------------------------------------------------------------
def staff_view(person: Person) -> Person:
    """What institution staff see of a person they served: who it is (name, masked ID
    number, assurance level), not how to reach them nor their roles and memberships."""
    return replace(person, email="", mobile="", grants=(), memberships=())
