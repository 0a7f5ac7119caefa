"""Rows ↔ domain objects, and the column lists every read shares."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    String,
    bindparam,
    select,
)

from puhui.catalog.adapters.tables import (
    institution_areas,
    institution_ipc,
    institution_regions,
    institutions,
    service_items,
)
from puhui.catalog.domain import (
    Category,
    Channel,
    Contact,
    CostClass,
    Eligibility,
    Institution,
    ServiceItem,
    Status,
    Tier,
    search_regions,
)
from puhui.kit.times import aware_or_none

# --------------------------------------------------------------------------- mapping


def mask(values: Sequence[int]) -> int:
    out = 0
    for v in values:
        out |= 1 << int(v)
    return out


@functools.cache
def unmask(value: int) -> tuple[int, ...]:
    return tuple(n for n in range(1, 31) if value & (1 << n))


def search_text(name: str, description: str) -> str:
    return f"{name}\n{description}"


def search_bigrams(name: str, description: str) -> str:
    """Every pair of adjacent characters of the text as a space-separated word, with spaces
    at both ends: " 深圳 圳市 市知 … ". A two-character query `xy` is then the word pattern
    `% xy %`, from which pg_trgm extracts trigrams ("  x", " xy", "xy "), so its GIN index
    serves two-character queries too (plain `%xy%` yields no trigram and scans)."""
    grams: dict[str, None] = {}
    for token in f"{name} {description}".split():
        for i in range(len(token) - 1):
            grams[token[i : i + 2]] = None
    return " " + " ".join(grams) + " "


_TIERS = {int(m): m for m in Tier}
_STATUSES = {int(m): m for m in Status}
_CATEGORIES = {int(m): m for m in Category}
_CHANNELS = {int(m): m for m in Channel}
_COSTS = {int(m): m for m in CostClass}


@functools.lru_cache(maxsize=16384)
def _strings(raw: str) -> tuple[str, ...]:
    """A stored JSON list of strings (most are "[]" or repeat): parsed once per text."""
    return tuple(json.loads(raw))


@functools.lru_cache(maxsize=16384)
def _contacts(raw: str) -> tuple[Contact, ...]:
    return tuple(Contact(**c) for c in json.loads(raw))


@functools.lru_cache(maxsize=1024)
def _eligibility(types: int, sizes: int, stages: int) -> Eligibility:
    return Eligibility(unmask(types), unmask(sizes), unmask(stages))


# The columns a read returns, in a fixed order (the search-only text columns left out):
# rows are unpacked by position, which costs a fraction of building them by name.
INSTITUTION_NAMES = (
    "institution_id", "owning_node", "name", "description", "tier", "region_code",
    "service_area", "contacts", "ipc_fields", "monthly_capacity", "status", "approved_by",
    "approved_at", "created_at", "updated_at", "is_example", "revision", "status_changed_by",
    "status_changed_at", "status_reason",
)  # fmt: skip
ITEM_NAMES = (
    "item_id", "version", "institution_id", "owning_node", "service_code", "name",
    "description", "category", "channel", "cost_class", "types_mask", "sizes_mask",
    "stages_mask", "processing_days", "required_materials", "is_example", "created_at",
    "created_by", "is_current", "inst_status",
)  # fmt: skip


def _row_to_institution(row: Sequence[Any]) -> Institution:
    """An institution from a row of the INSTITUTION_NAMES columns, in that order."""
    (
        institution_id, owning_node, name, description, tier, region_code, service_area,
        contacts, ipc_fields, monthly_capacity, status, approved_by, approved_at, created_at,
        updated_at, is_example, revision, status_changed_by, status_changed_at, status_reason,
    ) = row[:20]  # fmt: skip
    return Institution(
        institution_id=institution_id,
        owning_node=owning_node,
        name=name,
        description=description,
        tier=_TIERS.get(tier) or Tier(tier),
        region_code=region_code,
        service_area=_strings(service_area),
        contacts=_contacts(contacts),
        ipc_fields=_strings(ipc_fields),
        monthly_capacity=monthly_capacity,
        status=_STATUSES.get(status) or Status(status),
        approved_by=approved_by,
        approved_at=aware_or_none(approved_at),
        created_at=aware_or_none(created_at),
        updated_at=aware_or_none(updated_at),
        is_example=is_example,
        revision=revision,
        status_changed_by=status_changed_by,
        status_changed_at=aware_or_none(status_changed_at),
        status_reason=status_reason,
    )


def institution_values(i: Institution) -> dict[str, Any]:
    return {
        "institution_id": i.institution_id,
        "owning_node": i.owning_node,
        "name": i.name,
        "description": i.description,
        "tier": int(i.tier),
        "region_code": i.region_code,
        "service_area": json.dumps(list(i.service_area)),
        "contacts": json.dumps([c.__dict__ for c in i.contacts], ensure_ascii=False),
        "ipc_fields": json.dumps(list(i.ipc_fields)),
        "monthly_capacity": i.monthly_capacity,
        "status": int(i.status),
        "approved_by": i.approved_by,
        "approved_at": i.approved_at,
        "created_at": i.created_at,
        "updated_at": i.updated_at,
        "is_example": i.is_example,
        "revision": i.revision,
        "status_changed_by": i.status_changed_by,
        "status_changed_at": i.status_changed_at,
        "status_reason": i.status_reason,
        "search_text": search_text(i.name, i.description),
        "search_bigrams": search_bigrams(i.name, i.description),
    }


def item_values(i: ServiceItem, inst_status: int, inst_tier: int) -> dict[str, Any]:
    return {
        "inst_status": inst_status,
        "inst_tier": inst_tier,
        "item_id": i.item_id,
        "version": i.version,
        "institution_id": i.institution_id,
        "owning_node": i.owning_node,
        "service_code": i.service_code,
        "name": i.name,
        "description": i.description,
        "category": int(i.category),
        "channel": int(i.channel),
        "cost_class": int(i.cost_class),
        "types_mask": mask(i.eligibility.innovator_types),
        "sizes_mask": mask(i.eligibility.enterprise_sizes),
        "stages_mask": mask(i.eligibility.stages),
        "processing_days": i.processing_days,
        "required_materials": json.dumps(list(i.required_materials), ensure_ascii=False),
        "is_example": i.is_example,
        "created_at": i.created_at,
        "created_by": i.created_by,
        "is_current": i.is_current,
        "search_text": search_text(i.name, i.description),
        "search_bigrams": search_bigrams(i.name, i.description),
    }


def _row_to_item(row: Sequence[Any]) -> ServiceItem:
    """An item from a row of the ITEM_NAMES columns, in that order."""
    (
        item_id, version, institution_id, owning_node, service_code, name, description,
        category, channel, cost_class, types_mask, sizes_mask, stages_mask, processing_days,
        required_materials, is_example, created_at, created_by, is_current, inst_status,
    ) = row[:20]  # fmt: skip
    return ServiceItem(
        item_id=item_id,
        version=version,
        institution_id=institution_id,
        owning_node=owning_node,
        service_code=service_code,
        name=name,
        description=description,
        category=_CATEGORIES.get(category) or Category(category),
        channel=_CHANNELS.get(channel) or Channel(channel),
        cost_class=_COSTS.get(cost_class) or CostClass(cost_class),
        eligibility=_eligibility(types_mask, sizes_mask, stages_mask),
        processing_days=processing_days,
        required_materials=_strings(required_materials),
        is_example=is_example,
        created_at=aware_or_none(created_at),
        created_by=created_by,
        is_current=is_current,
        institution_status=(_STATUSES.get(inst_status) or Status(inst_status))
        if inst_status
        else Status.PENDING,
    )


def region_rows(i: Institution) -> list[dict[str, str]]:
    return [
        {"region_code": code, "institution_id": i.institution_id}
        for code in sorted(search_regions(i))
    ]


# --------------------------------------------------------------------------- shared filters

t = institutions
a = institution_areas
p = institution_ipc
r = institution_regions
s = service_items
T_COLS = tuple(t.c[n] for n in INSTITUTION_NAMES)
S_COLS = tuple(s.c[n] for n in ITEM_NAMES)
# The hot read by primary key, compiled once (see _fetch).
_GET_INSTITUTION = select(*T_COLS).where(
    t.c.institution_id == bindparam("institution_id", type_=String)
)
