"""Catalog domain: institutions, service items, search rules and matching. No proto, no SQL.

Split by aggregate: `common` (enums, regions, who may do what), `institutions`, `items`,
`match`; `ports` holds the unit of work. `Catalog` is the use-case object the servicer calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from puhui.catalog.domain.common import (
    CATEGORY_LABEL,
    HUB,
    MAX_DESCRIPTION,
    MAX_LIST,
    MAX_NAME,
    NATIONAL_ADMIN,
    NATIONAL_DESIGNATIONS,
    NODE_SERVICE,
    PROVINCE_ADMIN,
    STAFF,
    STAGE_NEEDS,
    STANDARD_SERVICES,
    Caller,
    Category,
    Channel,
    CostClass,
    EnterpriseSize,
    EventSink,
    InnovatorType,
    RegionFilter,
    Stage,
    Status,
    Tier,
    Visibility,
    can_change_status,
    can_change_tier,
    can_create_institution,
    can_edit_items,
    can_read_institution,
    can_update_institution,
    is_node_admin,
    is_staff_of,
    page_key,
    region_filter,
    staff_of,
    validate_ipc_prefix,
    visibility,
)
from puhui.catalog.domain.institutions import (
    TRANSITIONS,
    Contact,
    Institution,
    InstitutionCases,
    InstitutionQuery,
    InstitutionRepository,
    NewInstitution,
    search_regions,
    transition,
    validate_institution,
)
from puhui.catalog.domain.items import (
    Eligibility,
    ItemCases,
    ItemQuery,
    NewServiceItem,
    ServiceItem,
    ServiceItemRepository,
    validate_item,
)
from puhui.catalog.domain.match import (
    PER_INSTITUTION,
    Match,
    MatchCandidates,
    MatchCases,
    Profile,
    nearness,
    rank,
    score_match,
    validate_profile,
    wanted_categories,
)
from puhui.catalog.domain.ports import Reads, Transaction, UnitOfWork
from puhui.kit.ids import new_id as _new_id
from puhui.kit.times import utcnow as _utcnow
from puhui.refdata.divisions import region_prefix


@dataclass
class Catalog(InstitutionCases, ItemCases, MatchCases):
    """The catalog's use cases. `uow` gives each one its transaction (repositories and event
    sink); Match reads its candidates through `match_reads`."""

    node: str
    uow: UnitOfWork
    match_reads: MatchCandidates
    clock: Callable[[], datetime] = _utcnow
    new_id: Callable[[], str] = _new_id
    match_candidates: int = 60


__all__ = [
    "CATEGORY_LABEL",
    "HUB",
    "MAX_DESCRIPTION",
    "MAX_LIST",
    "MAX_NAME",
    "NATIONAL_ADMIN",
    "NATIONAL_DESIGNATIONS",
    "NODE_SERVICE",
    "PER_INSTITUTION",
    "PROVINCE_ADMIN",
    "STAFF",
    "STAGE_NEEDS",
    "STANDARD_SERVICES",
    "TRANSITIONS",
    "Caller",
    "Catalog",
    "Category",
    "Channel",
    "Contact",
    "CostClass",
    "Eligibility",
    "EnterpriseSize",
    "EventSink",
    "InnovatorType",
    "Institution",
    "InstitutionCases",
    "InstitutionQuery",
    "InstitutionRepository",
    "ItemCases",
    "ItemQuery",
    "Match",
    "MatchCandidates",
    "MatchCases",
    "NewInstitution",
    "NewServiceItem",
    "Profile",
    "Reads",
    "RegionFilter",
    "ServiceItem",
    "ServiceItemRepository",
    "Stage",
    "Status",
    "Tier",
    "Transaction",
    "UnitOfWork",
    "Visibility",
    "can_change_status",
    "can_change_tier",
    "can_create_institution",
    "can_edit_items",
    "can_read_institution",
    "can_update_institution",
    "is_node_admin",
    "is_staff_of",
    "nearness",
    "page_key",
    "rank",
    "region_filter",
    "region_prefix",
    "score_match",
    "search_regions",
    "staff_of",
    "transition",
    "validate_institution",
    "validate_ipc_prefix",
    "validate_item",
    "validate_profile",
    "visibility",
    "wanted_categories",
]
