"""Catalog settings: the kit's ServiceConfig and the search total cache switch."""

from __future__ import annotations

import dataclasses

from puhui.kit.config import ServiceConfig, setting


@dataclasses.dataclass(frozen=True)
class CatalogConfig(ServiceConfig):
    service: str = setting("PUHUI_SERVICE", "catalog", doc="Service name.")
    count_cache: bool = setting(
        "PUHUI_CATALOG_COUNT_CACHE",
        True,
        doc="Reuse search totals, and a region's institution ids, found at the current "
        "catalog version (exact: any committed write changes the version; PostgreSQL only). "
        "Off: every search counts and resolves its region.",
    )
