"""Rectification tickets opened by bad reviews, and appeals (申诉) against reviews."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from puhui.feedback import errors
from puhui.feedback.domain.common import MAX_COMMENT, MAX_REPORT_TEXT, Rules, admin_of, staff_of
from puhui.kit.auth import Principal
from puhui.kit.errors import PermissionDenied, Unauthenticated, Violations

if TYPE_CHECKING:
    from puhui.feedback.domain.ports import FeedbackRepository


class TicketState(enum.IntEnum):
    OPEN = 1
    VERIFYING = 2
    RECTIFYING = 3
    RECTIFIED = 4
    FOLLOWED_UP = 5  # 回访 recorded
    CLOSED = 6
    VOIDED = 7  # appeal upheld


# The legal moves; VOIDED is reachable only through an upheld appeal, and a real-name bad
# review must pass FOLLOWED_UP before CLOSED.
TRANSITIONS: dict[TicketState, frozenset[TicketState]] = {
    TicketState.OPEN: frozenset({TicketState.VERIFYING}),
    TicketState.VERIFYING: frozenset({TicketState.RECTIFYING}),
    TicketState.RECTIFYING: frozenset({TicketState.RECTIFIED}),
    TicketState.RECTIFIED: frozenset({TicketState.FOLLOWED_UP, TicketState.CLOSED}),
    TicketState.FOLLOWED_UP: frozenset({TicketState.CLOSED}),
    TicketState.CLOSED: frozenset(),
    TicketState.VOIDED: frozenset(),
}
OPEN_STATES = (
    TicketState.OPEN,
    TicketState.VERIFYING,
    TicketState.RECTIFYING,
    TicketState.RECTIFIED,
    TicketState.FOLLOWED_UP,
)


@dataclass(frozen=True)
class Transition:
    from_state: TicketState | None
    to_state: TicketState
    actor: str
    at: datetime
    note: str = ""


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    rating_id: str
    institution_id: str
    service_item_id: str
    node_id: str
    state: TicketState
    opened_at: datetime
    due_date: date
    deadline_working_days: int
    breached: bool = False
    real_name: bool = False
    history: tuple[Transition, ...] = ()
    revision: int = 1


def transition(
    ticket: Ticket,
    to: TicketState,
    actor: str,
    note: str,
    now: datetime,
    *,
    by_appeal: bool = False,
) -> Ticket:
    """The ticket after a move to `to`, or IllegalTransition naming both states."""
    current = ticket.state
    if to == TicketState.VOIDED:
        if not by_appeal or current not in OPEN_STATES:
            raise errors.IllegalTransition(
                current.name, to.name, "only an upheld appeal voids a ticket"
            )
    elif to not in TRANSITIONS[current]:
        allowed = ", ".join(s.name for s in sorted(TRANSITIONS[current])) or "none (final state)"
        raise errors.IllegalTransition(current.name, to.name, f"allowed: {allowed}")
    elif to == TicketState.CLOSED and current == TicketState.RECTIFIED and ticket.real_name:
        raise errors.IllegalTransition(
            current.name,
            to.name,
            "a real-name bad review needs a recorded follow-up (回访) before closing",
        )
    return replace(
        ticket,
        state=to,
        history=(*ticket.history, Transition(current, to, actor, now, note)),
        revision=ticket.revision + 1,
    )


class Decision(enum.IntEnum):
    PENDING = 1
    UPHELD = 2
    REJECTED = 3


APPEAL_GROUNDS = frozenset({"mistaken", "malicious"})


@dataclass(frozen=True)
class Appeal:
    appeal_id: str
    rating_id: str
    grounds: str
    statement: str
    decision: Decision
    filed_by: str
    filed_at: datetime
    decided_by: str = ""
    decided_at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class TicketQuery:
    institution_id: str
    node: str
    states: tuple[int, ...] = ()
    breached_only: bool = False

    def filters(self) -> dict[str, object]:
        return {
            "institution": self.institution_id,
            "states": sorted(self.states),
            "breached": self.breached_only,
        }


class TicketRules(Rules):
    """Use cases of tickets and appeals."""

    # -- rectification tickets --------------------------------------------------------------
    @staticmethod
    def _ticket_for(
        repo: FeedbackRepository, principal: Principal, ticket_id: str, lock: bool = False
    ) -> Ticket:
        v = Violations()
        v.require(ticket_id, "ticket_id")
        v.raise_if_any()
        ticket = repo.get_ticket(ticket_id, lock=lock)
        if ticket is None or not (
            staff_of(principal, ticket.institution_id) or admin_of(principal, ticket.node_id)
        ):
            raise errors.TicketNotFound(ticket_id)
        return ticket

    def get_ticket(self, principal: Principal, ticket_id: str) -> Ticket:
        with self.uow.read() as repo:
            return self._ticket_for(repo, principal, ticket_id)

    def transition_ticket(self, principal: Principal, ticket_id: str, to: int, note: str) -> Ticket:
        now = self.clock()
        v = Violations()
        v.require(ticket_id, "ticket_id")
        v.check(to in TicketState.__members__.values(), "to", "must be a ticket state")
        v.check(len(note) <= MAX_COMMENT, "note", f"at most {MAX_COMMENT} characters")
        if to == TicketState.FOLLOWED_UP:
            v.check(bool(note.strip()), "note", "must record what the follow-up (回访) found")
        v.raise_if_any()
        with self.uow() as (repo, sink):
            ticket = self._ticket_for(repo, principal, ticket_id, lock=True)
            changed = transition(ticket, TicketState(to), principal.subject, note.strip(), now)
            repo.update_ticket(changed)
            sink.ticket_changed(changed)
        return changed

    def list_tickets(
        self, principal: Principal, query: TicketQuery, size: int, after: str
    ) -> tuple[list[Ticket], int]:
        v = Violations()
        v.require(query.institution_id, "institution_id")
        for i, state in enumerate(query.states):
            v.check(
                state in TicketState.__members__.values(), f"states[{i}]", "must be a ticket state"
            )
        v.raise_if_any()
        if not (staff_of(principal, query.institution_id) or admin_of(principal, query.node)):
            if principal.is_anonymous:
                raise Unauthenticated("sign in first")
            raise PermissionDenied(
                f"requires institution_staff of {query.institution_id} or an admin"
            )
        with self.uow.read() as repo:
            return repo.list_tickets(query, size, after)

    def check_deadlines(self, today: date, batch: int = 500) -> list[Ticket]:
        """Mark tickets past their due date (China time) as breached, one event each, in
        transactions of at most `batch` tickets."""
        breached: list[Ticket] = []
        while True:
            with self.uow() as (repo, sink):
                found = repo.overdue_tickets(today, batch)
                for ticket in found:
                    changed = replace(ticket, breached=True, revision=ticket.revision + 1)
                    repo.update_ticket(changed)
                    sink.ticket_breached(changed)
                    breached.append(changed)
            if len(found) < batch:
                return breached

    # -- appeals (申诉) ------------------------------------------------------------------------
    def file_appeal(
        self, principal: Principal, rating_id: str, grounds: str, statement: str
    ) -> Appeal:
        appeal_id, now = self.ids.new(), self.clock()
        v = Violations()
        v.require(rating_id, "rating_id")
        v.check(grounds in APPEAL_GROUNDS, "grounds", "must be 'mistaken' or 'malicious'")
        if v.require(statement.strip(), "statement"):
            v.check(
                len(statement) <= MAX_REPORT_TEXT,
                "statement",
                f"at most {MAX_REPORT_TEXT} characters",
            )
        v.raise_if_any()
        with self.uow() as (repo, sink):
            rating = repo.get_rating(rating_id, lock=True)
            if rating is None or not (
                staff_of(principal, rating.institution_id) or admin_of(principal, rating.node_id)
            ):
                raise errors.RatingNotFound(rating_id)
            if not staff_of(principal, rating.institution_id):
                raise PermissionDenied("appeals are filed by the rated institution's staff")
            if not rating.level.is_bad:
                raise errors.AppealNotAllowed("only bad reviews can be appealed")
            if rating.excluded:
                raise errors.AppealNotAllowed("the review is already excluded")
            if any(a.decision == Decision.PENDING for a in repo.appeals_for(rating_id)):
                raise errors.AppealNotAllowed("an appeal against this review is already pending")
            appeal = Appeal(
                appeal_id=appeal_id,
                rating_id=rating_id,
                grounds=grounds,
                statement=statement.strip(),
                decision=Decision.PENDING,
                filed_by=principal.subject,
                filed_at=now,
            )
            repo.add_appeal(appeal)
            sink.appeal_changed(appeal, rating)
            return appeal

    def decide_appeal(
        self, principal: Principal, appeal_id: str, decision: int, reason: str
    ) -> Appeal:
        now = self.clock()
        v = Violations()
        v.require(appeal_id, "appeal_id")
        v.check(
            decision in (Decision.UPHELD, Decision.REJECTED),
            "decision",
            "must be upheld or rejected",
        )
        if v.require(reason.strip(), "reason"):
            v.check(
                len(reason) <= MAX_REPORT_TEXT, "reason", f"at most {MAX_REPORT_TEXT} characters"
            )
        v.raise_if_any()
        with self.uow() as (repo, sink):
            appeal = repo.get_appeal(appeal_id, lock=True)
            rating = repo.get_rating(appeal.rating_id, lock=True) if appeal is not None else None
            if appeal is None or rating is None:
                raise errors.AppealNotFound(appeal_id)
            if principal.is_anonymous:
                raise Unauthenticated("sign in first")
            if not admin_of(principal, rating.node_id):
                raise PermissionDenied(
                    f"appeals are decided by a province admin of {rating.node_id}"
                )
            if appeal.decision != Decision.PENDING:
                raise errors.AppealNotAllowed(
                    f"the appeal was already {appeal.decision.name.lower()}"
                )
            appeal = replace(
                appeal,
                decision=Decision(decision),
                decided_by=principal.subject,
                decided_at=now,
                reason=reason.strip(),
            )
            repo.update_appeal(appeal)
            if appeal.decision == Decision.UPHELD:
                rating = replace(rating, excluded=True)
                repo.set_excluded(rating.rating_id)
                ticket = repo.get_ticket(rating.ticket_id, lock=True) if rating.ticket_id else None
                if ticket is not None and ticket.state not in (
                    TicketState.CLOSED,
                    TicketState.VOIDED,
                ):
                    voided = transition(
                        ticket,
                        TicketState.VOIDED,
                        principal.subject,
                        "appeal upheld",
                        now,
                        by_appeal=True,
                    )
                    repo.update_ticket(voided)
                    sink.ticket_changed(voided)
            sink.appeal_changed(appeal, rating)
            return appeal
