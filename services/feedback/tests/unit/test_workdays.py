"""Working-day deadlines on the 2025/2026 national calendar: table-driven."""

from __future__ import annotations

from datetime import date

import pytest

from puhui.feedback.config import FeedbackConfig
from puhui.feedback.workdays import CHINA_2025_2026, WorkCalendar
from puhui.kit.config import ConfigError, load

D = date.fromisoformat


@pytest.mark.parametrize(
    ("opened", "days", "due", "why"),
    [
        ("2026-11-23", 5, "2026-11-30", "Monday + 5: plain week, lands on the next Monday"),
        ("2026-11-27", 5, "2026-12-04", "Friday + 5: weekend skipped"),
        ("2026-11-27", 1, "2026-11-30", "Friday + 1: Monday"),
        (
            "2026-09-30",
            5,
            "2026-10-13",
            "National Day 10-01..07 off, Saturday 10-10 a make-up workday",
        ),
        ("2026-09-30", 1, "2026-10-08", "the first working day after the Golden Week"),
        ("2026-10-09", 1, "2026-10-10", "Saturday 2026-10-10 is a make-up workday (调休)"),
        ("2026-09-18", 1, "2026-09-20", "Sunday 2026-09-20 is a make-up workday"),
        ("2026-09-24", 1, "2026-09-28", "Mid-Autumn 09-25..27 off"),
        ("2026-02-13", 1, "2026-02-14", "Saturday 2026-02-14 works before the Spring Festival"),
        ("2026-02-14", 1, "2026-02-24", "Spring Festival 02-15..23 off"),
        ("2026-02-13", 5, "2026-02-27", "Spring Festival: 02-14, 02-24..02-27"),
        ("2026-02-13", 6, "2026-02-28", "Saturday 2026-02-28 is a make-up workday"),
        ("2025-12-31", 1, "2026-01-04", "New Year 01-01..03 off, Sunday 01-04 works"),
        ("2025-09-30", 15, "2025-10-28", "2025 Golden Week (10-01..08) and make-up Saturday 10-11"),
        ("2026-04-30", 3, "2026-05-08", "Labour Day 05-01..05 off"),
        ("2026-04-30", 4, "2026-05-09", "Saturday 2026-05-09 is a make-up workday"),
    ],
)
def test_deadline_on_the_national_calendar(opened: str, days: int, due: str, why: str) -> None:
    assert CHINA_2025_2026.add_working_days(D(opened), days) == D(due), why


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2026-10-01", False),  # holiday on a Thursday
        ("2026-10-10", True),  # make-up Saturday
        ("2026-10-11", False),  # ordinary Sunday
        ("2026-10-12", True),  # ordinary Monday
        ("2026-09-20", True),  # make-up Sunday
        ("2026-06-19", False),  # Dragon Boat Festival, a Friday
    ],
)
def test_is_workday(day: str, working: bool) -> None:
    assert CHINA_2025_2026.is_workday(D(day)) is working


def test_configured_calendar_replaces_the_builtin_one() -> None:
    config = load(
        FeedbackConfig,
        {},
        holidays=("2026-12-01",),
        makeup_workdays=("2026-12-05",),
        province_deadlines=("440000=5", "320000=15"),
    )
    calendar = config.calendar()
    assert calendar == WorkCalendar(frozenset({D("2026-12-01")}), frozenset({D("2026-12-05")}))
    # Monday 11-30 + 1: Tuesday 12-01 is a holiday; + 4 reaches the make-up Saturday 12-05.
    assert calendar.add_working_days(D("2026-11-30"), 1) == D("2026-12-02")
    assert calendar.add_working_days(D("2026-11-30"), 4) == D("2026-12-05")
    assert config.deadlines() == {"440000": 5, "320000": 15}


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"holidays": ("2026-13-01",)}, "PUHUI_FEEDBACK_HOLIDAYS"),
        ({"province_deadlines": ("guangdong=5",)}, "PUHUI_FEEDBACK_PROVINCE_DEADLINES"),
        ({"deadline_working_days": 0}, "PUHUI_FEEDBACK_DEADLINE_WORKING_DAYS"),
    ],
)
def test_malformed_calendar_config_names_the_variable(overrides: dict, variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load(FeedbackConfig, {}, **overrides)


def test_working_days_between_counts_the_same_calendar() -> None:
    assert CHINA_2025_2026.working_days_between(D("2026-09-30"), D("2026-10-13")) == 5
