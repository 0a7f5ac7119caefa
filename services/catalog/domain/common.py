"""Catalog domain, shared by its aggregates: enums, standard services, regions, who may
do what, and the validation helpers. No proto, no SQL."""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn, Protocol

from puhui.catalog import matchtexts as texts
from puhui.catalog.errors import NotAllowed
from puhui.kit.errors import Violations
from puhui.refdata import divisions, ipc

if TYPE_CHECKING:
    from puhui.catalog.domain.institutions import Institution
    from puhui.catalog.domain.items import ServiceItem

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


@functools.lru_cache(maxsize=4096)
def region_filter(code: str) -> RegionFilter:
    """A region search finds institutions located in or under the region, and those whose
    service area names the region, one of its ancestors (a province-wide area covers its
    cities) or a division under it (a county served is part of the city)."""
    full = divisions.normalise_code(code)
    covering = (*(d.code for d in divisions.ancestors(full)), full)
    return RegionFilter(code=full, prefix=divisions.region_prefix(full), covering=covering)


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

    @property
    def role_scopes(self) -> tuple[tuple[str, str], ...]: ...


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


def staff_of(p: Caller) -> list[str]:
    """The institutions `p` is staff of."""
    return [scope for role, scope in p.role_scopes if role == STAFF]


def page_key(name: str, ident: str) -> str:
    """Searches list in (name, id) order; a page token carries this key of its last entry."""
    return f"{name}\x00{ident}"


def _deny(what: str) -> NoReturn:
    raise NotAllowed(what)


# --------------------------------------------------------------------------- status machine


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
