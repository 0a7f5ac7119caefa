"""Feedback storage: the tables (re-exported from `tables`) and `SqlRepository`, every
feedback repository over one session, joined from one SQL module per aggregate."""

from __future__ import annotations

from puhui.feedback.adapters.sql_cases import SqlCaseRepository, rating_values
from puhui.feedback.adapters.sql_reports import SqlReportRepository
from puhui.feedback.adapters.sql_tickets import SqlTicketRepository
from puhui.feedback.adapters.tables import (
    appeals,
    cases,
    catalog_institutions,
    catalog_items,
    identity_persons,
    inbox,
    metadata,
    outbox,
    ratings,
    report_groups,
    reports,
    satisfaction,
    tickets,
)


class SqlRepository(SqlCaseRepository, SqlTicketRepository, SqlReportRepository):
    """All feedback repositories over one session (one transaction)."""


__all__ = [
    "SqlRepository",
    "appeals",
    "cases",
    "catalog_institutions",
    "catalog_items",
    "identity_persons",
    "inbox",
    "metadata",
    "outbox",
    "rating_values",
    "ratings",
    "report_groups",
    "reports",
    "satisfaction",
    "tickets",
]
