"""In-memory fakes of the data service's own adapters (unit tests only)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from puhui.data import domain


class FakePatentRepository:
    def __init__(self) -> None:
        self.records: dict[str, domain.Patent] = {}
        self.numbers: dict[str, str] = {}
        self.changes: list[domain.Change] = []

    def hashes(self, record_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        return {
            r: (self.records[r].content_hash, self.records[r].sequence)
            for r in record_ids
            if r in self.records
        }

    def get(self, record_id: str) -> domain.Patent | None:
        return self.records.get(record_id)

    def resolve(self, keys: Sequence[str]) -> str | None:
        return next((self.numbers[k] for k in keys if k in self.numbers), None)

    def save(self, inserted: Sequence[domain.Patent], updated: Sequence[domain.Patent]) -> None:
        for p in (*inserted, *updated):
            self.records[p.record_id] = p
            for key in p.lookup_keys():
                self.numbers[key] = p.record_id

    def find(self, office: str, number: str):  # as a TrademarkRepository
        for r in self.records.values():
            if (not office or r.office == office) and number in (
                r.application_number,
                r.registration_number,
            ):
                return r
        return None

    def record_changes(self, changes: Sequence[domain.Change]) -> list[domain.Change]:
        out = []
        for c in changes:
            recorded = replace(c, sequence=len(self.changes) + 1)
            self.changes.append(recorded)
            out.append(recorded)
        return out


class FakeEvents:
    def __init__(self) -> None:
        self.published: list[tuple[str, str, bool]] = []

    def records_changed(self, changes, *, announce: bool) -> None:
        for change, record in changes:
            self.published.append((change.change, record.record_id, announce))


class FakeStore:
    """The domain's Store over one fake repository and one fake event sink; counts the
    units of work opened for writing."""

    def __init__(self) -> None:
        self.repo = FakePatentRepository()
        self.events = FakeEvents()
        self.writes = 0

    @contextmanager
    def writing(self, data_set: str) -> Iterator[tuple[FakePatentRepository, FakeEvents]]:
        self.writes += 1
        yield self.repo, self.events

    @contextmanager
    def reading(self, data_set: str) -> Iterator[FakePatentRepository]:
        yield self.repo
