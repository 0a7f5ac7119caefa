"""Working-day calendar: weekends and public holidays are off, make-up workdays (调休) on a
weekend are on. Pure: no I/O, no clock.

The national arrangement comes from the `chinesecalendar` package (the State Council's
yearly notice, transcribed and released by its maintainers; ADR 0017). A province states
only its differences from it (`WorkCalendar.overlay`): extra days off, extra working days
and, when it adds a year the package does not have yet, how far its own data reaches.

A calendar knows the days up to `known_until`. Past that day only weekends are off: a
deadline computed there may be wrong, which is why the horizon is exported as a metric and
alerted on 60 days before it runs out (deploy/prometheus).

Deadlines count whole working days after the day a ticket opened: a ticket opened on a
Friday with 5 working days is due the next Friday (if no holiday intervenes).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    makeup_workdays: frozenset[date] = field(default_factory=frozenset)
    # The last day the calendar's data covers (None: weekends only, no horizon to watch).
    known_until: date | None = None

    def is_workday(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def is_known(self, day: date) -> bool:
        """Does the calendar's data cover `day`? (Past the horizon only weekends are off.)"""
        return self.known_until is None or day <= self.known_until

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

    def overlay(
        self,
        days_off: Iterable[date] = (),
        working_days: Iterable[date] = (),
        known_until: date | None = None,
    ) -> WorkCalendar:
        """This calendar with a province's differences: `days_off` are off and
        `working_days` are worked whatever the base says; `known_until` extends the horizon
        (an operator adding a year), never shortens it."""
        off, on = frozenset(days_off), frozenset(working_days)
        both = off & on
        if both:
            raise ValueError(f"both a day off and a working day: {sorted(both)[0].isoformat()}")
        horizon = self.known_until
        if known_until is not None and (horizon is None or known_until > horizon):
            horizon = known_until
        return WorkCalendar(
            holidays=(self.holidays - on) | off,
            makeup_workdays=(self.makeup_workdays - off) | on,
            known_until=horizon,
        )


@functools.cache
def national() -> WorkCalendar:
    """The national calendar as the installed `chinesecalendar` release knows it, up to the
    last day of the last year it holds. Upgrading the package (`uv lock --upgrade-package
    chinesecalendar`) brings a new year once its maintainers have published it."""
    holidays = frozenset(chinese_calendar.holidays)
    makeup = frozenset(chinese_calendar.workdays)
    last_year = max(day.year for day in holidays | makeup)
    return WorkCalendar(
        holidays=holidays, makeup_workdays=makeup, known_until=date(last_year, 12, 31)
    )


def parse_days(items: Iterable[str]) -> frozenset[date]:
    """Dates and inclusive ranges: `2027-02-05`, `2027-02-05..2027-02-11`. Raises ValueError
    naming the item that is neither."""
    out: set[date] = set()
    for item in items:
        first, sep, last = item.strip().partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if sep else start
        except ValueError:
            raise ValueError(item) from None
        if end < start:
            raise ValueError(item)
        while start <= end:
            out.add(start)
            start += timedelta(days=1)
    return frozenset(out)
