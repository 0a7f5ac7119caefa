"""Catalog domain: institutions, service items, search rules and matching. No proto, no SQL."""

from __future__ import annotations

import enum
import functools
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import NoReturn, Protocol

from puhui.catalog import matchtexts as texts
from puhui.catalog.errors import InstitutionNotFound, NotAllowed, ServiceItemNotFound
from puhui.kit.errors import Aborted, FailedPrecondition, InvalidArgument, Violations
from puhui.kit.pagination import Page
from puhui.refdata import divisions, ipc

logger = logging.getLogger(__name__)

MAX_NAME = 200
MAX_DESCRIPTION = 4000
MAX_LIST = 50
HUB = "000000"


def _province(code: str) -> str:
    province = divisions.province_of(code)
    return province.code if province is not None else ""


class Tier(enum.IntEnum):
    NATIONAL = 1
    PROVINCIAL_BACKBONE = 2
    PREFECTURE_CENTRE = 3
    TISC = 4
    UNIVERSITY_CENTRE = 5
    KEY_NETWORK_OUTLET = 6
    MARKET_PROVIDER = 7


# Tiers that are national designations: only a national admin approves them.
NATIONAL_DESIGNATIONS = frozenset({Tier.TISC, Tier.UNIVERSITY_CENTRE})


class Status(enum.IntEnum):
    PENDING = 1
    APPROVED = 2
    SUSPENDED = 3
    RETIRED = 4


class Category(enum.IntEnum):
    PATENT_SEARCH = 1
    PATENT_ANALYSIS = 2
    TRADEMARK_GI_CONSULTATION = 3
    RIGHTS_PROTECTION = 4
    IP_OPERATIONS = 5
    TRAINING = 6
    POLICY_CONSULTATION = 7
    IC_LAYOUT_CONSULTATION = 8


class Channel(enum.IntEnum):
    ONLINE = 1
    ON_SITE = 2
    BOTH = 3


class CostClass(enum.IntEnum):
    FREE = 1
    PUBLIC_INTEREST = 2
    PAID = 3


class InnovatorType(enum.IntEnum):
    INDIVIDUAL = 1
    ENTERPRISE = 2
    UNIVERSITY = 3
    RESEARCH_INSTITUTE = 4


class EnterpriseSize(enum.IntEnum):
    MICRO = 1
    SMALL = 2
    MEDIUM = 3
    LARGE = 4


class Stage(enum.IntEnum):
    IDEA = 1
    RND = 2
    FILING = 3
    GRANTED = 4
    COMMERCIALISATION = 5
    DISPUTE = 6


# The standard service codes: the same code means the same service in every province.
# code -> (category, standard name)
STANDARD_SERVICES: dict[str, tuple[Category, str]] = {
    "PS-01": (Category.PATENT_SEARCH, "专利检索"),
    "PS-02": (Category.PATENT_SEARCH, "查新检索"),
    "PS-03": (Category.PATENT_SEARCH, "专利法律状态查询"),
    "PA-01": (Category.PATENT_ANALYSIS, "专利导航分析"),
    "PA-02": (Category.PATENT_ANALYSIS, "专利分析评议"),
    "PA-03": (Category.PATENT_ANALYSIS, "产业专利预警"),
    "TM-01": (Category.TRADEMARK_GI_CONSULTATION, "商标注册咨询"),
    "TM-02": (Category.TRADEMARK_GI_CONSULTATION, "地理标志咨询"),
    "RP-01": (Category.RIGHTS_PROTECTION, "维权援助指导"),
    "RP-02": (Category.RIGHTS_PROTECTION, "海外知识产权纠纷应对指导"),
    "OP-01": (Category.IP_OPERATIONS, "知识产权转移转化"),
    "OP-02": (Category.IP_OPERATIONS, "知识产权质押融资对接"),
    "TR-01": (Category.TRAINING, "知识产权培训"),
    "PC-01": (Category.POLICY_CONSULTATION, "政策咨询"),
    "PC-02": (Category.POLICY_CONSULTATION, "专利申请前评估咨询"),
    "IC-01": (Category.IC_LAYOUT_CONSULTATION, "集成电路布图设计咨询"),
}

CATEGORY_LABEL = {c: texts.CATEGORY[c][1] for c in Category}  # English, for error texts
# What an innovator at each stage usually needs, when they state no needs.
STAGE_NEEDS: dict[Stage, tuple[Category, ...]] = {
    Stage.IDEA: (Category.PATENT_SEARCH, Category.POLICY_CONSULTATION, Category.TRAINING),
    Stage.RND: (Category.PATENT_SEARCH, Category.PATENT_ANALYSIS),
    Stage.FILING: (Category.PATENT_SEARCH, Category.POLICY_CONSULTATION),
    Stage.GRANTED: (Category.IP_OPERATIONS, Category.PATENT_ANALYSIS),
    Stage.COMMERCIALISATION: (Category.IP_OPERATIONS, Category.TRADEMARK_GI_CONSULTATION),
    Stage.DISPUTE: (Category.RIGHTS_PROTECTION,),
}

