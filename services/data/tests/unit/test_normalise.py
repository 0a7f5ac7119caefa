"""Numbers, dates and IPC symbols as the offices write them (table-driven)."""

from __future__ import annotations

import pytest

from puhui.data import normalise as n


@pytest.mark.parametrize(
    ("written", "office", "canonical"),
    [
        ("CN202121635235.X", "", "CN202121635235"),
        ("202121635235.X", "", "CN202121635235"),
        ("202121635235X", "", "CN202121635235"),
        ("202121635235", "", "CN202121635235"),
        ("ZL202121635235.X", "", "CN202121635235"),
        ("ZL 2021 2 1635235.X", "", "CN202121635235"),
        ("ＣＮ２０２１２１６３５２３５．Ｘ", "", "CN202121635235"),  # full width
        ("CN202223220665.2", "", "CN202223220665"),
        ("CN201610311380.X", "", "CN201610311380"),
        ("CN201730033448.8", "", "CN201730033448"),
        ("cn 2022 1 1740332.4", "", "CN202211740332"),
        ("98123456.9", "", "CN98123456"),
        ("10/123,456", "", "US10123456"),
        ("US 10/123,456", "", "US10123456"),
        ("PCT/CN2014/000123", "", "WOCN2014000123"),
        ("EP14871234", "", "EP14871234"),
        ("14871234", "EP", "EP14871234"),
    ],
)
def test_application_numbers(written, office, canonical):
    assert n.application_number(written, office).canonical == canonical


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("CN202121635235.3", "check digit"),
        ("2021216352353", "check digit"),  # 13 digits: the last must be the check digit (X)
        ("CN20212163523", "CN application"),
        ("", "empty"),
        ("hello", "known form"),
    ],
)
def test_bad_application_numbers(written, reason):
    with pytest.raises(ValueError, match=reason):
        n.application_number(written)


@pytest.mark.parametrize(
    ("digits", "check"),
    [("202121635235", "X"), ("202223220665", "2"), ("201710117081", "7"), ("202122975192", "6")],
)
def test_cn_check_digits_of_real_numbers(digits, check):
    assert n.cn_check_digit(digits) == check


@pytest.mark.parametrize(
    ("written", "office", "canonical", "kind"),
    [
        ("CN218751475U", "", "CN218751475", "U"),
        ("CN 115883397 A", "", "CN115883397", "A"),
        ("115883397B", "", "CN115883397", "B"),
        ("CN304218960S", "", "CN304218960", "S"),
        ("US 7,272,630 B2", "", "US7272630", "B2"),
        ("US7272630B2", "", "US7272630", "B2"),
        ("US07272630B2", "", "US7272630", "B2"),
        ("7,272,630 B2", "", "US7272630", "B2"),
        ("08926509", "US", "US8926509", ""),
        ("EP.3082535.A1", "", "EP3082535", "A1"),
        ("EP 3 082 535 A1", "", "EP3082535", "A1"),
        ("EP3082535", "", "EP3082535", ""),
        ("WO.2014059282.A2", "", "WO2014059282", "A2"),
        ("WO 2014/059282 A2", "", "WO2014059282", "A2"),
        ("US.9231827.B2", "", "US9231827", "B2"),
    ],
)
def test_publication_numbers(written, office, canonical, kind):
    number = n.publication_number(written, office)
    assert (number.canonical, number.kind) == (canonical, kind)


def test_lookup_keys_cover_application_and_publication_forms():
    assert n.lookup_keys("CN202121635235.X")[0] == "app:CN202121635235"
    assert n.lookup_keys("US 7,272,630 B2") == ["pub:US7272630"]
    with pytest.raises(ValueError, match="known form"):
        n.lookup_keys("???")


@pytest.mark.parametrize(
    ("written", "iso"),
    [
        ("20150304", "2015-03-04"),
        (20150304, "2015-03-04"),
        ("0", ""),
        (0, ""),
        ("", ""),
        (None, ""),
        ("null", ""),
        ("2015-03-04", "2015-03-04"),
        ("2015-03-04T00:00:00Z", "2015-03-04"),
        ("2017-03-01T00:00:00", "2017-03-01"),
        ("2015-03-04T08:30:00+08:00", "2015-03-04"),
        ("2015/3/4 0:00:00", "2015-03-04"),
        ("2014/9/22 0:00:00", "2014-09-22"),
        ("2015/3/4", "2015-03-04"),
        ("2015.03.04", "2015-03-04"),
        (" 20221202 ", "2022-12-02"),
    ],
)
def test_dates(written, iso):
    assert n.iso_date(written) == iso


@pytest.mark.parametrize(
    "written", ["20151332", "2015-02-30", "2015/13/1", "04.03.2015", "yesterday", "1700-01-01"]
)
def test_bad_dates(written):
    with pytest.raises(ValueError, match=r"date|range"):
        n.iso_date(written)


@pytest.mark.parametrize(
    ("written", "canonical", "known"),
    [
        ("G06F 16/00", "G06F 16/00", True),
        ("g06f16/00", "G06F 16/00", True),
        ("H04N5/225", "H04N 5/225", True),
        ("G06F0016000000", "G06F 16/00", True),
        ("G06", "G06", True),
        ("B64U20/80", "B64U 20/80", False),  # 2023 subclass: newer than the shipped edition
        ("G06F 17/30", "G06F 17/30", True),  # older-edition group of a known subclass
        ("G06F 16/00 (2019.01)", "G06F 16/00", True),
    ],
)
def test_ipc_codes(written, canonical, known):
    assert n.ipc_code(written) == canonical
    assert n.is_known_ipc(canonical) is known


@pytest.mark.parametrize("written", ["Z99Z 1/00", "G98F 1/00", "hello", "G06F 0/00", ""])
def test_bad_ipc_codes(written):
    with pytest.raises(ValueError, match=r"IPC"):
        n.ipc_code(written)
