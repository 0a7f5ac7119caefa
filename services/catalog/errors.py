"""Catalog errors: the kit's taxonomy, named for this domain."""

from __future__ import annotations

from puhui.kit.errors import InvalidArgument, NotFound, PermissionDenied


class InstitutionNotFound(NotFound):
    def __init__(self, institution_id: str) -> None:
        super().__init__(f"institution {institution_id!r} not found")


class ServiceItemNotFound(NotFound):
    def __init__(self, item_id: str) -> None:
        super().__init__(f"service item {item_id!r} not found")


class NotAllowed(PermissionDenied):
    """The caller may not write this entry (another node's, another institution's, a
    national designation without a national admin)."""


__all__ = ["InstitutionNotFound", "InvalidArgument", "NotAllowed", "ServiceItemNotFound"]