_SERVICE_CODE_RE = re.compile(r"^[A-Z]{2}-[0-9]{2}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_RE = re.compile(r"^[0-9+\-() ]{5,30}$")


# --------------------------------------------------------------------------- entities


@dataclass(frozen=True)
class Contact:
    name: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""


@dataclass(frozen=True)
class Institution:
    institution_id: str
    owning_node: str
    name: str
    tier: Tier
    region_code: str
    description: str = ""
    service_area: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()
    ipc_fields: tuple[str, ...] = ()
    monthly_capacity: int = 0
    status: Status = Status.PENDING
    approved_by: str = ""
    approved_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    is_example: bool = False
    revision: int = 1
    status_changed_by: str = ""
    status_changed_at: datetime | None = None
    status_reason: str = ""


@dataclass(frozen=True)
class NewInstitution:
    """What a caller supplies for a create or an update (the editable fields)."""

    name: str
    tier: int
    region_code: str
    description: str = ""
    service_area: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()
    ipc_fields: tuple[str, ...] = ()
    monthly_capacity: int = 0
    is_example: bool = False


@dataclass(frozen=True)
class Eligibility:
    """Empty tuple = no restriction."""

    innovator_types: tuple[int, ...] = ()
    enterprise_sizes: tuple[int, ...] = ()
    stages: tuple[int, ...] = ()


@dataclass(frozen=True)
class ServiceItem:
    item_id: str
    version: int
    institution_id: str
    owning_node: str
    service_code: str
    name: str
    category: Category
    channel: Channel
    cost_class: CostClass
    description: str = ""
    eligibility: Eligibility = Eligibility()
    processing_days: int = 0
    required_materials: tuple[str, ...] = ()
    is_example: bool = False
    created_at: datetime | None = None
    created_by: str = ""
    is_current: bool = True
    # The offering institution's status (stored with the item; public while approved).
    institution_status: Status = Status.PENDING


@dataclass(frozen=True)
class NewServiceItem:
    institution_id: str
    service_code: str
    name: str
    category: int
    channel: int
    cost_class: int
    description: str = ""
    eligibility: Eligibility = Eligibility()
    processing_days: int = 0
    required_materials: tuple[str, ...] = ()
    is_example: bool = False


# --------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class Visibility:
    """What non-approved entries a caller may see: all of them, or their own institutions'."""

    all: bool = False
    institution_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegionFilter:
    """Located in or under `prefix`, or serving one of `covering` or a code under `prefix`."""

    code: str
    prefix: str
    covering: tuple[str, ...]


def region_prefix(code: str) -> str:
    """440000 → "44", 440300 → "4403", 440305 → "440305": codes under a division share it."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


@functools.lru_cache(maxsize=4096)
def region_filter(code: str) -> RegionFilter:
    """A region search finds institutions located in or under the region, and those whose
    service area names the region, one of its ancestors (a province-wide area covers its
    cities) or a division under it (a county served is part of the city)."""
    full = divisions.normalise_code(code)
    covering = (*(d.code for d in divisions.ancestors(full)), full)
    return RegionFilter(code=full, prefix=region_prefix(full), covering=covering)


def search_regions(inst: Institution) -> frozenset[str]:
    """Every region code whose search finds `inst` (see `region_filter`), precomputed so a
    region search is one indexed equality: its location and the divisions above it; each
    service-area code, the divisions above it and the divisions under it."""
    codes: set[str] = set()
    for code in (inst.region_code, *inst.service_area):
        if not divisions.is_valid(code):
            continue
        codes.add(code)
        codes.update(a.code for a in divisions.ancestors(code))
    for code in inst.service_area:
        if divisions.is_valid(code):
            codes.update(c.code for c in divisions.descendants(code))
    return frozenset(codes)


@dataclass(frozen=True)
class InstitutionQuery:
    text: str = ""
    region_code: str = ""
    tiers: tuple[int, ...] = ()
    statuses: tuple[int, ...] = ()
    ipc_prefix: str = ""
    category: int = 0
    visibility: Visibility = Visibility()

    def filters(self) -> dict[str, object]:
        return {
            "text": self.text,
            "region": self.region_code,
            "tiers": sorted(self.tiers),
            "statuses": sorted(self.statuses),
            "ipc": self.ipc_prefix,
            "category": self.category,
        }

    @property
    def region(self) -> RegionFilter | None:
        return region_filter(self.region_code) if self.region_code else None


@dataclass(frozen=True)
class ItemQuery:
    text: str = ""
    region_code: str = ""
    categories: tuple[int, ...] = ()
    institution_id: str = ""
    channel: int = 0
    cost_class: int = 0
    ipc_prefix: str = ""
    tiers: tuple[int, ...] = ()
    service_code: str = ""
    visibility: Visibility = Visibility()

    def filters(self) -> dict[str, object]:
        return {
            "text": self.text,
            "region": self.region_code,
            "categories": sorted(self.categories),
            "institution": self.institution_id,
            "channel": self.channel,
            "cost": self.cost_class,
            "ipc": self.ipc_prefix,
            "tiers": sorted(self.tiers),
            "code": self.service_code,
        }

    @property
    def region(self) -> RegionFilter | None:
        return region_filter(self.region_code) if self.region_code else None


@dataclass(frozen=True)
class Profile:
    region_code: str
    innovator_type: int = 0
    enterprise_size: int = 0
    stage: int = 0
    ipc_fields: tuple[str, ...] = ()
    needs: tuple[int, ...] = ()
    needs_text: str = ""


@dataclass(frozen=True)
class Match:
    item: ServiceItem
    institution: Institution
    score: float
    reasons: tuple[str, ...]
    gaps: tuple[str, ...]
    nearness: int


# --------------------------------------------------------------------------- ports


class InstitutionRepository(Protocol):
    """What the domain needs from storage; adapters/db.py implements it."""

    def next_id(self, node: str) -> str: ...

    def add(self, institution: Institution) -> None: ...

    def get(self, institution_id: str, *, for_update: bool = False) -> Institution | None: ...

    def replace(self, institution: Institution) -> None: ...

    def search(self, query: InstitutionQuery, page: Page) -> tuple[list[Institution], int]: ...


class ServiceItemRepository(Protocol):
    def add_version(self, item: ServiceItem) -> None:
        """Store a version and make it the item's current one."""

    def get(
        self, item_id: str, version: int = 0, *, for_update: bool = False
    ) -> ServiceItem | None: ...

    def versions(self, item_id: str, page: Page) -> tuple[list[ServiceItem], int]: ...

    def current_of(self, institution_id: str) -> list[ServiceItem]:
        """The current version of every item of an institution."""

    def search(self, query: ItemQuery, page: Page) -> tuple[list[ServiceItem], int]: ...

    def match_candidates(
        self, profile: Profile, categories: tuple[int, ...], limit: int, results: int = 0
    ) -> list[tuple[ServiceItem, Institution]]:
        """At most `limit` candidates; those that cannot be among `results` ranked matches
        (`rank`) may be left out (0: none is)."""
        ...


class MatchCandidates(Protocol):
    def match_candidates(
        self, profile: Profile, categories: tuple[int, ...], limit: int, results: int = 0
    ) -> list[tuple[ServiceItem, Institution]]: ...


class EventSink(Protocol):
    def institution_changed(self, change: str, institution: Institution) -> None: ...

    def item_changed(self, change: str, item: ServiceItem) -> None: ...


# --------------------------------------------------------------------------- authorisation
# Pure functions of (principal, entity, node): table-tested in tests/unit/test_policy.py.


class Caller(Protocol):
    """The part of puhui.kit.auth.Principal the rules read."""

    @property
    def subject(self) -> str: ...

    @property
    def is_anonymous(self) -> bool: ...

    def has_role(self, role: str, scope: str | None = None) -> bool: ...


PROVINCE_ADMIN = "province_admin"
NATIONAL_ADMIN = "national_admin"
STAFF = "institution_staff"
NODE_SERVICE = "node_service"


def is_node_admin(p: Caller, node: str) -> bool:
    """A province admin of `node`; on the hub, a national admin."""
    if p.has_role(PROVINCE_ADMIN, node):
        return True
    return node == HUB and p.has_role(NATIONAL_ADMIN)


def is_staff_of(p: Caller, institution_id: str) -> bool:
    return p.has_role(STAFF, institution_id)


def can_create_institution(p: Caller, node: str) -> bool:
    return is_node_admin(p, node)


def can_update_institution(p: Caller, inst: Institution) -> bool:
    return is_node_admin(p, inst.owning_node) or is_staff_of(p, inst.institution_id)


def can_change_tier(p: Caller, inst: Institution) -> bool:
    return is_node_admin(p, inst.owning_node)


def can_change_status(p: Caller, inst: Institution) -> bool:
    """Approve/suspend/retire: national designations need a national admin; others a
    province admin of the owning node."""
    if inst.tier in NATIONAL_DESIGNATIONS:
        return p.has_role(NATIONAL_ADMIN)
    return is_node_admin(p, inst.owning_node)


def can_read_institution(p: Caller, inst: Institution) -> bool:
    if inst.status == Status.APPROVED:
        return True
    return (
        is_node_admin(p, inst.owning_node)
        or p.has_role(NATIONAL_ADMIN)
        or p.has_role(NODE_SERVICE)
        or is_staff_of(p, inst.institution_id)
    )


def can_edit_items(p: Caller, inst: Institution) -> bool:
    return is_node_admin(p, inst.owning_node) or is_staff_of(p, inst.institution_id)


def visibility(p: Caller, node: str, staff_of: Sequence[str]) -> Visibility:
    """What non-approved entries of `node` a caller's searches include."""
    if is_node_admin(p, node) or p.has_role(NATIONAL_ADMIN) or p.has_role(NODE_SERVICE):
        return Visibility(all=True)
    return Visibility(all=False, institution_ids=tuple(sorted(staff_of)))


def _deny(what: str) -> NoReturn:
    raise NotAllowed(what)


# --------------------------------------------------------------------------- status machine

TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "approved": (frozenset({Status.PENDING, Status.SUSPENDED}), Status.APPROVED),
    "suspended": (frozenset({Status.APPROVED}), Status.SUSPENDED),
    "retired": (frozenset({Status.PENDING, Status.APPROVED, Status.SUSPENDED}), Status.RETIRED),
}


