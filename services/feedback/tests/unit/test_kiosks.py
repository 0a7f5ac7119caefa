"""Kiosk sync and unique-constraint races through the domain: fakes, then SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from puhui.feedback import domain, errors
from puhui.feedback.adapters.db import SqlUnitOfWork
from puhui.feedback.domain import Channel, KioskRating, Level, NewRating, Stage
from puhui.feedback.tests.support import INSTITUTION, NODE, staff
from puhui.feedback.tests.unit.fakes import (
    CountingBursts,
    FakeRepository,
    FakeSink,
    FakeUnitOfWork,
    SeqIds,
)
from puhui.kit.auth import ANONYMOUS
from puhui.kit.errors import InvalidArgument

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def new_feedback(uow) -> domain.Feedback:  # type: ignore[no-untyped-def]
    return domain.Feedback(
        node=NODE, token_key=b"k", uow=uow, bursts=CountingBursts(), ids=SeqIds(), clock=lambda: NOW
    )


@pytest.fixture
def world():
    repo = FakeRepository(persons={"440000:person-1"})
    sink = FakeSink()
    return new_feedback(FakeUnitOfWork(repo, sink)), repo, sink


def tokens(feedback: domain.Feedback, n: int) -> list[str]:
    new = [
        domain.NewCase(INSTITUTION, "item-1", "", NOW - timedelta(hours=1), f"r{i}")
        for i in range(n)
    ]
    return [feedback.record_case(staff(), c)[1] for c in new]


def item(cid: str, token: str, rated_at: datetime | None = NOW, **kw) -> KioskRating:  # type: ignore[no-untyped-def]
    fields = {"token": token, "stage": Stage.COMPLETION, "channel": 0, "level": Level.SATISFIED}
    fields.update(kw)
    return KioskRating(cid, rated_at, NewRating(**fields))


def test_a_resent_batch_counts_each_rating_once(world):
    feedback, repo, _ = world
    a, b = tokens(feedback, 2)
    first = feedback.sync_kiosk(ANONYMOUS, " kiosk-1 ", [item("c1", a), item("c2", b)])
    assert [r.client_rating_id for r in first.accepted] == ["c1", "c2"]
    assert {r.kiosk_id for r in first.accepted} == {"kiosk-1"}
    assert {r.channel for r in first.accepted} == {Channel.ON_SITE}  # the kiosk's default
    again = feedback.sync_kiosk(ANONYMOUS, "kiosk-1", [item("c1", a), item("c2", b)])
    assert (again.accepted, again.duplicates, again.known, again.rejected) == ([], 2, 2, {})
    assert len(repo.ratings) == 2


def test_bad_ratings_are_rejected_one_by_one(world):
    feedback, repo, _ = world
    (a,) = tokens(feedback, 1)
    result = feedback.sync_kiosk(
        ANONYMOUS,
        "kiosk-1",
        [
            item("future", a, rated_at=NOW + timedelta(hours=1)),
            item("bad-level", a, level=9),
            item("unknown", "rt_unknown"),
            item("ok", a),
        ],
    )
    assert [r.client_rating_id for r in result.accepted] == ["ok"]
    assert set(result.rejected) == {"future", "bad-level", "unknown"}
    assert result.rejected["future"] == "FIELD_INVALID: rated_at: must not be in the future"
    assert result.rejected["unknown"].endswith("is not a rating token issued by this node")
    assert len(repo.ratings) == 1


def test_the_batch_itself_is_validated_before_anything_is_stored(world):
    feedback, repo, _ = world
    (a,) = tokens(feedback, 1)
    with pytest.raises(InvalidArgument) as info:
        feedback.sync_kiosk(
            ANONYMOUS, "", [item("c1", a), item("c1", a), item("", a, rated_at=None)]
        )
    assert {v.field for v in info.value.violations} == {
        "kiosk_id",
        "ratings[1].client_rating_id",
        "ratings[2].client_rating_id",
        "ratings[2].rated_at",
    }
    assert repo.ratings == {}


class FirstTransactionRaces:
    """The first transaction meets the row a concurrent replay has just committed."""

    def __init__(self, uow: SqlUnitOfWork, row: domain.ServiceCase) -> None:
        self.uow = uow
        self.row: domain.ServiceCase | None = row

    @contextmanager
    def __call__(self) -> Iterator[tuple[object, object]]:
        with self.uow() as (repo, sink):
            if self.row is not None:
                row, self.row = self.row, None
                repo.add_case(row)  # a unique-constraint violation
            yield repo, sink

    def read(self):  # type: ignore[no-untyped-def]
        return self.uow.read()


def test_unique_races_surface_as_the_use_cases_errors(sqlite_db):
    """A concurrent writer won: the unit of work raises Conflict, and each use case says
    what it means (a replayed case returns the stored one; a used token is refused)."""
    uow = SqlUnitOfWork(sqlite_db, lambda session: FakeSink())
    feedback = new_feedback(uow)
    new = domain.NewCase(INSTITUTION, "item-1", "", NOW, "r1")
    case, token = feedback.record_case(staff(), new)
    with pytest.raises(errors.Conflict), uow() as (repo, _):
        repo.add_case(case)
    racing = new_feedback(FirstTransactionRaces(uow, case))
    again, again_token = racing.record_case(staff(), new)  # retried once, then found
    assert (again.case_id, again_token) == (case.case_id, token)
    rating = NewRating(token, Stage.COMPLETION, Channel.ONLINE, Level.SATISFIED)
    feedback.submit_rating(ANONYMOUS, rating)
    with pytest.raises(errors.TokenAlreadyUsed):
        feedback.submit_rating(ANONYMOUS, rating)
