"""The SQL adapters on the embedded default (SQLite, migrated): the same queries as on
PostgreSQL, without its indexes. PostgreSQL itself is covered by tests/integration."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from puhui.catalog import domain as d
from puhui.catalog.adapters.db import SqlInstitutionRepository, SqlServiceItemRepository, outbox
from puhui.catalog.adapters.match import SqlMatchReadModel
from puhui.catalog.adapters.unit_of_work import SqlUnitOfWork
from puhui.catalog.tests.support import GD_ADMIN, principal, staff
from puhui.kit import migrations
from puhui.kit.db import Database
from puhui.kit.outbox import Outbox
from puhui.kit.pagination import Page

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PAGE = Page(50, "", "x")


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path}/catalog.db"
    migrations.upgrade("catalog", url)
    database = Database(url)
    database.start()
    yield database
    database.stop()


def test_queries_on_sqlite(db):
    catalog = d.Catalog(
        "440000",
        SqlUnitOfWork(db, Outbox(outbox, "440000", "catalog")),
        SqlMatchReadModel(db),
        new_id=lambda: "item-1",
    )
    admin = principal(GD_ADMIN)
    city = catalog.create_institution(
        d.NewInstitution(
            "深圳市知识产权中心", 3, "440300", "专利检索", ("440300",), (), ("G06F",), 10
        ),
        admin,
    )
    catalog.change_status(city.institution_id, "approved", "", admin)
    new = d.NewServiceItem(city.institution_id, "PS-01", "专利检索服务", 1, 3, 1, processing_days=3)
    catalog.create_item(new, principal(staff(city.institution_id)))
    with db.read() as s:
        insts, items = SqlInstitutionRepository(s), SqlServiceItemRepository(s)
        for query in (
            d.InstitutionQuery(region_code="440305"),
            d.InstitutionQuery(text="深圳"),
            d.InstitutionQuery(text="知识产权中心", ipc_prefix="G06F 16/00"),
            d.InstitutionQuery(category=1, tiers=(3,)),
        ):
            found, total = insts.search(query, PAGE)
            assert [i.institution_id for i in found] == [city.institution_id], query
            assert total == 1
        assert insts.search(d.InstitutionQuery(region_code="440100"), PAGE)[1] == 0
        found, total = items.search(d.ItemQuery(region_code="440305", text="检索", channel=1), PAGE)
        assert [i.item_id for i in found] == ["item-1"]
    matches = catalog.match(d.Profile("440305", needs=(1,)), 10)
    assert [(m.item.item_id, m.gaps) for m in matches] == [("item-1", ())]