def transition(
    inst: Institution, change: str, actor: str, reason: str, now: datetime
) -> Institution:
    allowed, target = TRANSITIONS[change]
    if inst.status not in allowed:
        raise FailedPrecondition(
            f"institution {inst.institution_id} is {inst.status.name.lower()}; "
            f"cannot become {change}"
        )
    out = replace(
        inst,
        status=target,
        status_changed_by=actor,
        status_changed_at=now,
        status_reason=reason,
        updated_at=now,
        revision=inst.revision + 1,
    )
    if target == Status.APPROVED:
        out = replace(out, approved_by=actor, approved_at=now)
    return out


# --------------------------------------------------------------------------- validation


def _enum_ok(value: int, kind: type[enum.IntEnum]) -> bool:
    return value in _enum_values(kind)


@functools.cache
def _enum_values(kind: type[enum.IntEnum]) -> frozenset[int]:
    return frozenset(m.value for m in kind)


def _ipc_list(v: Violations, symbols: Sequence[str], path: str) -> tuple[str, ...]:
    fields: list[str] = []
    v.check(len(symbols) <= MAX_LIST, path, f"at most {MAX_LIST} entries")
    for i, symbol in enumerate(symbols):
        try:
            canonical = ipc.normalise(symbol)
        except ValueError:
            canonical = ""
        if (
            v.check(
                bool(canonical) and ipc.is_valid(canonical),
                f"{path}[{i}]",
                f"{symbol!r} is not an IPC symbol",
            )
            and canonical not in fields
        ):
            fields.append(canonical)
    return tuple(fields)


