"""Working-day calendar: weekends and public holidays are off, make-up workdays (调休) on a
weekend are on. Pure: no I/O, no clock.

Deadlines count whole working days after the day a ticket opened: a ticket opened on a
Friday with 5 working days is due the next Friday (if no holiday intervenes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    makeup_workdays: frozenset[date] = field(default_factory=frozenset)

    def is_workday(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (start itself does not count)."""
        if days < 0:
            raise ValueError("days must not be negative")
        current = start
        remaining = days
        while remaining:
            current += timedelta(days=1)
            if self.is_workday(current):
                remaining -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        count = 0
        current = start
        while current < end:
            current += timedelta(days=1)
            count += self.is_workday(current)
        return count


def _span(first: str, last: str) -> Iterable[date]:
    day, end = date.fromisoformat(first), date.fromisoformat(last)
    while day <= end:
        yield day
        day += timedelta(days=1)


def _days(*spans: tuple[str, str]) -> frozenset[date]:
    return frozenset(d for a, b in spans for d in _span(a, b))


# The national arrangement published by the General Office of the State Council for 2025
# and 2026 (see SOURCES.md). An example configuration: a node may configure its own.
CHINA_2025_2026 = WorkCalendar(
    holidays=_days(
        # 2025
        ("2025-01-01", "2025-01-01"),  # 元旦
        ("2025-01-28", "2025-02-04"),  # 春节
        ("2025-04-04", "2025-04-06"),  # 清明节
        ("2025-05-01", "2025-05-05"),  # 劳动节
        ("2025-05-31", "2025-06-02"),  # 端午节
        ("2025-10-01", "2025-10-08"),  # 国庆节、中秋节
        # 2026
        ("2026-01-01", "2026-01-03"),  # 元旦
        ("2026-02-15", "2026-02-23"),  # 春节
        ("2026-04-04", "2026-04-06"),  # 清明节
        ("2026-05-01", "2026-05-05"),  # 劳动节
        ("2026-06-19", "2026-06-21"),  # 端午节
        ("2026-09-25", "2026-09-27"),  # 中秋节
        ("2026-10-01", "2026-10-07"),  # 国庆节
    ),
    makeup_workdays=frozenset(
        date.fromisoformat(d)
        for d in (
            "2025-01-26",
            "2025-02-08",
            "2025-04-27",
            "2025-09-28",
            "2025-10-11",
            "2026-01-04",
            "2026-02-14",
            "2026-02-28",
            "2026-05-09",
            "2026-09-20",
            "2026-10-10",
        )
    ),
)
