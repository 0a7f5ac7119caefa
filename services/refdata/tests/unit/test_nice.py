"""Nice classes and CNIPA similar groups (类似商品和服务区分表, 2018 edition)."""

from __future__ import annotations

import pytest

from puhui.refdata import nice


def test_forty_five_classes() -> None:
    classes = nice.classes()
    assert [c.number for c in classes] == list(range(1, 46))
    assert {c.kind for c in classes[:34]} == {"goods"}
    assert {c.kind for c in classes[34:]} == {"services"}


def test_class_9_headings() -> None:
    c9 = nice.nice_class(9)
    assert c9 is not None
    assert c9.label_zh == "第九类"
    assert c9.heading_zh.startswith("科学、航海、测量、摄影、电影、光学")
    assert "计算机软件" in c9.heading_zh
    assert c9.heading_en.startswith("Scientific, research, navigation, surveying")
    assert nice.nice_class("09") == c9
    assert nice.nice_class(35).heading_en == (  # type: ignore[union-attr]
        "Advertising; business management; business administration; office functions"
    )


@pytest.mark.parametrize(
    ("n", "valid"),
    [
        (1, True),
        (45, True),
        ("9", True),
        (" 09 ", True),
        (0, False),
        (46, False),
        ("abc", False),
        (True, False),
        ("", False),
    ],
)
def test_is_valid_class(n: int | str, valid: bool) -> None:
    assert nice.is_valid_class(n) is valid


def test_similar_group_of_class_9() -> None:
    g = nice.group("0901")
    assert g == nice.SimilarGroup("0901", 9, "电子计算机及其外部设备")
    groups = nice.groups_of_class(9)
    assert len(groups) == 23
    assert groups[0] == g
    assert all(x.code.startswith("09") and x.class_number == 9 for x in groups)
    assert nice.groups_of_class("9") == groups


def test_group_validity_and_gaps() -> None:
    assert nice.is_valid_group("0901")
    assert nice.is_valid_group("4506")
    assert not nice.is_valid_group("0917")  # a gap in CNIPA's numbering
    assert not nice.is_valid_group("901")
    assert not nice.is_valid_group("4601")
    assert nice.group("9999") is None
    assert nice.groups_of_class(46) == ()


def test_group_totals() -> None:
    groups = [g for c in nice.classes() for g in nice.groups_of_class(c.number)]
    assert len(groups) == 491
    assert all(len(nice.groups_of_class(n)) > 0 for n in range(1, 46))


def test_items() -> None:
    items = nice.items_of_group("0101")
    names = {i.name: i for i in items}
    # Synonyms share a Nice basic number.
    assert names["一氧化氮"].code == names["一氧化二氮"].code == "010093"
    cn_only = [i for i in items if i.cn_only]
    assert cn_only
    assert all(i.code is not None and i.code.startswith("C") for i in cn_only)
    pending = [i for i in nice.items_of_group("0107") if i.code is None]
    assert [i.name for i in pending] == ["定影液(摄影)"]
    total = sum(
        len(nice.items_of_group(g.code))
        for c in nice.classes()
        for g in nice.groups_of_class(c.number)
    )
    assert total == 11230
    assert nice.items_of_group("0917") == ()
