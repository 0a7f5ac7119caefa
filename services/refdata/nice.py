"""The Nice classification of goods and services (trademarks) and CNIPA's similar groups.

Sources (``data/SOURCES.md``): the 45 class headings in English (NCL 11th edition wording)
and Chinese (CNIPA 类似商品和服务区分表, 2018 edition); CNIPA's 491 similar groups
(类似群, code ``0901``: class 09, group 01) and 11,230 goods/services items, from
``xovel/trademark-classification`` (MIT). Read on first use and cached.

Quirks of the data, kept as they are:

* Group numbers have gaps (there is no ``0917``); a group code's first two digits are its class.
* An item number (``010093``) is not unique: synonyms share the Nice basic number
  (一氧化氮 and 一氧化二氮), and one item has no number yet (``待定`` → ``code=None``).
  Items whose number starts with ``C`` are China-only (``cn_only=True``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from ._data import read_csv

__all__ = [
    "Item",
    "NiceClass",
    "SimilarGroup",
    "classes",
    "group",
    "groups_of_class",
    "is_valid_class",
    "is_valid_group",
    "items_of_group",
    "nice_class",
]

_PENDING_ITEM_CODE = "待定"


@dataclass(frozen=True, slots=True)
class NiceClass:
    """One of the 45 classes: 1-34 goods, 35-45 services."""

    number: int
    kind: Literal["goods", "services"]
    heading_en: str
    """NCL 11th edition class heading."""
    heading_zh: str
    """Class heading of CNIPA's 类似商品和服务区分表 (2018 edition)."""
    label_zh: str
    """``第九类`` and so on."""


@dataclass(frozen=True, slots=True)
class SimilarGroup:
    """A CNIPA similar group (类似群): goods or services in it count as similar."""

    code: str
    class_number: int
    name: str


@dataclass(frozen=True, slots=True)
class Item:
    """A goods or services item of the CNIPA table."""

    code: str | None
    """Nice basic number (``090001``) or China-only number (``C090001``); None if pending."""
    name: str
    group_code: str
    class_number: int
    cn_only: bool


@dataclass(frozen=True, slots=True)
class _Index:
    classes: dict[int, NiceClass]
    groups: dict[str, SimilarGroup]
    groups_by_class: dict[int, tuple[SimilarGroup, ...]]
    items_by_group: dict[str, tuple[Item, ...]]


@cache
def _index() -> _Index:
    classes: dict[int, NiceClass] = {}
    for row in read_csv("nice/nice_classes_45.csv"):
        number = int(row["class_no"])
        kind: Literal["goods", "services"] = "goods" if row["kind"] == "goods" else "services"
        if row["kind"] != kind:
            raise ValueError(f"Nice class {number}: unknown kind {row['kind']!r}")
        classes[number] = NiceClass(
            number,
            kind,
            row["heading_en_ncl11"].strip(),
            row["heading_zh_cnipa_2018"].strip(),
            row["label_zh"].strip(),
        )

    groups: dict[str, SimilarGroup] = {}
    by_class: dict[int, list[SimilarGroup]] = {}
    for row in read_csv("nice/cn_similar_groups.csv"):
        g = SimilarGroup(row["group_code"], int(row["class_no"]), row["group_name_zh"].strip())
        if g.class_number not in classes or int(g.code[:2]) != g.class_number:
            raise ValueError(f"similar group {g.code} does not fit class {g.class_number}")
        groups[g.code] = g
        by_class.setdefault(g.class_number, []).append(g)

    items: dict[str, list[Item]] = {}
    for row in read_csv("nice/cn_goods_services_items.csv"):
        code = row["item_code"].strip()
        item = Item(
            code=None if code == _PENDING_ITEM_CODE else code,
            name=row["item_name_zh"].strip(),
            group_code=row["group_code"],
            class_number=int(row["class_no"]),
            cn_only=row["cn_only_item"] == "Y",
        )
        if item.group_code not in groups:
            raise ValueError(f"item {code} {item.name} in unknown group {item.group_code}")
        items.setdefault(item.group_code, []).append(item)

    return _Index(
        classes=classes,
        groups=groups,
        groups_by_class={n: tuple(sorted(v, key=_group_code)) for n, v in by_class.items()},
        items_by_group={k: tuple(v) for k, v in items.items()},
    )


def _group_code(g: SimilarGroup) -> str:
    return g.code


def _class_number(n: int | str) -> int | None:
    if isinstance(n, bool):
        return None
    if isinstance(n, int):
        return n
    text = n.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def classes() -> tuple[NiceClass, ...]:
    """The 45 classes, by number."""
    index = _index()
    return tuple(index.classes[n] for n in sorted(index.classes))


def nice_class(n: int | str) -> NiceClass | None:
    """Class ``n`` (``9`` or ``"09"``), else None."""
    number = _class_number(n)
    return None if number is None else _index().classes.get(number)


def is_valid_class(n: int | str) -> bool:
    """True for 1 … 45 (as int or digit string)."""
    return nice_class(n) is not None


def group(code: str) -> SimilarGroup | None:
    """The similar group with a 4-digit code such as ``0901``, else None."""
    return _index().groups.get(code.strip())


def is_valid_group(code: str) -> bool:
    """True if ``code`` is one of CNIPA's 491 similar groups."""
    return group(code) is not None


def groups_of_class(n: int | str) -> tuple[SimilarGroup, ...]:
    """The similar groups of class ``n``, by code; ``()`` for a number that is not a class."""
    number = _class_number(n)
    return () if number is None else _index().groups_by_class.get(number, ())


def items_of_group(code: str) -> tuple[Item, ...]:
    """The goods or services items of a similar group, in the table's order."""
    return _index().items_by_group.get(code.strip(), ())
