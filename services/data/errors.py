"""Data service errors: the kit's taxonomy, named for this domain."""

from __future__ import annotations

from puhui.kit.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)


class RecordNotFound(NotFound):
    def __init__(self, kind: str, number: str, hint: str = "") -> None:
        super().__init__(f"no {kind} with number {number!r}" + (f" ({hint})" if hint else ""))


class ReadOnlyMirror(FailedPrecondition):
    def __init__(self, node: str) -> None:
        super().__init__(f"node {node} mirrors the hub's data sets; change them at the hub")


class QuotaExhausted(ResourceExhausted):
    pass


EXPORT_RETRY_SECONDS = 10.0


class TooManyExports(ResourceExhausted):
    """Every export stream of this process is open (PUHUI_DATA_EXPORT_STREAMS)."""

    reason = "EXPORT_STREAMS_EXHAUSTED"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"this data service has {limit} export streams open, its limit"
            " (PUHUI_DATA_EXPORT_STREAMS); retry when one has finished",
            retry_after_seconds=EXPORT_RETRY_SECONDS,
        )


class SearchTimedOut(DeadlineExceeded):
    """A search ran longer in the database than PUHUI_DATA_SEARCH_TIMEOUT_MS."""

    def __init__(self, limit_ms: int) -> None:
        super().__init__(
            f"the search ran longer than this node's limit of {limit_ms} ms"
            " (PUHUI_DATA_SEARCH_TIMEOUT_MS) and was stopped; narrow it: more fields, a"
            " shorter date range, a longer IPC prefix"
        )


__all__ = [
    "InvalidArgument",
    "QuotaExhausted",
    "ReadOnlyMirror",
    "RecordNotFound",
    "SearchTimedOut",
    "TooManyExports",
]
