"""Feedback errors: the kit's taxonomy, named for this domain. Each FailedPrecondition
subclass carries its own ErrorInfo reason so clients can branch on it."""

from __future__ import annotations

from puhui.kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)


class CaseNotFound(NotFound):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"service case {case_id!r} not found")


class RatingNotFound(NotFound):
    def __init__(self, rating_id: str) -> None:
        super().__init__(f"rating {rating_id!r} not found")


class TicketNotFound(NotFound):
    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"rectification ticket {ticket_id!r} not found")


class AppealNotFound(NotFound):
    def __init__(self, appeal_id: str) -> None:
        super().__init__(f"appeal {appeal_id!r} not found")


class TokenAlreadyUsed(FailedPrecondition):
    reason = "RATING_TOKEN_USED"


class CaseNotCompleted(FailedPrecondition):
    reason = "CASE_NOT_COMPLETED"


class IllegalTransition(FailedPrecondition):
    reason = "ILLEGAL_TICKET_TRANSITION"

    def __init__(self, current: str, target: str, why: str = "") -> None:
        detail = f": {why}" if why else ""
        super().__init__(f"ticket cannot go from {current} to {target}{detail}")
        self.current = current
        self.target = target


class AppealNotAllowed(FailedPrecondition):
    reason = "APPEAL_NOT_ALLOWED"


class OwnInstitution(PermissionDenied):
    reason = "OWN_INSTITUTION"


class Conflict(AlreadyExists):
    """A unique constraint refused a write: a concurrent request with the same key won.
    The unit of work raises it; the use case decides what it means (a replay, a used token)."""

    def __init__(self) -> None:
        super().__init__("a record with these unique values already exists")


__all__ = [
    "AlreadyExists",
    "AppealNotAllowed",
    "AppealNotFound",
    "CaseNotCompleted",
    "CaseNotFound",
    "Conflict",
    "IllegalTransition",
    "InvalidArgument",
    "OwnInstitution",
    "RatingNotFound",
    "TicketNotFound",
    "TokenAlreadyUsed",
]
