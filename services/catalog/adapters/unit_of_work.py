"""The domain's UnitOfWork on SQLAlchemy sessions: a transaction's repositories and its
outbox event sink, or a read session's repositories."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from puhui.catalog.adapters.events import OutboxEvents
from puhui.catalog.adapters.institutions import SqlInstitutionRepository
from puhui.catalog.adapters.items import SqlServiceItemRepository
from puhui.catalog.adapters.search import TotalCache
from puhui.kit.db import Database
from puhui.kit.outbox import Outbox


class SqlReads:
    __slots__ = ("institutions", "items")

    def __init__(
        self, institutions: SqlInstitutionRepository, items: SqlServiceItemRepository
    ) -> None:
        self.institutions = institutions
        self.items = items


class SqlTransaction(SqlReads):
    __slots__ = ("events",)

    def __init__(
        self,
        institutions: SqlInstitutionRepository,
        items: SqlServiceItemRepository,
        events: OutboxEvents,
    ) -> None:
        super().__init__(institutions, items)
        self.events = events


class SqlUnitOfWork:
    """Writes in one transaction each, events in the outbox with them; reads on the read
    pool, searches with the per-process total cache."""

    def __init__(self, db: Database, outbox: Outbox, totals: TotalCache | None = None) -> None:
        self.db = db
        self.outbox = outbox
        self.totals = totals

    @contextmanager
    def write(self) -> Iterator[SqlTransaction]:
        with self.db.transaction() as session:
            yield SqlTransaction(
                SqlInstitutionRepository(session),
                SqlServiceItemRepository(session),
                OutboxEvents(self.outbox, session),
            )

    @contextmanager
    def read(self) -> Iterator[SqlReads]:
        with self.db.read() as session:
            yield SqlReads(
                SqlInstitutionRepository(session, self.totals),
                SqlServiceItemRepository(session, self.totals),
            )
