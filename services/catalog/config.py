"""Catalog settings (the kit's ServiceConfig; the catalog adds none yet)."""

from __future__ import annotations

import dataclasses

from puhui.kit.config import ServiceConfig, setting


@dataclasses.dataclass(frozen=True)
class CatalogConfig(ServiceConfig):
    service: str = setting("PUHUI_SERVICE", "catalog", doc="Service name.")
