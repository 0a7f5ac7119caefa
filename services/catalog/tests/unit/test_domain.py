"""Validation, the status machine and the use cases, with in-memory fakes of our repositories."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from puhui.catalog import domain as d
from puhui.catalog.errors import InstitutionNotFound, NotAllowed
from puhui.catalog.tests.support import GD_ADMIN, JS_ADMIN, NATIONAL, principal, staff
from puhui.kit.errors import Aborted, FailedPrecondition, InvalidArgument

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class FakeInstitutions:
    def __init__(self) -> None:
        self.rows: dict[str, d.Institution] = {}
        self.seq = 0

    def next_id(self, node: str) -> str:
        self.seq += 1
        return f"{node}-{self.seq:06d}"

    def add(self, institution: d.Institution) -> None:
        self.rows[institution.institution_id] = institution

    def get(self, institution_id: str, *, for_update: bool = False) -> d.Institution | None:
        return self.rows.get(institution_id)

    def replace(self, institution: d.Institution) -> None:
        self.rows[institution.institution_id] = institution

    def search(self, query, page):  # pragma: no cover - searched in integration tests
        raise AssertionError("unit tests never search: the SQL search has integration tests")


class FakeItems:
    def __init__(self) -> None:
        self.rows: list[d.ServiceItem] = []

    def add_version(self, item: d.ServiceItem) -> None:
        self.rows = [
            replace(r, is_current=False) if r.item_id == item.item_id else r for r in self.rows
        ]
        self.rows.append(item)

    def get(self, item_id: str, version: int = 0, *, for_update: bool = False):
        for r in self.rows:
            if r.item_id == item_id and (r.version == version or (not version and r.is_current)):
                return r
        return None

    def current_of(self, institution_id: str) -> list[d.ServiceItem]:
        return [r for r in self.rows if r.institution_id == institution_id and r.is_current]


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def institution_changed(self, change: str, institution: d.Institution) -> None:
        self.seen.append((change, institution.institution_id))

    def item_changed(self, change: str, item: d.ServiceItem) -> None:
        self.seen.append((change, f"{item.item_id}@{item.version}"))


class FakeUnitOfWork:
    """Every block, read or write, sees the same fakes."""

    def __init__(self) -> None:
        self.institutions, self.items, self.events = FakeInstitutions(), FakeItems(), Events()

    @contextmanager
    def write(self) -> Iterator[FakeUnitOfWork]:
        yield self

    read = write


class NoMatch:
    def match_candidates(self, profile, categories, limit, results=0):  # pragma: no cover
        raise AssertionError("Match has its own tests")


def catalog_on(uow: FakeUnitOfWork, *ids: str) -> d.Catalog:
    return d.Catalog(
        "440000", uow, NoMatch(), clock=lambda: NOW, new_id=iter(ids or ("it-1",)).__next__
    )


def new(**kw) -> d.NewInstitution:
    fields = {"name": "深圳市知识产权保护中心", "tier": 3, "region_code": "4403"}
    fields.update(kw)
    return d.NewInstitution(**fields)  # type: ignore[arg-type]


def new_item(institution_id: str, **kw) -> d.NewServiceItem:
    fields = {
        "institution_id": institution_id,
        "service_code": "ps-01",
        "name": "专利检索",
        "category": 1,
        "channel": 3,
        "cost_class": 1,
        "processing_days": 5,
        "eligibility": d.Eligibility(innovator_types=(2, 2), stages=(2, 1)),
    }
    fields.update(kw)
    return d.NewServiceItem(**fields)  # type: ignore[arg-type]


def violations(call) -> set[str]:
    with pytest.raises(InvalidArgument) as info:
        call()
    return {v.field for v in info.value.violations}


@pytest.mark.parametrize(
    ("kw", "fields"),
    [
        ({}, set()),
        ({"region_code": "320100"}, {"institution.region_code"}),
        ({"region_code": "110100"}, {"institution.region_code"}),  # no city row for Beijing
        ({"service_area": ("440300", "3201")}, {"institution.service_area[1]"}),
        ({"ipc_fields": ("G06F 17/30",)}, {"institution.ipc_fields[0]"}),
        ({"ipc_fields": ("G06F 16/00", "H04L")}, set()),
        ({"tier": 9}, {"institution.tier"}),
        ({"tier": 1}, {"institution.tier"}),  # national institutions belong to the hub
        ({"contacts": (d.Contact(name="张三"),)}, {"institution.contacts[0]"}),
        ({"contacts": (d.Contact(name="张三", phone="abc"),)}, {"institution.contacts[0].phone"}),
        ({"monthly_capacity": -1}, {"institution.monthly_capacity"}),
        ({"name": " "}, {"institution.name"}),
    ],
)
def test_institution_validation(kw, fields):
    call = lambda: d.validate_institution(new(**kw), "440000")  # noqa: E731
    if fields:
        assert violations(call) == fields
    else:
        ok = call()
        assert ok.region_code == "440300"


def test_validation_normalises():
    ok = d.validate_institution(
        new(service_area=("4403", "440300", "440305"), ipc_fields=("g06f", "G06F")), "440000"
    )
    assert ok.service_area == ("440300", "440305")
    assert ok.ipc_fields == ("G06F",)


@pytest.mark.parametrize(
    ("start", "change", "end"),
    [
        (d.Status.PENDING, "approved", d.Status.APPROVED),
        (d.Status.SUSPENDED, "approved", d.Status.APPROVED),
        (d.Status.APPROVED, "suspended", d.Status.SUSPENDED),
        (d.Status.PENDING, "retired", d.Status.RETIRED),
        (d.Status.SUSPENDED, "retired", d.Status.RETIRED),
        (d.Status.APPROVED, "approved", None),
        (d.Status.PENDING, "suspended", None),
        (d.Status.RETIRED, "approved", None),
        (d.Status.RETIRED, "retired", None),
    ],
)
def test_status_machine(start, change, end):
    entry = d.Institution(
        "440000-000001", "440000", "x", d.Tier.PREFECTURE_CENTRE, "440300", status=start
    )
    if end is None:
        with pytest.raises(FailedPrecondition):
            d.transition(entry, change, "440000:a", "", NOW)
        return
    out = d.transition(entry, change, "440000:a", "why", NOW)
    assert out.status == end
    assert (out.status_changed_by, out.status_changed_at, out.status_reason) == (
        "440000:a",
        NOW,
        "why",
    )
    assert out.revision == entry.revision + 1
    assert (out.approved_by == "440000:a") is (end == d.Status.APPROVED)


def test_create_update_approve_use_cases():
    uow = FakeUnitOfWork()
    catalog, repo, events = catalog_on(uow), uow.institutions, uow.events
    admin = principal(GD_ADMIN)
    with pytest.raises(NotAllowed):
        catalog.create_institution(new(), principal(JS_ADMIN))
    assert repo.rows == {}
    created = catalog.create_institution(new(), admin)
    iid = created.institution_id
    with pytest.raises(Aborted):
        catalog.update_institution(iid, new(name="新"), 7, admin)
    with pytest.raises(NotAllowed):  # staff may not change the tier
        catalog.update_institution(iid, new(tier=6), 1, principal(staff(iid)))
    updated = catalog.update_institution(iid, new(name="新"), 1, principal(staff(iid)))
    assert (updated.name, updated.revision) == ("新", 2)
    approved = catalog.change_status(iid, "approved", "", admin)
    assert approved.approved_by == "440000:gd-admin"
    assert events.seen == [("created", iid), ("updated", iid), ("approved", iid)]
    with pytest.raises(InstitutionNotFound):
        catalog.change_status("440000-000404", "approved", "", admin)


def test_items_version_and_only_own_staff_edit():
    uow = FakeUnitOfWork()
    catalog, items, events = catalog_on(uow, "it-1", "it-2"), uow.items, uow.events
    admin = principal(GD_ADMIN)
    inst = catalog.create_institution(new(), admin)
    own = principal(staff(inst.institution_id))
    item = catalog.create_item(new_item(inst.institution_id), own)
    assert item.service_code == "PS-01"
    assert item.eligibility == d.Eligibility(innovator_types=(2,), stages=(1, 2))
    with pytest.raises(NotAllowed):
        catalog.create_item(new_item(inst.institution_id), principal(staff("x")))
    with pytest.raises(NotAllowed):
        catalog.update_item("it-1", new_item(""), 1, principal(NATIONAL))
    v2 = catalog.update_item("it-1", new_item("", name="专利检索（新）"), 1, own)
    assert (v2.version, v2.name, v2.created_by) == (2, "专利检索（新）", own.subject)
    with pytest.raises(Aborted):
        catalog.update_item("it-1", new_item(""), 1, own)
    assert [r.is_current for r in items.rows] == [False, True]
    assert events.seen[-2:] == [("created", "it-1@1"), ("versioned", "it-1@2")]


@pytest.mark.parametrize(
    ("kw", "fields"),
    [
        ({"service_code": "XX-99"}, {"item.service_code"}),
        ({"category": 2}, {"item.category"}),  # PS-01 is a patent-search code
        ({"channel": 0, "cost_class": 9}, {"item.channel", "item.cost_class"}),
        ({"processing_days": 0}, {"item.processing_days"}),
        ({"eligibility": d.Eligibility(stages=(7,))}, {"item.eligibility.stages[0]"}),
        ({"required_materials": ("",)}, {"item.required_materials[0]"}),
    ],
)
def test_item_validation(kw, fields):
    assert violations(lambda: d.validate_item(new_item("440000-000001", **kw))) == fields


@pytest.mark.parametrize(
    ("code", "prefix", "covering"),
    [
        ("440000", "44", ("440000",)),
        ("440300", "4403", ("440000", "440300")),
        ("440305", "440305", ("440000", "440300", "440305")),
        ("110101", "110101", ("110000", "110101")),  # municipal district under the province
    ],
)
def test_region_filter(code, prefix, covering):
    assert d.region_filter(code) == d.RegionFilter(code, prefix, covering)


def _inst(region: str, area: tuple[str, ...] = ()) -> d.Institution:
    return d.Institution(
        "440000-000001", "440000", "x", d.Tier.PREFECTURE_CENTRE, region, service_area=area
    )


@pytest.mark.parametrize(
    ("region", "area", "found_by", "not_found_by"),
    [
        # Located in a county: found by the county, its city and its province.
        ("440305", (), {"440305", "440300", "440000"}, {"440304", "440100"}),
        # A city centre serving its city: found by every county under the city.
        ("440300", ("440300",), {"440300", "440305", "440304", "440000"}, {"440100", "440103"}),
        # Province-wide service area: found by any county of the province.
        ("440100", ("440000",), {"440103", "441900", "445102"}, {"320100"}),
        # Serving one county of another city: found by that county and its city, not its siblings.
        ("440305", ("440604",), {"440604", "440600"}, {"440605"}),
        # Municipality: districts hang directly under the province.
        ("110105", (), {"110105", "110000"}, {"110101"}),
    ],
)
def test_search_regions(region, area, found_by, not_found_by):
    regions = d.search_regions(_inst(region, area))
    assert found_by <= regions
    assert not (not_found_by & regions)


def test_search_bigrams_make_two_character_queries_words():
    from puhui.catalog.adapters.db import search_bigrams

    grams = search_bigrams("深圳市中心", "专利 检索")
    assert grams == " 深圳 圳市 市中 中心 专利 检索 "
    assert " 圳市 " in grams
    assert " 利检 " not in grams  # not adjacent in the text
