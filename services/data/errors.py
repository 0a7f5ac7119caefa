"""Data service errors: the kit's taxonomy, named for this domain."""

from __future__ import annotations

from puhui.kit.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted


class RecordNotFound(NotFound):
    def __init__(self, kind: str, number: str) -> None:
        super().__init__(f"no {kind} with number {number!r}")


class ReadOnlyMirror(FailedPrecondition):
    def __init__(self, node: str) -> None:
        super().__init__(f"node {node} mirrors the hub's data sets; change them at the hub")


class QuotaExhausted(ResourceExhausted):
    pass


__all__ = ["InvalidArgument", "QuotaExhausted", "ReadOnlyMirror", "RecordNotFound"]
