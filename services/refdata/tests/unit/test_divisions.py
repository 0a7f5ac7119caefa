"""GB/T 2260 divisions as shipped (MCA data of 2021-01)."""

from __future__ import annotations

from collections import Counter

import pytest

from puhui.refdata import divisions


def codes(items: tuple[divisions.Division, ...]) -> tuple[str, ...]:
    return tuple(d.code for d in items)


def test_counts_by_level_match_the_source() -> None:
    every = {d.code: d for p in divisions.provinces() for d in (p, *divisions.descendants(p.code))}
    assert Counter(d.level for d in every.values()) == {
        "province": 34,
        "city": 337,
        "county": 2847,
    }


def test_guangdong_shenzhen_nanshan() -> None:
    gd = divisions.get("440000")
    assert gd == divisions.Division("440000", "广东省", "province", None, "440000")
    sz = divisions.get("440300")
    assert sz is not None
    assert (sz.name, sz.level, sz.parent_code) == ("深圳市", "city", "440000")
    assert "440305" in codes(divisions.children("440300"))
    nanshan = divisions.get("440305")
    assert nanshan is not None
    assert (nanshan.name, nanshan.level, nanshan.parent_code) == ("南山区", "county", "440300")
    assert codes(divisions.ancestors("440305")) == ("440000", "440300")
    assert divisions.province_of("440305") == gd


def test_municipality_counties_hang_directly_under_the_province() -> None:
    dongcheng = divisions.get("110101")
    assert dongcheng is not None
    assert (dongcheng.name, dongcheng.level) == ("东城区", "county")
    assert dongcheng.parent_code == "110000"
    assert [d.name for d in divisions.ancestors("110101")] == ["北京市"]
    below = divisions.descendants("110000")
    assert len(below) == 16
    assert {d.level for d in below} == {"county"}
    assert "110101" in codes(below)
    # GB/T 2260's 110100 市辖区 grouping row is not in the data.
    assert not divisions.is_valid("110100")
    with pytest.raises(ValueError, match="110100"):
        divisions.normalise_code("1101")


def test_descendants_of_a_province_and_of_a_city() -> None:
    below = divisions.descendants("440000")
    levels = Counter(d.level for d in below)
    assert levels == {"city": 21, "county": 122}
    assert {"440300", "440305"} <= set(codes(below))
    assert list(codes(below)) == sorted(codes(below))
    assert codes(divisions.descendants("440300")) == codes(divisions.children("440300"))
    assert divisions.descendants("440305") == ()
    # Chongqing's 县 (5002xx) have no city row either.
    assert divisions.get("500229").parent_code == "500000"  # type: ignore[union-attr]


def test_province_administered_county_level_cities_sit_under_a_grouping_row() -> None:
    xiantao = divisions.get("429004")
    assert xiantao is not None
    assert xiantao.name == "仙桃市"
    grouping = divisions.ancestors("429004")[-1]
    assert (grouping.code, grouping.level, grouping.is_grouping) == ("429000", "city", True)
    assert not divisions.get("440300").is_grouping  # type: ignore[union-attr]


def test_hierarchy_is_consistent() -> None:
    allowed_parent = {"city": {"province"}, "county": {"city", "province"}}
    for province in divisions.provinces():
        for d in divisions.descendants(province.code):
            assert d.province_code == province.code == d.code[:2] + "0000"
            parent = divisions.get(d.parent_code or "")
            assert parent is not None
            assert parent.level in allowed_parent[d.level]
            # A county skips the city level only where no city row exists.
            if d.level == "county" and parent.level == "province":
                assert divisions.get(d.code[:4] + "00") is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [("44", "440000"), ("4403", "440300"), ("440305", "440305"), (" 440305\n", "440305")],
)
def test_normalise_code_accepts_2_4_6_digits(given: str, expected: str) -> None:
    assert divisions.normalise_code(given) == expected
    assert divisions.get(given) == divisions.get(expected)


@pytest.mark.parametrize("given", ["", "4", "440", "4403050", "44a", "４４", "990000"])
def test_normalise_code_rejects(given: str) -> None:
    with pytest.raises(ValueError, match=r"GB/T 2260|no administrative division"):
        divisions.normalise_code(given)
    assert divisions.get(given) is None
    assert not divisions.is_valid(given)


def test_normalise_code_without_existence_check() -> None:
    assert divisions.normalise_code("1101", known=False) == "110100"


def test_unknown_codes() -> None:
    assert divisions.province_of("999999") is None
    with pytest.raises(KeyError):
        divisions.ancestors("999999")
    with pytest.raises(KeyError):
        divisions.descendants("abc")


def test_provinces_include_hk_macau_taiwan_without_rows_below() -> None:
    provinces = divisions.provinces()
    assert len(provinces) == 34
    assert provinces[0].name == "北京市"
    for code in ("710000", "810000", "820000"):
        assert code in codes(provinces)
        assert divisions.descendants(code) == ()


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("河南(41)", "410000"),
        ("河南（41）", "410000"),
        ("河南", "410000"),
        ("河南省", "410000"),
        (" 广东(44) ", "440000"),
        ("广西", "450000"),
        ("广西壮族自治区", "450000"),
        ("内蒙古", "150000"),
        ("新疆(65)", "650000"),
        ("宁夏", "640000"),
        ("北京", "110000"),
        ("香港", "810000"),
        ("(41)", "410000"),
        ("41", "410000"),
        ("美国(US)", None),
        ("日本", None),
        ("河南(44)", None),
        ("深圳", None),
        ("(44)", "440000"),
        ("(4403)", None),
        ("", None),
    ],
)
def test_province_code_from_cnipa_label(label: str, expected: str | None) -> None:
    assert divisions.province_code_from_label(label) == expected


# The short names CNIPA exports use, in province-code order.
SHORT_NAMES = [
    "北京",
    "天津",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "吉林",
    "黑龙江",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    "重庆",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
    "台湾",
    "香港",
    "澳门",
]


def test_every_province_resolves_by_full_name_and_short_label() -> None:
    provinces = divisions.provinces()
    assert len(SHORT_NAMES) == len(provinces)
    for short, p in zip(SHORT_NAMES, provinces, strict=True):
        assert divisions.province_code_from_label(p.name) == p.code
        assert divisions.province_code_from_label(short) == p.code
        assert divisions.province_code_from_label(f"{short}({p.code[:2]})") == p.code