def validate_ipc_prefix(v: Violations, prefix: str, path: str) -> str:
    if not prefix.strip():
        return ""
    try:
        canonical = ipc.normalise(prefix)
    except ValueError:
        canonical = ""
    v.check(bool(canonical) and ipc.is_valid(canonical), path, f"{prefix!r} is not an IPC symbol")
    return canonical


def _region(v: Violations, code: str, path: str, node: str, *, required: bool) -> str:
    code = code.strip()
    if not code:
        if required:
            v.require(code, path)
        return ""
    if not v.check(divisions.is_valid(code), path, f"{code!r} is not a GB/T 2260 division code"):
        return code
    full = divisions.normalise_code(code)
    if node != HUB:
        v.check(_province(full) == node, path, f"must lie in this node's province {node}")
    return full


def validate_institution(new: NewInstitution, node: str) -> NewInstitution:
    v = Violations()
    name = new.name.strip()
    v.require(name, "institution.name")
    v.check(len(name) <= MAX_NAME, "institution.name", f"at most {MAX_NAME} characters")
    v.check(
        len(new.description) <= MAX_DESCRIPTION,
        "institution.description",
        f"at most {MAX_DESCRIPTION} characters",
    )
    v.check(_enum_ok(new.tier, Tier), "institution.tier", "must be a known tier")
    if new.tier == Tier.NATIONAL:
        v.check(node == HUB, "institution.tier", "national institutions belong to the hub 000000")
    region = _region(v, new.region_code, "institution.region_code", node, required=True)
    area: list[str] = []
    v.check(
        len(new.service_area) <= MAX_LIST, "institution.service_area", f"at most {MAX_LIST} regions"
    )
    for i, code in enumerate(new.service_area):
        full = _region(v, code, f"institution.service_area[{i}]", node, required=True)
        if full and full not in area:
            area.append(full)
    v.check(len(new.contacts) <= 10, "institution.contacts", "at most 10 contacts")
    for i, c in enumerate(new.contacts):
        path = f"institution.contacts[{i}]"
        v.check(bool(c.name.strip()), f"{path}.name", "is required")
        v.check(bool(c.phone or c.email), path, "needs a phone or an email")
        if c.email:
            v.check(bool(_EMAIL_RE.fullmatch(c.email)), f"{path}.email", "is not an email address")
        if c.phone:
            v.check(bool(_PHONE_RE.fullmatch(c.phone)), f"{path}.phone", "is not a phone number")
    fields = _ipc_list(v, new.ipc_fields, "institution.ipc_fields")
    v.check(new.monthly_capacity >= 0, "institution.monthly_capacity", "must not be negative")
    v.raise_if_any()
    return replace(
        new,
        name=name,
        region_code=region,
        service_area=tuple(area),
        ipc_fields=fields,
        contacts=tuple(replace(c, name=c.name.strip()) for c in new.contacts),
    )


