"""IPC (WIPO titles, c. 2019-2020 edition) and the WIPO technology-field concordance."""

from __future__ import annotations

from collections import Counter

import pytest

from puhui.refdata import ipc


@pytest.mark.parametrize(
    "written",
    [
        "G06F 17/30",
        "G06F17/30",
        "G06F0017300000",
        "g06f 17/30",
        "G06F  17/30",
        "G06F 17/30 (2006.01)",
        "G06F17/30(2006.01)",
        "Ｇ０６Ｆ　１７／３０",
    ],
)
def test_normalise_written_forms(written: str) -> None:
    assert ipc.normalise(written) == "G06F 17/30"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("G06F0016000000", "G06F 16/00"),
        ("H04L0029060000", "H04L 29/06"),
        ("A01B0001020000", "A01B 1/02"),
        ("G06F 16/300", "G06F 16/30"),
        ("G06F 018/2321", "G06F 18/2321"),
        ("h04l", "H04L"),
        ("H04", "H04"),
        ("h", "H"),
    ],
)
def test_normalise_other_forms(written: str, expected: str) -> None:
    assert ipc.normalise(written) == expected


@pytest.mark.parametrize(
    "bad", ["", "X01", "I", "G06 16/30", "G06F 0/00", "G06F 17/3", "G06F 17", "G06F-17/30"]
)
def test_normalise_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError, match="not an IPC symbol"):
        ipc.normalise(bad)
    assert not ipc.is_valid(bad)
    assert ipc.lookup(bad) is None


def test_g06f_16_30_is_valid_in_every_written_form() -> None:
    for written in ("G06F 16/30", "G06F16/30", "G06F0016300000", "g06f 16/30 (2019.01)"):
        assert ipc.is_valid(written), written
    entry = ipc.lookup("G06F16/30")
    assert entry is not None
    assert (entry.symbol, entry.level) == ("G06F 16/30", "subgroup")
    assert entry.title.startswith("of unstructured textual data")


def test_g06f_17_30_is_not_in_this_edition() -> None:
    # G06F 17/30 was moved to G06F 16/ in IPC 2019.01; the shipped edition is later than that.
    assert not ipc.is_valid("G06F 17/30")
    assert ipc.is_valid("G06F 17/00")
    assert ipc.is_valid("G06F 17/10")


def test_unknown_subgroup_and_main_group_are_rejected() -> None:
    assert not ipc.is_valid("G06F 16/99")
    assert not ipc.is_valid("H04L 29/061")
    assert not ipc.is_valid("G06F 99/00")
    assert not ipc.is_valid("A01Z")


def test_every_level_validates() -> None:
    for symbol, level in [
        ("H", "section"),
        ("H04", "class"),
        ("H04L", "subclass"),
        ("H04L 29/00", "main_group"),
        ("H04L 29/06", "subgroup"),
    ]:
        entry = ipc.lookup(symbol)
        assert entry is not None
        assert entry.level == level
    assert ipc.lookup("H04L 29/06").title == "characterised by a protocol"  # type: ignore[union-attr]


def test_section_and_sections() -> None:
    g = ipc.section("G06F 16/30")
    assert (g.symbol, g.title, g.title_zh) == ("G", "PHYSICS", "物理")
    secs = ipc.sections()
    assert "".join(s.symbol for s in secs) == "ABCDEFGH"
    assert secs[7].title_zh == "电学"
    assert all(s.title_zh for s in secs)


def test_parents_go_from_section_to_main_group() -> None:
    assert [p.symbol for p in ipc.parents("H04L0029060000")] == ["H", "H04", "H04L", "H04L 29/00"]
    assert [p.symbol for p in ipc.parents("H04L 29/00")] == ["H", "H04", "H04L"]
    assert ipc.parents("H") == ()
    # A symbol newer than the edition still gets the ancestors the edition has.
    assert [p.symbol for p in ipc.parents("G06F 18/2321")] == ["G", "G06", "G06F"]


def test_repeated_main_group_keeps_title_and_heading() -> None:
    entry = ipc.lookup("A01B 3/00")
    assert entry is not None
    assert entry.title == "Ploughs with fixed plough-shares"
    assert entry.heading == "Ploughs"
    assert ipc.lookup("A01B 1/00").heading is None  # type: ignore[union-attr]


def test_scheme_counts_and_canonical_symbols() -> None:
    scheme = ipc._scheme()
    assert Counter(level for level, _, _ in scheme.values()) == {
        "section": 8,
        "class": 131,
        "subclass": 645,
        "main_group": 7483,
        "subgroup": 67020,
    }
    sample = list(scheme)[::97]
    assert all(ipc.normalise(symbol) == symbol for symbol in sample)


def test_technology_field_for_h04l() -> None:
    field = ipc.technology_field("H04L 29/06")
    assert field == ipc.TechnologyField(4, "Digital communication", "Electrical engineering")
    assert ipc.technology_field("H04L") == field


def test_technology_field_most_specific_pattern_wins() -> None:
    assert ipc.technology_field("A61K 8/02").number == 14  # type: ignore[union-attr]
    assert ipc.technology_field("A61K 31/00").number == 16  # type: ignore[union-attr]
    assert ipc.technology_field("H04N 1/00").name == "Telecommunications"  # type: ignore[union-attr]
    assert ipc.technology_field("H04N 5/225").name == "Audio-visual technology"  # type: ignore[union-attr]
    assert ipc.technology_field("G06F 18/2321").name == "Computer technology"  # type: ignore[union-attr]
    assert ipc.technology_field("H04") is None
    assert ipc.technology_field("G") is None
    with pytest.raises(ValueError, match="not an IPC symbol"):
        ipc.technology_field("nonsense")


def test_thirty_five_fields_cover_every_group_of_the_edition() -> None:
    fields = ipc.technology_fields()
    assert [f.number for f in fields] == list(range(1, 36))
    assert len({f.sector for f in fields}) == 5
    scheme = ipc._scheme()
    groups = [s for s, (level, _, _) in scheme.items() if level in ("main_group", "subgroup")]
    assert [g for g in groups if ipc.technology_field(g) is None] == []
    # Subclasses the concordance splits by main group have no field of their own.
    subclasses = [s for s, (level, _, _) in scheme.items() if level == "subclass"]
    unmapped = [s for s in subclasses if ipc.technology_field(s) is None]
    assert unmapped == ["A61K", "B01D", "C13B", "E01F", "G01N", "H04N"]
