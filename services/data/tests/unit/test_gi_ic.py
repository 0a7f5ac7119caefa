"""Geographical indications and IC layout designs: validation and content hashes."""

from __future__ import annotations

import pytest

from puhui.data import domain
from puhui.kit.errors import InvalidArgument


def gi(**kw) -> domain.GeographicalIndication:
    fields = {
        "gi_id": " agi00001 ",
        "name": "西湖龙井 ",
        "product": "茶叶",
        "region_code": "330100",
        "protection_type": "Geographical  Indication Product",
        "application_date": "2001.03.01",
        "approval_date": "20010910",
    }
    fields.update(kw)
    return domain.GeographicalIndication(**fields)


def test_gi_normalised():
    g = domain.normalise_gi(gi())
    assert (g.gi_id, g.name, g.protection_type) == (
        "AGI00001",
        "西湖龙井",
        "geographical indication product",
    )
    assert (g.application_date, g.approval_date) == ("2001-03-01", "2001-09-10")
    assert g.content_hash == domain.content_hash(g)
    assert domain.data_set_of(g) == domain.GEOGRAPHICAL_INDICATIONS


def test_gi_violations_listed_together():
    with pytest.raises(InvalidArgument) as err:
        domain.normalise_gi(
            gi(gi_id="", name=" ", region_code="990000", protection_type="x", approval_date="x")
        )
    fields = {v.field for v in err.value.violations}
    assert fields == {
        "indication.gi_id",
        "indication.name",
        "indication.region_code",
        "indication.protection_type",
        "indication.approval_date",
    }


def test_gi_approval_before_application_rejected():
    with pytest.raises(InvalidArgument):
        domain.normalise_gi(gi(application_date="2005-01-01", approval_date="2004-01-01"))


def test_content_hash_changes_with_content_only():
    a = domain.normalise_gi(gi())
    b = domain.normalise_gi(gi(product="绿茶"))
    assert a.content_hash != b.content_hash
    assert domain.normalise_gi(gi()).content_hash == a.content_hash


def test_ic_layout_normalised_and_validated():
    ic = domain.normalise_ic_layout(
        domain.IcLayout(
            registration_number="bs. 245500012",
            name=" 电源管理芯片版图",
            owner=domain.Party("某半导体有限公司", "440300"),
            creation_date="2022/01/15",
            filing_date="2022-03-01",
        )
    )
    assert (ic.registration_number, ic.name, ic.owner.country) == (
        "BS.245500012",
        "电源管理芯片版图",
        "CN",
    )
    assert ic.creation_date == "2022-01-15"
    assert domain.data_set_of(ic) == domain.IC_LAYOUTS
    with pytest.raises(InvalidArgument) as err:
        domain.normalise_ic_layout(
            domain.IcLayout(
                registration_number="BS/1",
                name="",
                creation_date="2023-01-01",
                filing_date="2022-01-01",
            )
        )
    assert {v.field for v in err.value.violations} == {
        "layout.registration_number",
        "layout.name",
        "layout.filing_date",
    }


def test_queries_validated():
    assert domain.validate_gi_query(" 龙井 ", "330000") == domain.GiQuery("龙井", "330000")
    with pytest.raises(InvalidArgument):
        domain.validate_gi_query("x" * 201, "")
    with pytest.raises(InvalidArgument):
        domain.validate_ic_layout_query("", "y" * 201)
