"""Institutions: the entity, its status machine, its validation and its use cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from puhui.catalog.domain.common import (
    _EMAIL_RE,
    _PHONE_RE,
    HUB,
    MAX_DESCRIPTION,
    MAX_LIST,
    MAX_NAME,
    NATIONAL_ADMIN,
    NATIONAL_DESIGNATIONS,
    Caller,
    Category,
    RegionFilter,
    Status,
    Tier,
    Visibility,
    _deny,
    _enum_ok,
    _ipc_list,
    _region,
    can_change_status,
    can_change_tier,
    can_create_institution,
    can_read_institution,
    can_update_institution,
    page_key,
    region_filter,
    staff_of,
    validate_ipc_prefix,
    visibility,
)
from puhui.catalog.errors import InstitutionNotFound
from puhui.kit.errors import Aborted, FailedPrecondition, Violations
from puhui.kit.pagination import Page, page_request
from puhui.refdata import divisions

if TYPE_CHECKING:
    from puhui.catalog.domain.ports import UnitOfWork

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
    visibility: Visibility = field(default_factory=Visibility)

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


# --------------------------------------------------------------------------- ports


class InstitutionRepository(Protocol):
    """What the domain needs from storage; adapters/db.py implements it."""

    def next_id(self, node: str) -> str: ...

    def add(self, institution: Institution) -> None: ...

    def get(self, institution_id: str, *, for_update: bool = False) -> Institution | None: ...

    def replace(self, institution: Institution) -> None: ...

    def search(self, query: InstitutionQuery, page: Page) -> tuple[list[Institution], int]: ...


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


class InstitutionCases:
    """Use cases of the institution aggregate; each runs in one unit of work."""

    node: str
    uow: UnitOfWork
    clock: Callable[[], datetime]

    def validate_new(self, new: NewInstitution) -> NewInstitution:
        return validate_institution(new, self.node)

    def create_institution(self, new: NewInstitution, caller: Caller) -> Institution:
        if not can_create_institution(caller, self.node):
            _deny(f"only a province admin of node {self.node} creates its institutions")
        new = self.validate_new(new)  # rejected before a transaction opens
        now = self.clock()
        with self.uow.write() as tx:
            institution = Institution(
                institution_id=tx.institutions.next_id(self.node),
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
            tx.institutions.add(institution)
            tx.events.institution_changed("created", institution)
        return institution

    def get_institution(self, institution_id: str, caller: Caller) -> Institution:
        v = Violations()
        v.require(institution_id, "institution_id")
        v.raise_if_any()
        with self.uow.read() as reads:
            found = reads.institutions.get(institution_id)
        if found is None or not can_read_institution(caller, found):
            # Unreadable pending entries are indistinguishable from absent ones.
            raise InstitutionNotFound(institution_id)
        return found

    def _writable(
        self, repo: InstitutionRepository, institution_id: str, caller: Caller
    ) -> Institution:
        found = repo.get(institution_id, for_update=True)
        if found is None:
            raise InstitutionNotFound(institution_id)
        if found.owning_node != self.node:
            _deny(f"institution {institution_id} belongs to node {found.owning_node}")
        return found

    def update_institution(
        self,
        institution_id: str,
        new: NewInstitution,
        expected_revision: int,
        caller: Caller,
    ) -> Institution:
        v = Violations()
        v.require(institution_id, "institution.institution_id")
        v.raise_if_any()
        now = self.clock()
        with self.uow.write() as tx:
            current = self._writable(tx.institutions, institution_id, caller)
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
            tx.institutions.replace(updated)
            tx.events.institution_changed("updated", updated)
        return updated

    def change_status(
        self, institution_id: str, change: str, reason: str, caller: Caller
    ) -> Institution:
        """Approve, suspend or retire; each current item's event follows, so a catalog
        rebuilt from events knows which items are public."""
        v = Violations()
        v.check(len(reason) <= 500, "reason", "at most 500 characters")
        v.raise_if_any()
        v.require(institution_id, "institution.institution_id")
        v.raise_if_any()
        now = self.clock()
        with self.uow.write() as tx:
            current = self._writable(tx.institutions, institution_id, caller)
            if not can_change_status(caller, current):
                if current.tier in NATIONAL_DESIGNATIONS:
                    _deny(
                        f"{current.tier.name} is a national designation: a national admin decides"
                    )
                _deny(
                    f"only a province admin of node {current.owning_node} decides on "
                    f"{institution_id}"
                )
            updated = transition(current, change, caller.subject, reason.strip(), now)
            tx.institutions.replace(updated)
            tx.events.institution_changed(change, updated)
            for item in tx.items.current_of(institution_id):
                tx.events.item_changed(change, item)
        return updated

    def search_institutions(
        self, query: InstitutionQuery, page_size: int, page_token: str, caller: Caller
    ) -> tuple[list[Institution], int, str]:
        """A page of institutions in (name, id) order, the total, and the next page's token
        ("" after the last page)."""
        query = self.validate_query(query)
        page = page_request(page_size, page_token, query.filters())
        query = replace(query, visibility=visibility(caller, self.node, staff_of(caller)))
        with self.uow.read() as reads:
            found, total = reads.institutions.search(query, page)
        next_token = page.token_after(found, lambda i: page_key(i.name, i.institution_id))
        return found, total, next_token

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
