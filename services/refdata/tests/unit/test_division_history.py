"""Current GB/T 2260 codes, abolished codes with successors, NBS statistical codes."""

from __future__ import annotations

import pytest

from puhui.refdata import divisions


@pytest.mark.parametrize(
    ("code", "name", "parent"),
    [
        ("330113", "临平区", "330100"),
        ("330114", "钱塘区", "330100"),
        ("410307", "偃师区", "410300"),
        ("654203", "沙湾市", "654200"),
        ("419001", "济源市", "419000"),  # under its grouping row
    ],
)
def test_current_county_codes_are_divisions(code, name, parent):
    division = divisions.get(code)
    assert division is not None
    assert (division.name, division.parent_code, division.current) == (name, parent, True)


@pytest.mark.parametrize(
    ("code", "name", "year", "successor"),
    [
        ("330103", "下城区", "2021", "330105"),
        ("330104", "江干区", "2021", "330102"),
        ("410381", "偃师市", "2021", "410307"),
        ("654223", "沙湾县", "2021", "654203"),
        ("460321", "西沙群岛", "2020", "460302"),
    ],
)
def test_abolished_codes_are_history_with_a_successor(code, name, year, successor):
    assert divisions.get(code) is None
    assert not divisions.is_valid(code)
    old = divisions.historical(code)
    assert old is not None
    assert (old.name, old.valid_until, old.current) == (name, year, False)
    found = divisions.successor(code)
    assert found is not None
    assert found.code == successor
    assert divisions.explain(code) == (
        f"{code} {name} was abolished in {year}; use {found.code} {found.name}"
    )
    with pytest.raises(ValueError, match=f"was abolished in {year}; use {successor}"):
        divisions.normalise_code(code)


def test_a_successor_chain_leads_to_the_current_division():
    # 崇文区 (110103) was merged into 东城区 in 2010.
    assert divisions.historical("110103").valid_until == "2010"
    assert divisions.successor("110103").code == "110101"
    assert divisions.successor("110101").code == "110101"


def test_listing_is_current_unless_history_is_asked_for():
    current = [d.code for d in divisions.children("330100")]
    assert "330103" not in current
    assert {"330113", "330114"} <= set(current)
    with_history = {d.code: d for d in divisions.children("330100", history=True)}
    assert with_history["330103"].current is False
    assert with_history["330113"].current is True
    assert set(current) < set(with_history)


def test_nbs_statistical_codes_resolve_to_their_parent_division():
    zone = divisions.statistical("320576")
    assert zone is not None
    assert (zone.name, zone.parent_code) == ("苏州工业园区", "320500")
    assert divisions.get("320576") is None
    assert divisions.resolve("320576") is None
    assert divisions.resolve("320576", statistical_codes=True).code == "320500"
    assert divisions.resolve("330113", statistical_codes=True).code == "330113"
    assert "it lies in 320500 苏州市" in divisions.explain("320576")
    every = divisions._index().statistical.values()
    assert all(z.code[4] == "7" and divisions.get(z.parent_code) for z in every)


def test_an_unknown_code_gets_the_nearest_valid_one():
    assert divisions.explain("320599") == (
        "no current GB/T 2260 division '320599'; nearest valid code 320585 太仓市"
    )
    assert divisions.nearest("330199").code == "330182"
    assert divisions.nearest("1101").code == "110000"  # municipalities have no city row
    assert divisions.nearest("99") is None
    assert divisions.explain("330106") == ""
