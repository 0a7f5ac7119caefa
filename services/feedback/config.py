"""Feedback settings: the kit's ServiceConfig plus rating, deadline and integrity knobs."""

from __future__ import annotations

import dataclasses
from datetime import date

from puhui.feedback import workdays
from puhui.kit.config import ConfigError, ServiceConfig, setting


def _dates(env: str, raw: tuple[str, ...]) -> frozenset[date]:
    try:
        return workdays.parse_days(raw)
    except ValueError as exc:
        raise ConfigError(
            f"configuration: {env} has {str(exc)!r}, expected YYYY-MM-DD dates "
            "or YYYY-MM-DD..YYYY-MM-DD ranges"
        ) from None


@dataclasses.dataclass(frozen=True)
class FeedbackConfig(ServiceConfig):
    service: str = setting("PUHUI_SERVICE", "feedback", doc="Service name.")
    invitation_days: int = setting(
        "PUHUI_FEEDBACK_INVITATION_DAYS",
        15,
        doc="Days after completion during which a rating is on time; "
        "later ones are accepted and marked late.",
    )
    deadline_working_days: int = setting(
        "PUHUI_FEEDBACK_DEADLINE_WORKING_DAYS",
        5,
        doc="Working days to rectify a bad review, unless the province has its own value.",
    )
    province_deadlines: tuple[str, ...] = setting(
        "PUHUI_FEEDBACK_PROVINCE_DEADLINES",
        (),
        doc="Per-province rectification deadlines in working days, as <province>=<days> pairs.",
        example="440000=5,320000=15",
    )
    holidays: tuple[str, ...] = setting(
        "PUHUI_FEEDBACK_HOLIDAYS",
        (),
        doc="Days off added to the national calendar (the chinesecalendar package): "
        "a province's own holidays, or a year the package does not have yet; "
        "YYYY-MM-DD dates or YYYY-MM-DD..YYYY-MM-DD ranges, comma-separated.",
        example="2027-01-01,2027-02-05..2027-02-11",
    )
    makeup_workdays: tuple[str, ...] = setting(
        "PUHUI_FEEDBACK_MAKEUP_WORKDAYS",
        (),
        doc="Working days added to the national calendar (make-up workdays, 调休, of a year "
        "the package does not have yet, or days a province works); dates or ranges.",
        example="2027-02-13,2027-02-20",
    )
    calendar_known_until: str = setting(
        "PUHUI_FEEDBACK_CALENDAR_KNOWN_UNTIL",
        "",
        doc="Last day (YYYY-MM-DD) the days above complete the calendar to, when they add a "
        "year; empty = the package's last year. Exported as "
        "puhui_feedback_calendar_known_until_timestamp_seconds and alerted on 60 days ahead.",
        example="2027-12-31",
    )
    breach_check_seconds: float = setting(
        "PUHUI_FEEDBACK_BREACH_CHECK_SECONDS",
        60.0,
        doc="How often the deadline-breach job looks for overdue rectification tickets.",
    )
    burst_limit: int = setting(
        "PUHUI_FEEDBACK_BURST_LIMIT",
        10,
        doc="Ratings from one device or address within the burst window "
        "above which ratings are flagged.",
    )
    burst_address_limit: int = setting(
        "PUHUI_FEEDBACK_BURST_ADDRESS_LIMIT",
        50,
        doc="Ratings from one network address within the burst window above which ratings "
        "are flagged (higher than the device limit: many people share an office address).",
    )
    burst_window_seconds: int = setting(
        "PUHUI_FEEDBACK_BURST_WINDOW_SECONDS", 600, doc="Burst-detection window."
    )
    duplicate_threshold: float = setting(
        "PUHUI_FEEDBACK_DUPLICATE_THRESHOLD",
        0.6,
        doc="Character-bigram Jaccard similarity at or above which two reports are grouped.",
    )
    run_consumers: bool = setting(
        "PUHUI_FEEDBACK_RUN_CONSUMERS",
        True,
        doc="Run the index and catalog read-model consumers in this process "
        "(false for API-only replicas).",
    )
    token_key: str = setting(
        "PUHUI_FEEDBACK_TOKEN_KEY",
        "",
        doc="Key deriving rating tokens (so a replayed RecordServiceCase returns the same token); "
        "empty = a random key per process.",
        secret=True,
    )

    def validate(self) -> None:
        super().validate()
        if self.invitation_days < 0:
            raise ConfigError("configuration: PUHUI_FEEDBACK_INVITATION_DAYS must not be negative")
        if self.deadline_working_days < 1:
            raise ConfigError(
                "configuration: PUHUI_FEEDBACK_DEADLINE_WORKING_DAYS must be at least 1"
            )
        self.deadlines()
        self.calendar()
        if not 0 < self.duplicate_threshold <= 1:
            raise ConfigError("configuration: PUHUI_FEEDBACK_DUPLICATE_THRESHOLD must be in (0, 1]")

    def deadlines(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for pair in self.province_deadlines:
            province, _, days = pair.partition("=")
            if not (
                province.strip().isdigit() and len(province.strip()) == 6 and days.strip().isdigit()
            ):
                raise ConfigError(
                    f"configuration: PUHUI_FEEDBACK_PROVINCE_DEADLINES has {pair!r}, "
                    "expected <province>=<days>"
                )
            out[province.strip()] = int(days)
        return out

    def calendar(self) -> workdays.WorkCalendar:
        """The national calendar with this province's differences (deltas, not a copy)."""
        days_off = _dates("PUHUI_FEEDBACK_HOLIDAYS", self.holidays)
        working = _dates("PUHUI_FEEDBACK_MAKEUP_WORKDAYS", self.makeup_workdays)
        known_until = None
        if self.calendar_known_until:
            try:
                known_until = date.fromisoformat(self.calendar_known_until)
            except ValueError:
                raise ConfigError(
                    "configuration: PUHUI_FEEDBACK_CALENDAR_KNOWN_UNTIL has "
                    f"{self.calendar_known_until!r}, expected a YYYY-MM-DD date"
                ) from None
        both = days_off & working
        if both:
            raise ConfigError(
                f"configuration: {min(both).isoformat()} is in both PUHUI_FEEDBACK_HOLIDAYS "
                "and PUHUI_FEEDBACK_MAKEUP_WORKDAYS"
            )
        return workdays.national().overlay(days_off, working, known_until)
