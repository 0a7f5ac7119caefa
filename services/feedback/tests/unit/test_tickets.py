"""Every ticket transition, legal and illegal, table-driven; appeals; the breach check."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from puhui.feedback import domain, errors
from puhui.feedback.domain import TicketState as S
from puhui.feedback.tests.support import INSTITUTION, NODE, province_admin, staff
from puhui.feedback.tests.unit.fakes import (
    CountingBursts,
    FakeRepository,
    FakeSink,
    FakeUnitOfWork,
)
from puhui.kit.errors import InvalidArgument, PermissionDenied

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)

LEGAL = {
    (S.OPEN, S.VERIFYING),
    (S.VERIFYING, S.RECTIFYING),
    (S.RECTIFYING, S.RECTIFIED),
    (S.RECTIFIED, S.FOLLOWED_UP),
    (S.RECTIFIED, S.CLOSED),  # anonymous reviews only
    (S.FOLLOWED_UP, S.CLOSED),
}
ALL_PAIRS = [(a, b) for a in S for b in S]


def ticket(state: S, real_name: bool = False) -> domain.Ticket:
    return domain.Ticket(
        ticket_id="t-1",
        rating_id="r-1",
        institution_id=INSTITUTION,
        service_item_id="item-1",
        node_id=NODE,
        state=state,
        opened_at=NOW,
        due_date=date(2026, 12, 3),
        deadline_working_days=5,
        real_name=real_name,
    )


@pytest.mark.parametrize(
    ("current", "target"), ALL_PAIRS, ids=[f"{a.name}->{b.name}" for a, b in ALL_PAIRS]
)
@pytest.mark.parametrize("real_name", [False, True], ids=["anonymous", "real-name"])
def test_every_transition(current: S, target: S, real_name: bool) -> None:
    legal = (current, target) in LEGAL and not (
        real_name and (current, target) == (S.RECTIFIED, S.CLOSED)
    )
    before = ticket(current, real_name)
    if legal:
        after = domain.transition(before, target, "440000:staff-1", "done", NOW)
        assert after.state == target
        assert after.history[-1] == domain.Transition(
            current, target, "440000:staff-1", NOW, "done"
        )
        assert after.revision == before.revision + 1
    else:
        with pytest.raises(errors.IllegalTransition) as info:
            domain.transition(before, target, "440000:staff-1", "", NOW)
        assert info.value.reason == "ILLEGAL_TICKET_TRANSITION"
        assert current.name in info.value.message
        assert target.name in info.value.message


@pytest.mark.parametrize("state", [*domain.OPEN_STATES])
def test_only_an_upheld_appeal_voids_an_open_ticket(state: S) -> None:
    voided = domain.transition(
        ticket(state), S.VOIDED, "admin", "appeal upheld", NOW, by_appeal=True
    )
    assert voided.state == S.VOIDED


@pytest.mark.parametrize("state", [S.CLOSED, S.VOIDED])
def test_appeal_cannot_void_a_finished_ticket(state: S) -> None:
    with pytest.raises(errors.IllegalTransition):
        domain.transition(ticket(state), S.VOIDED, "admin", "", NOW, by_appeal=True)


def test_real_name_review_needs_follow_up_before_closing() -> None:
    with pytest.raises(errors.IllegalTransition, match="回访"):
        domain.transition(ticket(S.RECTIFIED, real_name=True), S.CLOSED, "s", "", NOW)


@pytest.fixture
def world() -> tuple[domain.Feedback, FakeRepository, FakeSink]:
    repo = FakeRepository()
    repo.add_ticket(ticket(S.OPEN))
    sink = FakeSink()
    feedback = domain.Feedback(
        node=NODE,
        token_key=b"k",
        uow=FakeUnitOfWork(repo, sink),
        bursts=CountingBursts(),
        clock=lambda: NOW,
    )
    return feedback, repo, sink


def test_transition_use_case_records_actor_and_emits(world) -> None:
    feedback, repo, sink = world
    out = feedback.transition_ticket(staff(), "t-1", S.VERIFYING, "checking")
    assert out.state == S.VERIFYING
    assert out.history[-1].actor == "440000:staff-1"
    assert sink.kinds() == ["ticket_changed"]
    assert repo.tickets["t-1"].state == S.VERIFYING


def test_follow_up_needs_a_note_and_unknown_states_are_invalid(world) -> None:
    feedback, repo, sink = world
    repo.update_ticket(ticket(S.RECTIFIED))
    with pytest.raises(InvalidArgument) as info:
        feedback.transition_ticket(staff(), "t-1", S.FOLLOWED_UP, " ")
    assert [v.field for v in info.value.violations] == ["note"]
    with pytest.raises(InvalidArgument) as info:
        feedback.transition_ticket(staff(), "t-1", 99, "")
    assert [v.field for v in info.value.violations] == ["to"]
    assert sink.events == []


def test_other_institutions_staff_cannot_see_or_move_the_ticket(world) -> None:
    feedback, _repo, _sink = world
    with pytest.raises(errors.TicketNotFound):
        feedback.transition_ticket(staff("440000-000002"), "t-1", S.VERIFYING, "")
    # A province admin of the node may.
    feedback.transition_ticket(province_admin(), "t-1", S.VERIFYING, "")


def test_breach_check_marks_overdue_tickets_once(world) -> None:
    feedback, repo, sink = world
    assert feedback.check_deadlines(date(2026, 12, 3)) == []  # due today: not yet
    breached = feedback.check_deadlines(date(2026, 12, 4))
    assert [t.ticket_id for t in breached] == ["t-1"]
    assert repo.tickets["t-1"].breached
    assert feedback.check_deadlines(date(2026, 12, 5)) == []
    assert sink.kinds() == ["ticket_breached"]


def test_closed_tickets_are_never_breached(world) -> None:
    feedback, repo, _sink = world
    repo.update_ticket(replace(ticket(S.CLOSED)))
    assert feedback.check_deadlines(date(2027, 1, 1)) == []


def test_list_tickets_requires_staff_or_admin(world) -> None:
    feedback, _repo, _ = world
    query = domain.TicketQuery(institution_id=INSTITUTION, node=NODE)
    items, total = feedback.list_tickets(staff(), query, 10, "")
    assert total == 1
    assert items[0].ticket_id == "t-1"
    with pytest.raises(PermissionDenied):
        feedback.list_tickets(staff("440000-000002"), query, 10, "")
