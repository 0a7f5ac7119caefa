"""Data domain: patent (and trademark) records, their validation, content hashes and the
rules of upserting and mirroring them. No proto, no SQL here. The records and their
validation live in `records`, the queries in `queries`; both are re-exported here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from puhui.data import normalise
from puhui.data.errors import ReadOnlyMirror, RecordNotFound
from puhui.data.queries import (
    FACETS,
    MAX_EXPORT_CHUNK,
    GiQuery,
    IcLayoutQuery,
    PatentQuery,
    TrademarkQuery,
    ipc_prefix,
    validate_gi_query,
    validate_ic_layout_query,
    validate_query,
    validate_trademark_query,
)
from puhui.data.records import (
    DATA_SETS,
    GEOGRAPHICAL_INDICATIONS,
    GI_PROTECTION_TYPES,
    HASH_MODULUS,
    IC_LAYOUTS,
    INSERTED,
    MAX_ABSTRACT,
    MAX_PARTIES,
    MAX_TITLE,
    PATENTS,
    TRADEMARKS,
    UNCHANGED,
    UPDATED,
    GeographicalIndication,
    IcLayout,
    Party,
    Patent,
    Record,
    Trademark,
    canonical_content,
    combine,
    content_hash,
    data_set_of,
    hash_hex,
    normalise_gi,
    normalise_ic_layout,
    normalise_patent,
    normalise_record,
    normalise_record_id,
    normalise_trademark,
)
from puhui.kit.errors import InvalidArgument, Violations
from puhui.kit.times import utcnow
from puhui.refdata.divisions import region_prefix

__all__ = [  # with what it re-exports from records and queries
    "DATA_SETS",
    "FACETS",
    "GEOGRAPHICAL_INDICATIONS",
    "GI_PROTECTION_TYPES",
    "HASH_MODULUS",
    "IC_LAYOUTS",
    "INSERTED",
    "MAX_ABSTRACT",
    "MAX_EXPORT_CHUNK",
    "MAX_PARTIES",
    "MAX_TITLE",
    "PATENTS",
    "TRADEMARKS",
    "UNCHANGED",
    "UPDATED",
    "Change",
    "Counts",
    "DataSets",
    "EventSink",
    "GeographicalIndication",
    "GiQuery",
    "GiRepository",
    "IcLayout",
    "IcLayoutQuery",
    "IcLayoutRepository",
    "Outcome",
    "Party",
    "Patent",
    "PatentQuery",
    "PatentRepository",
    "Record",
    "RecordRepository",
    "Store",
    "Trademark",
    "TrademarkQuery",
    "TrademarkRepository",
    "canonical_content",
    "combine",
    "content_hash",
    "data_set_of",
    "get_gi",
    "get_ic_layout",
    "hash_hex",
    "ipc_prefix",
    "lookup_keys_or_invalid",
    "normalise_gi",
    "normalise_ic_layout",
    "normalise_patent",
    "normalise_record",
    "normalise_record_id",
    "normalise_trademark",
    "region_prefix",
    "validate_gi_query",
    "validate_ic_layout_query",
    "validate_query",
    "validate_trademark_query",
]


# The request field each data set's record is written in (`DataSets.put`'s field paths).
PUT_PREFIXES = {
    PATENTS: "patent",
    TRADEMARKS: "trademark",
    GEOGRAPHICAL_INDICATIONS: "indication",
    IC_LAYOUTS: "layout",
}


@dataclass(frozen=True)
class Change:
    data_set: str
    record_id: str
    change: str
    content_hash: str
    previous_hash: str = ""
    sequence: int = 0
    changed_at: datetime | None = None
    source: str = ""


class RecordRepository(Protocol):
    """Storage of one data set."""

    def hashes(self, record_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """record id → (content hash, sequence) for those that exist."""

    def save(self, inserted: Sequence[Any], updated: Sequence[Any]) -> None: ...

    def record_changes(self, changes: Sequence[Change]) -> list[Change]:
        """Append to the change feed; return the changes with their sequence numbers."""


class PatentRepository(RecordRepository, Protocol):
    def get(self, record_id: str) -> Patent | None: ...

    def resolve(self, keys: Sequence[str]) -> str | None:
        """The record id stored under any of the lookup keys."""


class TrademarkRepository(RecordRepository, Protocol):
    def find(self, office: str, number: str) -> Trademark | None: ...


class EventSink(Protocol):
    def records_changed(self, changes: Sequence[tuple[Change, Record]], *, announce: bool) -> None:
        """Publish to the mirror topic (always) and the events topic (if `announce`)."""


class Store(Protocol):
    """Units of work on one data set's storage."""

    def writing(self, data_set: str) -> AbstractContextManager[tuple[Any, EventSink]]:
        """One transaction: the data set's repository and the sink of its events. Two
        writers creating the same new record: the loser's is aborted (retry)."""

    def reading(self, data_set: str) -> AbstractContextManager[Any]:
        """The data set's repository for reads only."""


