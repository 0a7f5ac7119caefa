"""The storage the use cases ask for: one unit of work gives the repositories and the event
sink of one transaction (adapters/unit_of_work.py implements it). Match reads through its own
port, `match.MatchCandidates` (adapters/match.py)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from puhui.catalog.domain.common import EventSink
from puhui.catalog.domain.institutions import InstitutionRepository
from puhui.catalog.domain.items import ServiceItemRepository


class Reads(Protocol):
    @property
    def institutions(self) -> InstitutionRepository: ...

    @property
    def items(self) -> ServiceItemRepository: ...


class Transaction(Reads, Protocol):
    @property
    def events(self) -> EventSink: ...


class UnitOfWork(Protocol):
    def write(self) -> AbstractContextManager[Transaction]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        ...

    def read(self) -> AbstractContextManager[Reads]: ...
