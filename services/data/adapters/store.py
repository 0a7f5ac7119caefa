"""The domain's Store: units of work on the database, one data set's repository each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from puhui.data import domain
from puhui.data.adapters.events import OutboxEvents
from puhui.data.adapters.gi import SqlGiRepository
from puhui.data.adapters.ic_layouts import SqlIcLayoutRepository
from puhui.data.adapters.patents import SqlPatentRepository
from puhui.data.adapters.storage import racing_writers_aborted
from puhui.data.adapters.trademarks import SqlTrademarkRepository
from puhui.kit.db import Database
from puhui.kit.outbox import Outbox

REPOSITORIES: dict[str, Any] = {
    domain.PATENTS: SqlPatentRepository,
    domain.TRADEMARKS: SqlTrademarkRepository,
    domain.GEOGRAPHICAL_INDICATIONS: SqlGiRepository,
    domain.IC_LAYOUTS: SqlIcLayoutRepository,
}


class SqlStore:
    """Writes in one transaction with the outbox (events to `mirror_stream`, announced ones
    also to the events stream); reads on a session with no BEGIN/COMMIT round trips."""

    def __init__(self, db: Database, outbox: Outbox, mirror_stream: str = "mirror") -> None:
        self.db = db
        self.outbox = outbox
        self.mirror_stream = mirror_stream

    @contextmanager
    def writing(self, data_set: str) -> Iterator[tuple[Any, domain.EventSink]]:
        with racing_writers_aborted(), self.db.transaction() as session:
            yield (
                REPOSITORIES[data_set](session),
                OutboxEvents(self.outbox, session, self.mirror_stream),
            )

    @contextmanager
    def reading(self, data_set: str) -> Iterator[Any]:
        with self.db.read() as session:
            yield REPOSITORIES[data_set](session)
