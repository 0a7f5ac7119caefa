"""The error taxonomy shared by every service.

Domain code raises these (chained with `from` where another error caused them); the
server interceptor maps each to a gRPC status with `google.rpc` details. Anything else
that escapes a handler becomes INTERNAL and is logged with its trace id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import grpc


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field: `field` is the request path (e.g. `institution.region_code`)."""

    field: str
    description: str


class PuhuiError(Exception):
    """Base of every error a service raises on purpose."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    reason: str = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# A status carries at most this many field violations (and the total count): 10,000 of them
# made a ~400 KB trailer, past gRPC's 16 KiB metadata limit (the caller saw
# RESOURCE_EXHAUSTED instead of INVALID_ARGUMENT).
MAX_REPORTED_VIOLATIONS = 20


class InvalidArgument(PuhuiError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "FIELD_INVALID"

    def __init__(self, violations: Iterable[FieldViolation], message: str = "") -> None:
        self.violations = list(violations)
        if not message:
            shown = self.violations[:MAX_REPORTED_VIOLATIONS]
            message = "; ".join(f"{v.field}: {v.description}" for v in shown)
            if len(self.violations) > len(shown):
                message += f"; and {len(self.violations) - len(shown)} more"
        super().__init__(message or "invalid argument")

    @classmethod
    def field(cls, field_path: str, description: str) -> InvalidArgument:
        return cls([FieldViolation(field_path, description)])


class OutOfRange(InvalidArgument):
    """A value of the right type outside what the API accepts (a Timestamp past year 9999,
    a uint64 beyond int64, a repeated field over its size limit)."""

    reason = "FIELD_OUT_OF_RANGE"


class MalformedRequest(InvalidArgument):
    """The request bytes are not the RPC's protobuf message."""

    reason = "MALFORMED_REQUEST"


class NotFound(PuhuiError):
    code = grpc.StatusCode.NOT_FOUND
    reason = "NOT_FOUND"


class AlreadyExists(PuhuiError):
    code = grpc.StatusCode.ALREADY_EXISTS
    reason = "ALREADY_EXISTS"


class Unauthenticated(PuhuiError):
    code = grpc.StatusCode.UNAUTHENTICATED
    reason = "UNAUTHENTICATED"


class PermissionDenied(PuhuiError):
    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "PERMISSION_DENIED"


class FailedPrecondition(PuhuiError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "FAILED_PRECONDITION"


class Aborted(PuhuiError):
    """A concurrent change won (optimistic concurrency); re-read and retry."""

    code = grpc.StatusCode.ABORTED
    reason = "ABORTED"


class ResourceExhausted(PuhuiError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "QUOTA_EXHAUSTED"

    def __init__(self, message: str, retry_after_seconds: float) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class WorkersExhausted(ResourceExhausted):
    """Every worker of the server is busy and its queue is full: refused before any work."""

    reason = "WORKERS_EXHAUSTED"


class StreamsExhausted(ResourceExhausted):
    """Every worker the server keeps for long-lived streams holds one: refused at once."""

    reason = "STREAMS_EXHAUSTED"


class DeadlineExceeded(PuhuiError):
    """The server gave up on the work within its own time limit (not the caller's deadline)."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED
    reason = "TIME_LIMIT_EXCEEDED"


class Unavailable(PuhuiError):
    code = grpc.StatusCode.UNAVAILABLE
    reason = "DEPENDENCY_UNAVAILABLE"


@dataclass
class Violations:
    """Collects field violations so a request reports all its bad fields at once.

    v = Violations()
    v.require(req.name, "name")
    v.check(len(req.name) <= 200, "name", "at most 200 characters")
    v.raise_if_any()
    """

    items: list[FieldViolation] = field(default_factory=list)

    def add(self, field_path: str, description: str) -> None:
        self.items.append(FieldViolation(field_path, description))

    def check(self, ok: bool, field_path: str, description: str) -> bool:
        if not ok:
            self.add(field_path, description)
        return ok

    def require(self, value: object, field_path: str) -> bool:
        return self.check(bool(value), field_path, "is required")

    def has(self, field_path: str) -> bool:
        return any(v.field == field_path for v in self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)
