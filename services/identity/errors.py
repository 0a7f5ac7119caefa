"""Identity errors: the kit's taxonomy, named for this domain."""

from __future__ import annotations

from puhui.kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)

# One message for unknown account and wrong password: no account enumeration.
BAD_CREDENTIALS = "login or password is incorrect"


class BadCredentials(Unauthenticated):
    def __init__(self) -> None:
        super().__init__(BAD_CREDENTIALS)


class PersonNotFound(NotFound):
    def __init__(self, person_id: str) -> None:
        super().__init__(f"person {person_id!r} not found")


class OrganisationNotFound(NotFound):
    def __init__(self, organisation_id: str) -> None:
        super().__init__(f"organisation {organisation_id!r} not found")


class SignInThrottled(ResourceExhausted):
    """Too many failed sign-ins for this account from this address (or from this address)."""


__all__ = [
    "BAD_CREDENTIALS",
    "AlreadyExists",
    "BadCredentials",
    "FailedPrecondition",
    "InvalidArgument",
    "OrganisationNotFound",
    "PermissionDenied",
    "PersonNotFound",
    "SignInThrottled",
    "Unauthenticated",
]
