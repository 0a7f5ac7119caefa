"""Catalog errors: the kit's taxonomy, named for this domain."""

from __future__ import annotations

from puhui.kit.errors import InvalidArgument, NotFound


class InstitutionNotFound(NotFound):
    def __init__(self, institution_id: str) -> None:
        super().__init__(f"institution {institution_id!r} not found")


__all__ = ["InstitutionNotFound", "InvalidArgument"]