def validate_item(new: NewServiceItem) -> NewServiceItem:
    v = Violations()
    v.require(new.institution_id, "item.institution_id")
    name = new.name.strip()
    v.require(name, "item.name")
    v.check(len(name) <= MAX_NAME, "item.name", f"at most {MAX_NAME} characters")
    v.check(
        len(new.description) <= MAX_DESCRIPTION,
        "item.description",
        f"at most {MAX_DESCRIPTION} characters",
    )
    category_ok = v.check(
        _enum_ok(new.category, Category), "item.category", "must be a known category"
    )
    code = new.service_code.strip().upper()
    if (
        v.require(code, "item.service_code")
        and v.check(
            bool(_SERVICE_CODE_RE.fullmatch(code)) and code in STANDARD_SERVICES,
            "item.service_code",
            f"{new.service_code!r} is not a standard service code "
            f"({', '.join(sorted(STANDARD_SERVICES))})",
        )
        and category_ok
    ):
        standard = STANDARD_SERVICES[code][0]
        v.check(
            standard == new.category,
            "item.category",
            f"service code {code} is in category {CATEGORY_LABEL[standard]}",
        )
    v.check(_enum_ok(new.channel, Channel), "item.channel", "must be online, on-site or both")
    v.check(
        _enum_ok(new.cost_class, CostClass),
        "item.cost_class",
        "must be free, public-interest or paid",
    )
    v.check(0 < new.processing_days <= 365, "item.processing_days", "must be 1 to 365 working days")
    e = new.eligibility
    for i, t in enumerate(e.innovator_types):
        v.check(
            _enum_ok(t, InnovatorType),
            f"item.eligibility.innovator_types[{i}]",
            "unknown innovator type",
        )
    for i, s in enumerate(e.enterprise_sizes):
        v.check(
            _enum_ok(s, EnterpriseSize), f"item.eligibility.enterprise_sizes[{i}]", "unknown size"
        )
    for i, s in enumerate(e.stages):
        v.check(_enum_ok(s, Stage), f"item.eligibility.stages[{i}]", "unknown stage")
    v.check(
        len(new.required_materials) <= MAX_LIST, "item.required_materials", f"at most {MAX_LIST}"
    )
    materials = tuple(m.strip() for m in new.required_materials)
    for i, m in enumerate(materials):
        v.check(0 < len(m) <= 200, f"item.required_materials[{i}]", "must be 1 to 200 characters")
    v.raise_if_any()
    return replace(
        new,
        name=name,
        service_code=code,
        required_materials=materials,
        eligibility=Eligibility(
            innovator_types=tuple(sorted(set(e.innovator_types))),
            enterprise_sizes=tuple(sorted(set(e.enterprise_sizes))),
            stages=tuple(sorted(set(e.stages))),
        ),
    )


# --------------------------------------------------------------------------- matching


def nearness(inst: Institution, profile_region: str) -> int | None:
    """0 county, 1 city, 2 province, 3 national for an institution whose location or service
    area covers the innovator's region; None if it does not serve it."""
    if inst.tier == Tier.NATIONAL:
        return 3
    covering = _covering(profile_region)
    serves = inst.region_code in covering or any(code in covering for code in inst.service_area)
    if not serves:
        return None
    return _division_nearness(inst.region_code)


@functools.lru_cache(maxsize=4096)
def _covering(profile_region: str) -> frozenset[str]:
    """The region codes whose institutions serve `profile_region` (refdata is immutable)."""
    if not divisions.is_valid(profile_region):
        return frozenset()
    return frozenset(region_filter(profile_region).covering)


@functools.lru_cache(maxsize=8192)
def _division_nearness(region_code: str) -> int:
    division = divisions.get(region_code)
    level = division.level if division is not None else "province"
    return {"county": 0, "city": 1, "province": 2}[level]


def _ipc_overlap(wanted: Sequence[str], offered: Sequence[str]) -> str:
    for w in wanted:
        for o in offered:
            a, b = w.replace(" ", ""), o.replace(" ", "")
            if a.startswith(b) or b.startswith(a):
                return o
    return ""


@functools.lru_cache(maxsize=4096)
def _capacity_score(capacity: int) -> float:
    return min(5.0, math.log10(1 + capacity) * 2)


def score_match(
    item: ServiceItem,
    inst: Institution,
    profile: Profile,
    wanted: tuple[int, ...],
    language: str = texts.DEFAULT,
) -> Match:
    """Score one candidate: reasons it fits, gaps (what the innovator lacks), nearness; the
    texts in `language` (puhui.catalog.matchtexts), built from the data, never an empty
    slot."""
    reasons: list[str] = []
    gaps: list[str] = []
    score = 0.0
    category = texts.label(texts.CATEGORY, item.category, language)
    asked = texts.asked_map(profile.needs_text)
    if item.category in profile.needs:
        score += 40
        reasons.append(texts.text("offers", language, category=category))
    elif item.category in asked:
        score += 40
        reasons.append(texts.text("asked", language, category=category, word=asked[item.category]))
    elif item.category in wanted:
        score += 25
        if _enum_ok(profile.stage, Stage):
            stage = texts.label(texts.STAGE, profile.stage, language)
            reasons.append(texts.text("suits_stage", language, category=category, stage=stage))
    near = nearness(inst, profile.region_code)
    if near is None:
        gaps.append(texts.text("outside_area", language))
        near = 4
    else:
        score += 20 - 4 * near
        reasons.append(
            texts.text("serves", language, region=_region_name(profile.region_code, language))
            if near < 3
            else texts.text("national", language)
        )
    e = item.eligibility
    if e.innovator_types and profile.innovator_type not in e.innovator_types:
        gaps.append(texts.listed("requires_type", "types", e.innovator_types, language))
    elif e.innovator_types:
        kind = texts.label(texts.INNOVATOR_TYPE, profile.innovator_type, language)
        reasons.append(texts.text("for_type", language, type=kind))
    if (
        e.enterprise_sizes
        and profile.innovator_type == InnovatorType.ENTERPRISE
        and profile.enterprise_size not in e.enterprise_sizes
    ):
        gaps.append(texts.listed("sizes_only", "sizes", e.enterprise_sizes, language))
    if e.stages and profile.stage not in e.stages:
        gaps.append(texts.listed("stages_only", "stages", e.stages, language))
    overlap = _ipc_overlap(profile.ipc_fields, inst.ipc_fields)
    if overlap:
        score += 15
        reasons.append(texts.text("ipc", language, ipc=overlap))
    if profile.needs_text:
        word = texts.mentioned(profile.needs_text, (item.name, item.description))
        if word:
            score += 10
            if word != asked.get(item.category):  # not the word the first reason quoted
                reasons.append(texts.text("mentions", language, word=word))
    if item.cost_class == CostClass.FREE:
        score += 5
        reasons.append(texts.text("free", language))
    elif item.cost_class == CostClass.PUBLIC_INTEREST:
        score += 3
        reasons.append(texts.text("public_interest", language))
    if inst.monthly_capacity <= 0:
        gaps.append(texts.text("no_capacity", language))
    else:
        score += _capacity_score(inst.monthly_capacity)
    score -= 30 * len(gaps)
    return Match(item, inst, round(score, 3), tuple(reasons), tuple(gaps), near)


