"""The importer: source items → validated records → batched, idempotent upserts.

Each batch is one transaction: the records' upserts, their change-feed rows, the data-set
statistics, the mirror events (outbox) and the quarantine rows of the batch's bad records
commit together. If the database refuses a batch, it is retried record by record so that
only the offending records are quarantined. Memory holds one batch.

Every item read is counted once: `read == inserted + updated + unchanged + quarantined`.
A record met twice in one file (two documents of one application) is two reads and two
outcomes: the batch holding the first is written before the second joins a batch, exactly
as if they had come in two files. A file that cannot be read at all is one read, one
quarantined row ("whole file") and `unreadable_files == 1`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError, IntegrityError

from puhui.data import domain
from puhui.data.adapters.events import OutboxEvents
from puhui.data.adapters.store import REPOSITORIES
from puhui.data.adapters.tables import quarantine
from puhui.data.importers import sources
from puhui.kit.db import Database
from puhui.kit.errors import InvalidArgument
from puhui.kit.ids import new_id
from puhui.kit.outbox import Outbox
from puhui.kit.times import utcnow

logger = logging.getLogger(__name__)


@dataclass
class Rejection:
    position: str
    reason: str
    raw: str = ""
    data_set: str = ""


Progress = Callable[[domain.Counts, int, int], None]
"""Called after each batch with the file's counts so far, its bytes read and its size."""


@dataclass
class Batch:
    records: list[tuple[str, domain.Record]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    pending: tuple[str, domain.Record] | None = None

    def __len__(self) -> int:
        return len(self.records) + len(self.rejections)

    def rest(self) -> Batch:
        """The next batch: empty, or holding the record that had to wait for this one."""
        following = Batch()
        if self.pending is not None:
            position, record = self.pending
            following.records.append((position, record))
            following.ids.add(f"{domain.data_set_of(record)}/{record.record_id}")
        return following


class Importer:
    def __init__(
        self,
        db: Database,
        data_sets: domain.DataSets,
        outbox: Outbox,
        *,
        mirror_stream: str = "mirror",
        batch_size: int = 500,
    ) -> None:
        self.db = db
        self.data_sets = data_sets
        self.outbox = outbox
        self.mirror_stream = mirror_stream
        self.batch_size = batch_size

    def run(
        self,
        format_name: str,
        path: Path,
        *,
        import_id: str = "",
        encoding: str = "auto",
        progress: Progress | None = None,
    ) -> domain.Counts:
        """Import one file; bad records are quarantined, the rest committed."""
        self.data_sets.require_writable()
        import_id = import_id or new_id()
        counts = domain.Counts()
        batch = Batch()
        options = sources.ReadOptions(encoding)
        default_set = sources.data_set_of(format_name)
        size = path.stat().st_size if progress is not None and path.is_file() else 0
        try:
            for item in sources.read(format_name, path, options):
                counts.read += 1
                if self._add(batch, item, default_set) or len(batch) >= self.batch_size:
                    self._flush(batch, path, import_id, counts)
                    batch = batch.rest()
                    if progress is not None:
                        progress(counts, options.bytes_done(size), size)
        except (OSError, ValueError) as exc:  # the file as a whole is unreadable
            counts.read += 1
            counts.unreadable_files += 1
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            batch.rejections.append(
                Rejection("whole file", f"unreadable: {reason}", data_set=default_set)
            )
        self._flush(batch, path, import_id, counts)
        if progress is not None:
            progress(counts, size, size)
        logger.info("import %s of %s (%s): %s", import_id, path.name, format_name, counts.as_dict())
        return counts

    def _add(self, batch: Batch, item: sources.Item, default_set: str) -> bool:
        """Add an item; True if the batch must be written first (it holds the same record):
        the item is then kept back for the next batch (`Batch.rest`)."""
        if item.error or item.record is None:
            batch.rejections.append(
                Rejection(
                    item.position,
                    item.error or "empty record",
                    item.raw,
                    item.data_set or default_set,
                )
            )
            return False
        try:
            record = domain.normalise_record(item.record, "record")
        except InvalidArgument as exc:
            batch.rejections.append(
                Rejection(item.position, exc.message, item.raw, domain.data_set_of(item.record))
            )
            return False
        key = f"{domain.data_set_of(record)}/{record.record_id}"
        if key in batch.ids:  # write the earlier version first: both are counted
            batch.pending = (item.position, record)
            return True
        batch.ids.add(key)
        batch.records.append((item.position, record))
        return False

    def _flush(self, batch: Batch, path: Path, import_id: str, counts: domain.Counts) -> None:
        if not len(batch):
            return
        try:
            outcomes = self._write(batch.records, batch.rejections, path, import_id)
        except (IntegrityError, DBAPIError, psycopg.Error):
            logger.warning(
                "import %s: batch refused by the database; retrying one by one",
                import_id,
                exc_info=True,
            )
            outcomes = []
            self._write([], batch.rejections, path, import_id)
            for position, record in batch.records:
                try:
                    outcomes += self._write([(position, record)], [], path, import_id)
                except (IntegrityError, DBAPIError, psycopg.Error) as exc:
                    cause = getattr(exc, "orig", None) or exc
                    reason = f"refused by the database: {type(cause).__name__}"
                    rejection = Rejection(position, reason, data_set=domain.data_set_of(record))
                    self._write([], [rejection], path, import_id)
                    counts.quarantined += 1
        counts.quarantined += len(batch.rejections)
        for outcome in outcomes:
            counts.add(outcome)

    def _write(
        self,
        records: list[tuple[str, domain.Record]],
        rejections: Iterable[Rejection],
        path: Path,
        import_id: str,
    ) -> list[str]:
        now = utcnow()
        outcomes: list[str] = []
        with self.db.transaction() as session:
            events = OutboxEvents(self.outbox, session, self.mirror_stream)
            source = f"import:{path.name}"[:300]
            repos: dict[str, domain.RecordRepository] = {
                data_set: repository(session) for data_set, repository in REPOSITORIES.items()
            }
            for data_set, repo in repos.items():
                group = [r for _, r in records if domain.data_set_of(r) == data_set]
                if group:
                    results = self.data_sets.upsert(repo, events, group, now, source=source)
                    outcomes += [r.outcome for r in results]
            rows: list[dict[str, Any]] = [
                {
                    "import_id": import_id,
                    "data_set": r.data_set,
                    "file": str(path)[-500:],
                    "position": r.position[:100],
                    "reason": r.reason,
                    "raw": r.raw[: sources.MAX_RAW],
                    "created_at": now,
                }
                for r in rejections
            ]
            if rows:
                session.execute(quarantine.insert(), rows)
        return outcomes
