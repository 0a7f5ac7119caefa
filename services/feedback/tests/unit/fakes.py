"""In-memory fakes of the feedback adapters (checked against SqlRepository by
test_repository_contract.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from puhui.feedback import domain


@dataclass
class FakeRepository:
    cases: dict[str, domain.ServiceCase] = field(default_factory=dict)
    ratings: dict[str, domain.Rating] = field(default_factory=dict)
    tickets: dict[str, domain.Ticket] = field(default_factory=dict)
    appeals: dict[str, domain.Appeal] = field(default_factory=dict)
    groups: dict[str, tuple[domain.ReportGroup, datetime]] = field(default_factory=dict)
    reports: dict[str, domain.Report] = field(default_factory=dict)
    supply: dict[str, list[domain.Supplier]] = field(default_factory=dict)
    indices: dict[tuple[str, str], domain.IndexCounts] = field(default_factory=dict)
    # read models: item id -> institution id; registered persons
    items: dict[str, str] = field(default_factory=dict)
    persons: set[str] = field(default_factory=set)

    def item_institution(self, item_id: str) -> str | None:
        return self.items.get(item_id)

    def person_known(self, person_id: str) -> bool:
        return person_id in self.persons

    def add_case(self, case: domain.ServiceCase) -> None:
        assert case.case_id not in self.cases
        assert all(
            (c.institution_id, c.request_id) != (case.institution_id, case.request_id)
            for c in self.cases.values()
        )
        self.cases[case.case_id] = case

    def get_case(self, case_id: str) -> domain.ServiceCase | None:
        return self.cases.get(case_id)

    def case_by_request(self, institution_id: str, request_id: str) -> domain.ServiceCase | None:
        return next(
            (
                c
                for c in self.cases.values()
                if (c.institution_id, c.request_id) == (institution_id, request_id)
            ),
            None,
        )

    def case_by_token(self, token_hash: str) -> domain.ServiceCase | None:
        return next((c for c in self.cases.values() if c.token_hash == token_hash), None)

    def update_case(self, case: domain.ServiceCase) -> None:
        self.cases[case.case_id] = case

    def add_rating(self, rating: domain.Rating) -> None:
        assert all(
            (r.case_id, r.stage) != (rating.case_id, rating.stage) for r in self.ratings.values()
        )
        self.ratings[rating.rating_id] = rating

    def get_rating(self, rating_id: str, lock: bool = False) -> domain.Rating | None:
        return self.ratings.get(rating_id)

    def rating_by_client(self, kiosk_id: str, client_rating_id: str) -> domain.Rating | None:
        return next(
            (
                r
                for r in self.ratings.values()
                if r.kiosk_id and (r.kiosk_id, r.client_rating_id) == (kiosk_id, client_rating_id)
            ),
            None,
        )

    def set_excluded(self, rating_id: str) -> None:
        self.ratings[rating_id] = replace(self.ratings[rating_id], excluded=True)

    def list_ratings(
        self, query: domain.RatingQuery, size: int, after: str
    ) -> tuple[list[domain.Rating], int]:
        found = sorted(
            (
                r
                for r in self.ratings.values()
                if r.institution_id == query.institution_id
                and (not query.flagged_only or r.flagged)
                and (not query.bad_only or r.level.is_bad)
            ),
            key=lambda r: (r.rated_at, r.rating_id),
            reverse=True,
        )
        if after:
            moment, _, rid = after.partition("|")
            cursor = (datetime.fromisoformat(moment), rid)
            found_after = [r for r in found if (r.rated_at, r.rating_id) < cursor]
        else:
            found_after = found
        return found_after[:size], len(found)

    def add_ticket(self, ticket: domain.Ticket) -> None:
        self.tickets[ticket.ticket_id] = ticket

    def get_ticket(self, ticket_id: str, lock: bool = False) -> domain.Ticket | None:
        return self.tickets.get(ticket_id)

    def update_ticket(self, ticket: domain.Ticket) -> None:
        self.tickets[ticket.ticket_id] = ticket

    def list_tickets(
        self, query: domain.TicketQuery, size: int, after: str
    ) -> tuple[list[domain.Ticket], int]:
        found = sorted(
            (
                t
                for t in self.tickets.values()
                if t.institution_id == query.institution_id
                and (not query.states or t.state in query.states)
                and (not query.breached_only or t.breached)
            ),
            key=lambda t: t.ticket_id,
        )
        return [t for t in found if t.ticket_id > after][:size], len(found)

    def overdue_tickets(self, today: date, limit: int) -> list[domain.Ticket]:
        found = [
            t
            for t in self.tickets.values()
            if t.state in domain.OPEN_STATES and not t.breached and t.due_date < today
        ]
        return sorted(found, key=lambda t: (t.due_date, t.ticket_id))[:limit]

    def add_appeal(self, appeal: domain.Appeal) -> None:
        self.appeals[appeal.appeal_id] = appeal

    def get_appeal(self, appeal_id: str, lock: bool = False) -> domain.Appeal | None:
        return self.appeals.get(appeal_id)

    def update_appeal(self, appeal: domain.Appeal) -> None:
        self.appeals[appeal.appeal_id] = appeal

    def appeals_for(self, rating_id: str) -> list[domain.Appeal]:
        return [a for a in self.appeals.values() if a.rating_id == rating_id]

    def groups_in(
        self, kind: domain.ReportKind, category: str, region_code: str
    ) -> list[domain.ReportGroup]:
        found = [
            (g, at)
            for g, at in self.groups.values()
            if (g.kind, g.category, g.region_code) == (kind, category, region_code)
        ]
        return [g for g, _ in sorted(found, key=lambda x: x[1], reverse=True)]

    def add_group(self, group: domain.ReportGroup, now: datetime) -> None:
        self.groups[group.group_id] = (group, now)

    def grow_group(self, group_id: str) -> None:
        group, at = self.groups[group_id]
        self.groups[group_id] = (replace(group, size=group.size + 1), at)

    def add_report(self, report: domain.Report) -> None:
        self.reports[report.report_id] = report

    def need_counts(self, region_code: str) -> list[tuple[str, str, int]]:
        prefix = domain.region_prefix(region_code) if region_code else ""
        counts: dict[tuple[str, str], int] = {}
        for r in self.reports.values():
            if r.kind == domain.ReportKind.NEED and r.region_code.startswith(prefix):
                counts[(r.category, r.region_code)] = counts.get((r.category, r.region_code), 0) + 1
        return [(c, reg, n) for (c, reg), n in counts.items()]

    def suppliers(self, category: str) -> list[domain.Supplier]:
        return list(self.supply.get(category, []))

    def list_groups(
        self, kind: int, region_code: str, size: int, after: str
    ) -> tuple[list[domain.ReportGroup], int]:
        prefix = domain.region_prefix(region_code) if region_code else ""
        found = sorted(
            (
                g
                for g, _ in self.groups.values()
                if (not kind or g.kind == kind) and g.region_code.startswith(prefix)
            ),
            key=lambda g: (-g.size, g.group_id),
        )
        if after:
            size_text, _, gid = after.partition(":")
            found_after = [g for g in found if (-g.size, g.group_id) > (-int(size_text), gid)]
        else:
            found_after = found
        return found_after[:size], len(found)

    def index_counts(self, scope: str, period: str) -> domain.IndexCounts:
        return self.indices.get((scope, period), domain.IndexCounts())


class FakeUnitOfWork:
    """Every unit of work and read runs on the same fake repository and sink (no rollback:
    the use cases check everything before they write)."""

    def __init__(self, repo: FakeRepository, sink: FakeSink) -> None:
        self.repo = repo
        self.sink = sink

    @contextmanager
    def __call__(self) -> Iterator[tuple[FakeRepository, FakeSink]]:
        yield self.repo, self.sink

    @contextmanager
    def read(self) -> Iterator[FakeRepository]:
        yield self.repo


class FakeSink:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def case_recorded(self, case: domain.ServiceCase) -> None:
        self.events.append(("case_recorded", case))

    def rating_submitted(self, rating: domain.Rating) -> None:
        self.events.append(("rating_submitted", rating))

    def ticket_changed(self, ticket: domain.Ticket) -> None:
        self.events.append(("ticket_changed", ticket))

    def ticket_breached(self, ticket: domain.Ticket) -> None:
        self.events.append(("ticket_breached", ticket))

    def appeal_changed(self, appeal: domain.Appeal, rating: domain.Rating) -> None:
        self.events.append(("appeal_changed", appeal))

    def report_submitted(self, report: domain.Report) -> None:
        self.events.append(("report_submitted", report))

    def kinds(self) -> list[str]:
        return [k for k, _ in self.events]


class SeqIds:
    def __init__(self, prefix: str = "id") -> None:
        self._n = itertools.count(1)
        self.prefix = prefix

    def new(self) -> str:
        return f"{self.prefix}-{next(self._n):06d}"


class CountingBursts:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def hit(self, key: str) -> int:
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]