@dataclass
class Outcome:
    record: Any
    outcome: str

    @property
    def patent(self) -> Patent:
        assert isinstance(self.record, Patent)
        return self.record


@dataclass
class Counts:
    """What an import did: `read == inserted + updated + unchanged + quarantined`, always;
    `unreadable_files` counts the files that could not be read at all (each also one read
    and one quarantined)."""

    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    unreadable_files: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class DataSets:
    """The use cases: put and get one record through `store` (the API), upsert batches
    (imports, with their own repositories), apply mirrored changes (province)."""

    def __init__(
        self,
        node: str,
        *,
        mirror: bool = False,
        store: Store | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.node = node
        self.mirror = mirror
        self.store = store
        self.clock = clock

    def _store(self) -> Store:
        if self.store is None:
            raise RuntimeError("DataSets was built without a store")
        return self.store

    def require_writable(self) -> None:
        if self.mirror:
            raise ReadOnlyMirror(self.node)

    def put(self, record: Record) -> Outcome:
        """Insert or update one record as written by a caller: on the hub only, normalised
        (every violation reported) before anything is written, announced on the events
        topic."""
        self.require_writable()
        record = normalise_record(record, PUT_PREFIXES[data_set_of(record)])
        with self._store().writing(data_set_of(record)) as (repo, events):
            (result,) = self.upsert(
                repo, events, [record], self.clock(), source="api", announce=True
            )
        return result

    def patent(self, number: str) -> Patent:
        with self._store().reading(PATENTS) as repo:
            return self.get_patent(repo, number)

    def trademark(self, number: str) -> Trademark:
        with self._store().reading(TRADEMARKS) as repo:
            return self.get_trademark(repo, number)

    def indication(self, gi_id: str) -> GeographicalIndication:
        with self._store().reading(GEOGRAPHICAL_INDICATIONS) as repo:
            return get_gi(repo, gi_id)

    def ic_layout(self, number: str) -> IcLayout:
        with self._store().reading(IC_LAYOUTS) as repo:
            return get_ic_layout(repo, number)

    def upsert(
        self,
        repo: RecordRepository,
        events: EventSink,
        records: Sequence[Record],
        now: datetime,
        *,
        source: str = "api",
        announce: bool = False,
    ) -> list[Outcome]:
        """Insert new, update changed, skip unchanged records (already normalised, one data
        set). Every insert and update is appended to the change feed, counted into the
        data-set hash and published to the mirror topic in the same transaction."""
        if not records:
            return []
        data_set = data_set_of(records[0])
        latest: dict[str, Record] = {}
        for r in records:  # the last version of a record within one batch wins
            latest[r.record_id] = r
        existing = repo.hashes(list(latest))
        inserted: list[str] = []
        updated: list[str] = []
        removed: list[str] = []
        changes: list[Change] = []
        results: dict[str, Outcome] = {}
        for record_id, r in latest.items():
            before = existing.get(record_id)
            if before is not None and before[0] == r.content_hash:
                results[record_id] = Outcome(replace(r, sequence=before[1]), UNCHANGED)
                continue
            if before is None:
                inserted.append(record_id)
                kind = INSERTED
            else:
                updated.append(record_id)
                removed.append(before[0])
                kind = UPDATED
            changes.append(
                Change(
                    data_set,
                    record_id,
                    kind,
                    r.content_hash,
                    before[0] if before else "",
                    0,
                    now,
                    source,
                )
            )
            results[record_id] = Outcome(replace(r, updated_at=now), kind)
        if changes:
            recorded = repo.record_changes(changes)
            for change in recorded:
                result = results[change.record_id]
                result.record = replace(result.record, sequence=change.sequence)
            repo.save([results[i].record for i in inserted], [results[i].record for i in updated])
            events.records_changed(
                [(change, results[change.record_id].record) for change in recorded],
                announce=announce,
            )
        return [results[r.record_id] for r in records]

    def upsert_patents(
        self,
        repo: PatentRepository,
        events: EventSink,
        patents: Sequence[Patent],
        now: datetime,
        **kw: Any,
    ) -> list[Outcome]:
        return self.upsert(repo, events, patents, now, **kw)

    def apply_mirrored(self, repo: RecordRepository, record: Record, now: datetime) -> str:
        """Apply a change published by the hub; older or equal versions are ignored."""
        self.check_mirrored(record)
        data_set = data_set_of(record)
        before = repo.hashes([record.record_id]).get(record.record_id)
        if before is not None and (
            before[1] >= record.sequence or before[0] == record.content_hash
        ):
            return UNCHANGED
        stamped = replace(record, updated_at=now)
        kind = INSERTED if before is None else UPDATED
        repo.save([stamped] if before is None else [], [stamped] if before is not None else [])
        repo.record_changes(
            [
                Change(
                    data_set,
                    record.record_id,
                    kind,
                    record.content_hash,
                    before[0] if before else "",
                    0,
                    now,
                    "mirror",
                )
            ]
        )
        return kind

    def apply_mirrored_many(
        self, repo: RecordRepository, records: Sequence[Record], now: datetime
    ) -> list[str]:
        """`apply_mirrored` for a batch of one data set, in order, with one read of the stored
        versions, one save and one change-feed insert. The records' content hashes must have
        been checked (`check_mirrored`). The same record twice in the batch is applied as
        one after the other would be: the later version is stored, both changes recorded."""
        if not records:
            return []
        data_set = data_set_of(records[0])
        stored = repo.hashes(list(dict.fromkeys(r.record_id for r in records)))
        state: dict[str, tuple[str, int]] = dict(stored)
        final: dict[str, Record] = {}
        outcomes: list[str] = []
        changes: list[Change] = []
        for record in records:
            before = state.get(record.record_id)
            if before is not None and (
                before[1] >= record.sequence or before[0] == record.content_hash
            ):
                outcomes.append(UNCHANGED)
                continue
            kind = INSERTED if before is None else UPDATED
            state[record.record_id] = (record.content_hash, record.sequence)
            final[record.record_id] = replace(record, updated_at=now)
            changes.append(
                Change(
                    data_set,
                    record.record_id,
                    kind,
                    record.content_hash,
                    before[0] if before else "",
                    0,
                    now,
                    "mirror",
                )
            )
            outcomes.append(kind)
        repo.save(
            [r for i, r in final.items() if i not in stored],
            [r for i, r in final.items() if i in stored],
        )
        if changes:
            repo.record_changes(changes)
        return outcomes

    @staticmethod
    def check_mirrored(record: Record) -> None:
        """A mirrored record must carry the hash of its content (else it is never applied)."""
        if content_hash(record) != record.content_hash:
            raise InvalidArgument.field("content_hash", "does not match the record's content")

    def get_patent(self, repo: PatentRepository, number: str) -> Patent:
        keys = lookup_keys_or_invalid(number, "number")
        record_id = repo.resolve(keys)
        found = repo.get(record_id) if record_id else None
        if found is None:
            raise RecordNotFound("patent", number)
        return found

    def get_trademark(self, repo: TrademarkRepository, number: str) -> Trademark:
        text = "".join(number.split()).upper()
        if not text:
            raise InvalidArgument.field("number", "is required")
        if len(text) > 30 or not text.isalnum():
            raise InvalidArgument.field(
                "number", "letters and digits, e.g. CN16435657 or EM000274084"
            )
        office, digits = (text[:2], text[2:]) if text[:2].isalpha() else ("", text)
        found = repo.find(office, digits)
        if found is None:
            raise RecordNotFound("trademark", number)
        return found


def lookup_keys_or_invalid(number: str, field_path: str) -> list[str]:
    if not number.strip():
        raise InvalidArgument.field(field_path, "is required")
    if len(number) > 64:
        raise InvalidArgument.field(field_path, "at most 64 characters")
    try:
        return normalise.lookup_keys(number)
    except ValueError as exc:
        raise InvalidArgument.field(field_path, str(exc)) from None


class GiRepository(RecordRepository, Protocol):
    def get(self, record_id: str) -> GeographicalIndication | None: ...


class IcLayoutRepository(RecordRepository, Protocol):
    def get(self, record_id: str) -> IcLayout | None: ...


def get_gi(repo: GiRepository, gi_id: str) -> GeographicalIndication:
    v = Violations()
    key = normalise_record_id(gi_id, "gi_id", v, "AGI00001")
    v.raise_if_any()
    found = repo.get(key)
    if found is None:
        raise RecordNotFound("geographical indication", gi_id)
    return found


def get_ic_layout(repo: IcLayoutRepository, number: str) -> IcLayout:
    v = Violations()
    key = normalise_record_id(number, "registration_number", v, "BS.245500012")
    v.raise_if_any()
    found = repo.get(key)
    if found is None:
        raise RecordNotFound("IC layout design", number)
    return found
