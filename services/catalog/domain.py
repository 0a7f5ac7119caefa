"""Catalog domain: institutions and the rules about them. No proto, no SQL here."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from puhui.catalog.errors import InstitutionNotFound
from puhui.kit.errors import Violations
from puhui.kit.pagination import Page
from puhui.refdata import divisions, ipc

MAX_NAME = 200
MAX_DESCRIPTION = 4000


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


class Status(enum.IntEnum):
    PENDING = 1
    APPROVED = 2
    SUSPENDED = 3
    RETIRED = 4


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


@dataclass(frozen=True)
class NewInstitution:
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
class InstitutionQuery:
    text: str = ""
    region_code: str = ""
    tiers: tuple[int, ...] = ()
    statuses: tuple[int, ...] = ()
    ipc_prefix: str = ""

    def filters(self) -> dict[str, object]:
        return {
            "text": self.text,
            "region": self.region_code,
            "tiers": sorted(self.tiers),
            "statuses": sorted(self.statuses),
            "ipc": self.ipc_prefix,
        }


@dataclass(frozen=True)
class ResultPage:
    items: Sequence[Institution]
    next_page_token: str
    total_size: int


class InstitutionRepository(Protocol):
    """What the domain needs from storage; adapters/db.py implements it."""

    def next_id(self, node: str) -> str: ...

    def add(self, institution: Institution) -> None: ...

    def get(self, institution_id: str) -> Institution | None: ...

    def search(self, query: InstitutionQuery, page: Page) -> tuple[list[Institution], int]: ...


class EventSink(Protocol):
    def institution_changed(self, change: str, institution: Institution) -> None: ...


@dataclass
class Catalog:
    """Use cases. A unit of work supplies the repository and the event sink of one transaction."""

    node: str

    def validate_new(self, new: NewInstitution) -> NewInstitution:
        v = Violations()
        name = new.name.strip()
        v.require(name, "institution.name")
        v.check(len(name) <= MAX_NAME, "institution.name", f"at most {MAX_NAME} characters")
        v.check(
            len(new.description) <= MAX_DESCRIPTION,
            "institution.description",
            f"at most {MAX_DESCRIPTION} characters",
        )
        v.check(new.tier in Tier.__members__.values(), "institution.tier", "must be a known tier")
        region = new.region_code.strip()
        if v.require(region, "institution.region_code"):
            v.check(
                divisions.is_valid(region),
                "institution.region_code",
                f"{region!r} is not a GB/T 2260 division code",
            )
            if divisions.is_valid(region) and self.node != "000000":
                v.check(
                    _province(region) == self.node,
                    "institution.region_code",
                    f"must lie in this node's province {self.node}",
                )
        for i, code in enumerate(new.service_area):
            v.check(
                divisions.is_valid(code),
                f"institution.service_area[{i}]",
                f"{code!r} is not a GB/T 2260 division code",
            )
        fields: list[str] = []
        for i, symbol in enumerate(new.ipc_fields):
            try:
                canonical = ipc.normalise(symbol)
            except ValueError:
                canonical = ""
            if v.check(bool(canonical) and ipc.is_valid(canonical), f"institution.ipc_fields[{i}]", f"{symbol!r} is not an IPC symbol"):
                fields.append(canonical)
        v.check(new.monthly_capacity >= 0, "institution.monthly_capacity", "must not be negative")
        v.raise_if_any()
        return replace(new, name=name, region_code=region, ipc_fields=tuple(fields))

    def create_institution(
        self, repo: InstitutionRepository, sink: EventSink, new: NewInstitution, now: datetime
    ) -> Institution:
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

    @staticmethod
    def get_institution(repo: InstitutionRepository, institution_id: str) -> Institution:
        v = Violations()
        v.require(institution_id, "institution_id")
        v.raise_if_any()
        found = repo.get(institution_id)
        if found is None:
            raise InstitutionNotFound(institution_id)
        return found

    @staticmethod
    def validate_query(query: InstitutionQuery) -> InstitutionQuery:
        v = Violations()
        v.check(len(query.text) <= 100, "query", "at most 100 characters")
        if query.region_code:
            v.check(divisions.is_valid(query.region_code), "region_code", "is not a GB/T 2260 division code")
        for i, tier in enumerate(query.tiers):
            v.check(tier in Tier.__members__.values(), f"tiers[{i}]", "must be a known tier")
        for i, status in enumerate(query.statuses):
            v.check(status in Status.__members__.values(), f"statuses[{i}]", "must be a known status")
        v.raise_if_any()
        return replace(query, text=query.text.strip())