@functools.lru_cache(maxsize=4096)
def _region_name(code: str, language: str) -> str:
    """ "440305" in English; "南山区（440305）" in Chinese (the division's name from GB/T 2260)."""
    division = divisions.get(code)
    if language == texts.EN or division is None:
        return code
    return f"{division.name}（{code}）"


# At most this many of one institution's items among a Match's results.
PER_INSTITUTION = 3


def rank(matches: Sequence[Match], limit: int) -> list[Match]:
    """Capable before incapable, then nearest tier, then score; ties by ids: deterministic.
    At most 3 items per institution, so one large centre does not take every slot."""
    ordered = sorted(
        matches,
        key=lambda m: (
            bool(m.gaps),
            m.nearness,
            -m.score,
            m.institution.institution_id,
            m.item.item_id,
        ),
    )
    out: list[Match] = []
    per_institution: dict[str, int] = {}
    for m in ordered:
        n = per_institution.get(m.institution.institution_id, 0)
        if n >= PER_INSTITUTION:
            continue
        per_institution[m.institution.institution_id] = n + 1
        out.append(m)
        if len(out) >= limit:
            break
    return out


def wanted_categories(profile: Profile) -> tuple[int, ...]:
    """The categories stated (needs) or named in the free text (needs_text), else those of
    the innovator's stage, else all."""
    asked = {category for category, _ in texts.asked(profile.needs_text)}
    if profile.needs or asked:
        return tuple(sorted(set(profile.needs) | asked))
    if _enum_ok(profile.stage, Stage):
        return tuple(sorted(int(c) for c in STAGE_NEEDS[Stage(profile.stage)]))
    return tuple(int(c) for c in Category)


def validate_profile(profile: Profile) -> Profile:
    v = Violations()
    region = profile.region_code.strip()
    if v.require(region, "profile.region_code"):
        v.check(
            divisions.is_valid(region),
            "profile.region_code",
            f"{region!r} is not a GB/T 2260 division code",
        )
    if profile.innovator_type:
        v.check(
            _enum_ok(profile.innovator_type, InnovatorType),
            "profile.innovator_type",
            "unknown type",
        )
    if profile.enterprise_size:
        v.check(
            _enum_ok(profile.enterprise_size, EnterpriseSize),
            "profile.enterprise_size",
            "unknown size",
        )
    if profile.stage:
        v.check(_enum_ok(profile.stage, Stage), "profile.stage", "unknown stage")
    for i, n in enumerate(profile.needs):
        v.check(_enum_ok(n, Category), f"profile.needs[{i}]", "unknown category")
    fields = _ipc_list(v, profile.ipc_fields, "profile.ipc_fields")
    v.check(len(profile.needs_text) <= 100, "profile.needs_text", "at most 100 characters")
    v.raise_if_any()
    return replace(
        profile,
        region_code=divisions.normalise_code(region),
        ipc_fields=fields,
        needs_text=profile.needs_text.strip(),
    )


# --------------------------------------------------------------------------- use cases


