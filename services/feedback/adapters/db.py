"""Feedback storage: the tables (re-exported from `tables`), `SqlRepository` (every
feedback repository over one session, joined from one SQL module per aggregate) and
`SqlUnitOfWork`, the domain's unit of work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from puhui.feedback import errors
from puhui.feedback.adapters.indices import read_index
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
from puhui.feedback.domain import EventSink, IndexCounts
from puhui.kit.db import Database


class SqlRepository(SqlCaseRepository, SqlTicketRepository, SqlReportRepository):
    """All feedback repositories over one session (one transaction)."""

    def index_counts(self, scope: str, period: str) -> IndexCounts:
        return read_index(self.session, scope, period)


class SqlUnitOfWork:
    """The domain's UnitOfWork: a transaction yielding the repository and the event sink
    bound to it (a unique-constraint race surfaces as `errors.Conflict`), or a read-only
    session (`Database.read`: no BEGIN/COMMIT round trips)."""

    def __init__(self, db: Database, sink_factory: Callable[[Session], EventSink]) -> None:
        self.db = db
        self.sink_factory = sink_factory

    @contextmanager
    def __call__(self) -> Iterator[tuple[SqlRepository, EventSink]]:
        try:
            with self.db.transaction() as session:
                yield SqlRepository(session), self.sink_factory(session)
        except IntegrityError as exc:
            raise errors.Conflict() from exc

    @contextmanager
    def read(self) -> Iterator[SqlRepository]:
        with self.db.read() as session:
            yield SqlRepository(session)


__all__ = [
    "SqlRepository",
    "SqlUnitOfWork",
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
