"""Service items: the versioned entity, its validation and its use cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from puhui.catalog.domain.common import (
    _SERVICE_CODE_RE,
    CATEGORY_LABEL,
    MAX_DESCRIPTION,
    MAX_LIST,
    MAX_NAME,
    STANDARD_SERVICES,
    Caller,
    Category,
    Channel,
    CostClass,
    EnterpriseSize,
    InnovatorType,
    RegionFilter,
    Stage,
    Status,
    Tier,
    Visibility,
    _deny,
    _enum_ok,
    can_edit_items,
    can_read_institution,
    page_key,
    region_filter,
    staff_of,
    validate_ipc_prefix,
    visibility,
)
from puhui.catalog.domain.institutions import Institution
from puhui.catalog.errors import InstitutionNotFound, ServiceItemNotFound
from puhui.kit.errors import Aborted, FailedPrecondition, InvalidArgument, Violations
from puhui.kit.pagination import Page, page_request
from puhui.refdata import divisions

if TYPE_CHECKING:
    from puhui.catalog.domain.ports import Reads, UnitOfWork

    pass


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
    visibility: Visibility = field(default_factory=Visibility)

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


class ItemCases:
    """Use cases of the service item aggregate; each runs in one unit of work."""

    node: str
    uow: UnitOfWork
    clock: Callable[[], datetime]
    new_id: Callable[[], str]

    def create_item(self, new: NewServiceItem, caller: Caller) -> ServiceItem:
        new = validate_item(new)
        item_id, now = self.new_id(), self.clock()
        with self.uow.write() as tx:
            inst = tx.institutions.get(new.institution_id)
            if inst is None:
                raise InstitutionNotFound(new.institution_id)
            if inst.owning_node != self.node or not can_edit_items(caller, inst):
                _deny(f"not allowed to publish items of institution {inst.institution_id}")
            if inst.status == Status.RETIRED:
                raise FailedPrecondition(f"institution {inst.institution_id} is retired")
            item = self._item_from(new, item_id, 1, inst, now, caller)
            tx.items.add_version(item)
            tx.events.item_changed("created", item)
        return item

    def update_item(
        self, item_id: str, new: NewServiceItem, expected_version: int, caller: Caller
    ) -> ServiceItem:
        v = Violations()
        v.require(item_id, "item.item_id")
        v.raise_if_any()
        now = self.clock()
        with self.uow.write() as tx:
            current = tx.items.get(item_id, for_update=True)
            if current is None:
                raise ServiceItemNotFound(item_id)
            new = validate_item(
                replace(new, institution_id=new.institution_id or current.institution_id)
            )
            if new.institution_id != current.institution_id:
                raise InvalidArgument.field(
                    "item.institution_id", "an item cannot move to another institution"
                )
            inst = tx.institutions.get(current.institution_id)
            if inst is None or inst.owning_node != self.node or not can_edit_items(caller, inst):
                _deny(f"not allowed to edit items of institution {current.institution_id}")
            if inst.status == Status.RETIRED:
                raise FailedPrecondition(f"institution {inst.institution_id} is retired")
            if expected_version != current.version:
                raise Aborted(
                    f"item {item_id} is at version {current.version}, not {expected_version}"
                )
            item = self._item_from(new, item_id, current.version + 1, inst, now, caller)
            tx.items.add_version(item)
            tx.events.item_changed("versioned", item)
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

    def get_item(self, item_id: str, version: int, caller: Caller) -> ServiceItem:
        with self.uow.read() as reads:
            return self._readable(reads, item_id, version, caller)

    @staticmethod
    def _readable(reads: Reads, item_id: str, version: int, caller: Caller) -> ServiceItem:
        v = Violations()
        v.require(item_id, "item_id")
        v.check(version >= 0, "version", "must not be negative")
        v.raise_if_any()
        item = reads.items.get(item_id, version)
        if item is None:
            raise ServiceItemNotFound(item_id if not version else f"{item_id} v{version}")
        inst = reads.institutions.get(item.institution_id)
        if inst is None or not can_read_institution(caller, inst):
            raise ServiceItemNotFound(item_id)
        return item

    def list_versions(
        self, item_id: str, page_size: int, page_token: str, caller: Caller
    ) -> tuple[list[ServiceItem], int, str]:
        """A page of an item's versions, oldest first, the total and the next page's token."""
        page = page_request(page_size, page_token, {"item": item_id}, numeric=True)
        with self.uow.read() as reads:
            self._readable(reads, item_id, 0, caller)
            versions, total = reads.items.versions(item_id, page)
        next_token = page.token_after(versions, lambda v: str(v.version))
        return versions, total, next_token

    def search_items(
        self, query: ItemQuery, page_size: int, page_token: str, caller: Caller
    ) -> tuple[list[ServiceItem], int, str]:
        """A page of current items in (name, id) order, the total and the next page's token."""
        query = self.validate_item_query(query)
        page = page_request(page_size, page_token, query.filters())
        query = replace(query, visibility=visibility(caller, self.node, staff_of(caller)))
        with self.uow.read() as reads:
            found, total = reads.items.search(query, page)
        next_token = page.token_after(found, lambda i: page_key(i.name, i.item_id))
        return found, total, next_token

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
