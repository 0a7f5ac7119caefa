"""Working-day deadlines on the national calendar (the chinesecalendar package) and a
province's deltas over it: table-driven."""

from __future__ import annotations

from datetime import date

import pytest
from prometheus_client import REGISTRY

from puhui.feedback import metrics
from puhui.feedback.config import FeedbackConfig
from puhui.feedback.workdays import WorkCalendar, national
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
    assert national().add_working_days(D(opened), days) == D(due), why


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
    assert national().is_workday(D(day)) is working


def test_a_province_states_only_its_differences_from_the_national_calendar() -> None:
    config = load(
        FeedbackConfig,
        {},
        holidays=("2026-12-01",),
        makeup_workdays=("2026-12-05", "2026-10-07"),
        province_deadlines=("440000=5", "320000=15"),
    )
    calendar = config.calendar()
    # Monday 11-30 + 1: Tuesday 12-01 is the province's holiday; + 4 reaches its Saturday.
    assert calendar.add_working_days(D("2026-11-30"), 1) == D("2026-12-02")
    assert calendar.add_working_days(D("2026-11-30"), 4) == D("2026-12-05")
    # The national calendar still applies everywhere else (Golden Week, its make-up days)...
    assert not calendar.is_workday(D("2026-10-06"))
    assert calendar.is_workday(D("2026-10-10"))
    # ...except where the province works on a national day off.
    assert not national().is_workday(D("2026-10-07"))
    assert calendar.is_workday(D("2026-10-07"))
    assert calendar.known_until == national().known_until
    assert config.deadlines() == {"440000": 5, "320000": 15}


def test_the_national_calendar_knows_its_horizon() -> None:
    # chinesecalendar 1.11.0 (2025-11) holds the arrangements up to 2026: the State
    # Council's notice for 2027 was not in any release when this was written.
    horizon = national().known_until
    assert horizon is not None
    assert horizon >= D("2026-12-31")
    assert national().is_known(horizon)
    assert not national().is_known(D(f"{horizon.year + 1}-01-01"))


# 全国年节及纪念日放假办法 (2024 revision), art. 2: the Spring Festival is 农历除夕 and the
# first three days of the first lunar month: 2027-02-05 (Friday) to 2027-02-08 (Monday).
SPRING_FESTIVAL_2027 = "2027-02-05..2027-02-08"


def test_a_deadline_across_the_2027_spring_festival() -> None:
    """The operator's way to add a year the package does not have yet (docs/calendar.md):
    days off and make-up days as deltas, and how far they complete the calendar."""
    config = load(
        FeedbackConfig,
        {},
        holidays=("2027-01-01", SPRING_FESTIVAL_2027),
        calendar_known_until="2027-12-31",
    )
    calendar = config.calendar()
    assert not calendar.is_workday(D("2027-02-08")), "the Monday of the 2027 Spring Festival"
    # Opened Thursday 2027-02-04 with 5 working days: 02-05..02-08 off, 02-09..02-12 are
    # four, the fifth is Monday 02-15. When a chinesecalendar release brings the State
    # Council's 2027 notice, its make-up days may move this: check it against the notice.
    assert calendar.add_working_days(D("2027-02-04"), 5) == D("2027-02-15")
    assert calendar.known_until == D("2027-12-31")
    assert calendar.is_known(D("2027-02-08"))


def test_past_the_horizon_a_day_is_not_known() -> None:
    calendar = WorkCalendar(known_until=D("2026-12-31"))
    assert calendar.is_known(D("2026-12-31"))
    assert not calendar.is_known(D("2027-02-08"))
    # Past the horizon only weekends are off: the reason for the metric and the alert.
    assert calendar.is_workday(D("2027-02-08"))


def test_the_horizon_is_exported_as_the_midnight_after_the_last_day_china_time() -> None:
    assert metrics.calendar_end(D("2026-12-31")) == 1798732800.0  # 2026-12-31T16:00Z
    metrics.watch_calendar("449900", WorkCalendar(known_until=D("2026-12-31")))
    try:
        sample = REGISTRY.get_sample_value(
            "puhui_feedback_calendar_known_until_timestamp_seconds", {"node": "449900"}
        )
        assert sample == metrics.calendar_end(D("2026-12-31"))
    finally:
        metrics.unwatch_calendar("449900")


def test_operator_horizon_never_shortens_the_package_one() -> None:
    horizon = national().known_until
    assert horizon is not None
    shorter = national().overlay(known_until=D("2020-12-31"))
    assert shorter.known_until == horizon


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"holidays": ("2026-13-01",)}, "PUHUI_FEEDBACK_HOLIDAYS"),
        ({"holidays": ("2027-02-08..2027-02-05",)}, "PUHUI_FEEDBACK_HOLIDAYS"),
        ({"makeup_workdays": ("2027-02-20..",)}, "PUHUI_FEEDBACK_MAKEUP_WORKDAYS"),
        ({"calendar_known_until": "2027"}, "PUHUI_FEEDBACK_CALENDAR_KNOWN_UNTIL"),
        (
            {"holidays": ("2027-02-20",), "makeup_workdays": ("2027-02-20",)},
            "PUHUI_FEEDBACK_HOLIDAYS",
        ),
        ({"province_deadlines": ("guangdong=5",)}, "PUHUI_FEEDBACK_PROVINCE_DEADLINES"),
        ({"deadline_working_days": 0}, "PUHUI_FEEDBACK_DEADLINE_WORKING_DAYS"),
    ],
)
def test_malformed_calendar_config_names_the_variable(overrides: dict, variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load(FeedbackConfig, {}, **overrides)


def test_working_days_between_counts_the_same_calendar() -> None:
    assert national().working_days_between(D("2026-09-30"), D("2026-10-13")) == 5