@dataclass
class Catalog:
    """Use cases. A unit of work supplies the repositories and the event sink of one transaction."""

    node: str
    match_candidates: int = 60

    # -- institutions ---------------------------------------------------------------------
    def validate_new(self, new: NewInstitution) -> NewInstitution:
        return validate_institution(new, self.node)

    def create_institution(
        self,
        repo: InstitutionRepository,
        sink: EventSink,
        new: NewInstitution,
        now: datetime,
        caller: Caller,
    ) -> Institution:
        if not can_create_institution(caller, self.node):
            _deny(f"only a province admin of node {self.node} creates its institutions")
        new = self.validate_new(new)
        institution = Institution(
            institution_id=repo.next_id(self.node),
            owning_node=self.node,
            name=new.name,
            tier=Tier(new.tier),
            region_code=new.region_code,
            description=new.description,
            service_area=new.service_area,
            contacts=new.contacts,
            ipc_fields=new.ipc_fields,
            monthly_capacity=new.monthly_capacity,
            status=Status.PENDING,
            created_at=now,
            updated_at=now,
            is_example=new.is_example,
        )
        repo.add(institution)
        sink.institution_changed("created", institution)
        return institution

    def get_institution(
        self, repo: InstitutionRepository, institution_id: str, caller: Caller
    ) -> Institution:
        v = Violations()
        v.require(institution_id, "institution_id")
        v.raise_if_any()
        found = repo.get(institution_id)
        if found is None or not can_read_institution(caller, found):
            # Unreadable pending entries are indistinguishable from absent ones.
            raise InstitutionNotFound(institution_id)
        return found

    def _writable(
        self, repo: InstitutionRepository, institution_id: str, caller: Caller
    ) -> Institution:
        v = Violations()
        v.require(institution_id, "institution.institution_id")
        v.raise_if_any()
        found = repo.get(institution_id, for_update=True)
        if found is None:
            raise InstitutionNotFound(institution_id)
        if found.owning_node != self.node:
            _deny(f"institution {institution_id} belongs to node {found.owning_node}")
        return found

    def update_institution(
        self,
        repo: InstitutionRepository,
        sink: EventSink,
        institution_id: str,
        new: NewInstitution,
        expected_revision: int,
        now: datetime,
        caller: Caller,
    ) -> Institution:
        current = self._writable(repo, institution_id, caller)
        if not can_update_institution(caller, current):
            _deny(f"not allowed to edit institution {institution_id}")
        new = self.validate_new(new)
        if new.tier != current.tier and not can_change_tier(caller, current):
            _deny("only a node admin changes an institution's tier")
        if expected_revision != current.revision:
            raise Aborted(
                f"institution {institution_id} is at revision {current.revision}, "
                f"not {expected_revision}"
            )
        updated = replace(
            current,
            name=new.name,
            tier=Tier(new.tier),
            region_code=new.region_code,
            description=new.description,
            service_area=new.service_area,
            contacts=new.contacts,
            ipc_fields=new.ipc_fields,
            monthly_capacity=new.monthly_capacity,
            updated_at=now,
            revision=current.revision + 1,
        )
        # A national designation gained after approval needs a national admin's approval.
        if (
            updated.tier in NATIONAL_DESIGNATIONS
            and current.tier not in NATIONAL_DESIGNATIONS
            and current.status == Status.APPROVED
            and not caller.has_role(NATIONAL_ADMIN)
        ):
            updated = replace(updated, status=Status.PENDING)
        repo.replace(updated)
        sink.institution_changed("updated", updated)
        return updated

    def change_status(
        self,
        repo: InstitutionRepository,
        sink: EventSink,
        institution_id: str,
        change: str,
        reason: str,
        now: datetime,
        caller: Caller,
        items: ServiceItemRepository | None = None,
    ) -> Institution:
        """Approve, suspend or retire; with `items`, each current item's event follows, so a
        catalog rebuilt from events knows which items are public."""
        v = Violations()
        v.check(len(reason) <= 500, "reason", "at most 500 characters")
        v.raise_if_any()
        current = self._writable(repo, institution_id, caller)
        if not can_change_status(caller, current):
            if current.tier in NATIONAL_DESIGNATIONS:
                _deny(f"{current.tier.name} is a national designation: a national admin decides")
            _deny(
                f"only a province admin of node {current.owning_node} decides on {institution_id}"
            )
        updated = transition(current, change, caller.subject, reason.strip(), now)
        repo.replace(updated)
        sink.institution_changed(change, updated)
        for item in items.current_of(institution_id) if items is not None else ():
            sink.item_changed(change, item)
        return updated

    def search_institutions(
        self, repo: InstitutionRepository, query: InstitutionQuery, page: Page
    ) -> tuple[list[Institution], int]:
        return repo.search(query, page)

    @staticmethod
    def validate_query(query: InstitutionQuery) -> InstitutionQuery:
        v = Violations()
        text = query.text.strip()
        v.check(len(text) <= 100, "query", "at most 100 characters")
        if query.region_code:
            v.check(
                divisions.is_valid(query.region_code),
                "region_code",
                "is not a GB/T 2260 division code",
            )
        for i, tier in enumerate(query.tiers):
            v.check(_enum_ok(tier, Tier), f"tiers[{i}]", "must be a known tier")
        for i, status in enumerate(query.statuses):
            v.check(_enum_ok(status, Status), f"statuses[{i}]", "must be a known status")
        if query.category:
            v.check(_enum_ok(query.category, Category), "category", "must be a known category")
        prefix = validate_ipc_prefix(v, query.ipc_prefix, "ipc_prefix")
        v.raise_if_any()
        region = divisions.normalise_code(query.region_code) if query.region_code else ""
        return replace(query, text=text, ipc_prefix=prefix, region_code=region)

    # -- service items ----------------------------------------------------------------------
    def create_item(
        self,
        institutions: InstitutionRepository,
        items: ServiceItemRepository,
        sink: EventSink,
        new: NewServiceItem,
        item_id: str,
        now: datetime,
        caller: Caller,
    ) -> ServiceItem:
        new = validate_item(new)
        inst = institutions.get(new.institution_id)
        if inst is None:
            raise InstitutionNotFound(new.institution_id)
        if inst.owning_node != self.node or not can_edit_items(caller, inst):
            _deny(f"not allowed to publish items of institution {inst.institution_id}")
        if inst.status == Status.RETIRED:
            raise FailedPrecondition(f"institution {inst.institution_id} is retired")
        item = self._item_from(new, item_id, 1, inst, now, caller)
        items.add_version(item)
        sink.item_changed("created", item)
        return item

    def update_item(
        self,
        institutions: InstitutionRepository,
        items: ServiceItemRepository,
        sink: EventSink,
        item_id: str,
        new: NewServiceItem,
        expected_version: int,
        now: datetime,
        caller: Caller,
    ) -> ServiceItem:
        v = Violations()
        v.require(item_id, "item.item_id")
        v.raise_if_any()
        current = items.get(item_id, for_update=True)
        if current is None:
            raise ServiceItemNotFound(item_id)
        new = validate_item(
            replace(new, institution_id=new.institution_id or current.institution_id)
        )
        if new.institution_id != current.institution_id:
            raise InvalidArgument.field(
                "item.institution_id", "an item cannot move to another institution"
            )
        inst = institutions.get(current.institution_id)
        if inst is None or inst.owning_node != self.node or not can_edit_items(caller, inst):
            _deny(f"not allowed to edit items of institution {current.institution_id}")
        if inst.status == Status.RETIRED:
            raise FailedPrecondition(f"institution {inst.institution_id} is retired")
        if expected_version != current.version:
            raise Aborted(f"item {item_id} is at version {current.version}, not {expected_version}")
        item = self._item_from(new, item_id, current.version + 1, inst, now, caller)
        items.add_version(item)
        sink.item_changed("versioned", item)
        return item

    def _item_from(
        self,
        new: NewServiceItem,
        item_id: str,
        version: int,
        inst: Institution,
        now: datetime,
        caller: Caller,
    ) -> ServiceItem:
        return ServiceItem(
            item_id=item_id,
            version=version,
            institution_id=inst.institution_id,
            owning_node=inst.owning_node,
            service_code=new.service_code,
            name=new.name,
            description=new.description,
            category=Category(new.category),
            channel=Channel(new.channel),
            cost_class=CostClass(new.cost_class),
            eligibility=new.eligibility,
            processing_days=new.processing_days,
            required_materials=new.required_materials,
            is_example=new.is_example,
            created_at=now,
            created_by=caller.subject,
            is_current=True,
            institution_status=inst.status,
        )

    def get_item(
        self,
        institutions: InstitutionRepository,
        items: ServiceItemRepository,
        item_id: str,
        version: int,
        caller: Caller,
    ) -> ServiceItem:
        v = Violations()
        v.require(item_id, "item_id")
        v.check(version >= 0, "version", "must not be negative")
        v.raise_if_any()
        item = items.get(item_id, version)
        if item is None:
            raise ServiceItemNotFound(item_id if not version else f"{item_id} v{version}")
        inst = institutions.get(item.institution_id)
        if inst is None or not can_read_institution(caller, inst):
            raise ServiceItemNotFound(item_id)
        return item

    def list_versions(
        self,
        institutions: InstitutionRepository,
        items: ServiceItemRepository,
        item_id: str,
        page: Page,
        caller: Caller,
    ) -> tuple[list[ServiceItem], int]:
        self.get_item(institutions, items, item_id, 0, caller)
        return items.versions(item_id, page)

    @staticmethod
    def validate_item_query(query: ItemQuery) -> ItemQuery:
        v = Violations()
        text = query.text.strip()
        v.check(len(text) <= 100, "query", "at most 100 characters")
        if query.region_code:
            v.check(
                divisions.is_valid(query.region_code),
                "region_code",
                "is not a GB/T 2260 division code",
            )
        for i, c in enumerate(query.categories):
            v.check(_enum_ok(c, Category), f"categories[{i}]", "must be a known category")
        for i, tier in enumerate(query.tiers):
            v.check(_enum_ok(tier, Tier), f"tiers[{i}]", "must be a known tier")
        if query.channel:
            v.check(_enum_ok(query.channel, Channel), "channel", "must be a known channel")
        if query.cost_class:
            v.check(
                _enum_ok(query.cost_class, CostClass), "cost_class", "must be a known cost class"
            )
        code = query.service_code.strip().upper()
        if code:
            v.check(code in STANDARD_SERVICES, "service_code", "is not a standard service code")
        prefix = validate_ipc_prefix(v, query.ipc_prefix, "ipc_prefix")
        v.raise_if_any()
        region = divisions.normalise_code(query.region_code) if query.region_code else ""
        return replace(query, text=text, ipc_prefix=prefix, region_code=region, service_code=code)

    # -- matching -------------------------------------------------------------------------
    def match(
        self,
        items: MatchCandidates,
        profile: Profile,
        max_results: int,
        language: str = texts.DEFAULT,
    ) -> list[Match]:
        profile = validate_profile(profile)
        v = Violations()
        v.check(0 <= max_results <= 100, "max_results", "must be 0 to 100")
        v.raise_if_any()
        wanted = wanted_categories(profile)
        results = max_results or 20
        candidates = items.match_candidates(profile, wanted, self.match_candidates, results)
        scored = [score_match(item, inst, profile, wanted, language) for item, inst in candidates]
        return rank(scored, results)
