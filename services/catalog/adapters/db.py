"""Catalog storage, one module per aggregate: `tables` (the schema), `rows` (rows ↔ domain
objects), `search` (the search statements shared by institutions and items),
`institutions`, `items`, `match` (Match's pre-ranking read model) and `unit_of_work`.

This module names what code outside the adapters uses: the tables, the row helpers the
seed and the federation demo write with, and the repositories.
"""

from __future__ import annotations

from puhui.catalog.adapters.institutions import SqlInstitutionRepository
from puhui.catalog.adapters.items import SqlServiceItemRepository
from puhui.catalog.adapters.match import SqlMatchCandidates
from puhui.catalog.adapters.rows import (
    institution_values,
    item_values,
    region_rows,
    search_bigrams,
    search_text,
)
from puhui.catalog.adapters.search import TotalCache
from puhui.catalog.adapters.tables import (
    catalog_version,
    inbox,
    institution_areas,
    institution_ipc,
    institution_regions,
    institution_seq,
    institutions,
    metadata,
    outbox,
    service_items,
)

__all__ = [
    "SqlInstitutionRepository",
    "SqlMatchCandidates",
    "SqlServiceItemRepository",
    "TotalCache",
    "catalog_version",
    "inbox",
    "institution_areas",
    "institution_ipc",
    "institution_regions",
    "institution_seq",
    "institution_values",
    "institutions",
    "item_values",
    "metadata",
    "outbox",
    "region_rows",
    "search_bigrams",
    "search_text",
    "service_items",
]
