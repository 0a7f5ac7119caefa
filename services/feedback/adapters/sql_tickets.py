"""SQL repository of rectification tickets and appeals."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import and_, func, select

from puhui.feedback.adapters.tables import SqlStore, _update, appeals, dumps, tickets
from puhui.feedback.domain import (
    OPEN_STATES,
    Appeal,
    Decision,
    Ticket,
    TicketQuery,
    TicketState,
    Transition,
)
from puhui.kit.db import is_postgresql
from puhui.kit.times import aware_or_none


class SqlTicketRepository(SqlStore):
    # tickets --------------------------------------------------------------------------------
    def add_ticket(self, t: Ticket) -> None:
        self.session.execute(tickets.insert(), _ticket_values(t))

    def get_ticket(self, ticket_id: str, lock: bool = False) -> Ticket | None:
        query = select(tickets).where(tickets.c.ticket_id == ticket_id)
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return _row_to_ticket(row) if row else None

    def update_ticket(self, t: Ticket) -> None:
        _update(self.session, tickets, "ticket_id", _ticket_values(t))

    def list_tickets(self, query: TicketQuery, size: int, after: str) -> tuple[list[Ticket], int]:
        t = tickets
        conditions = [t.c.institution_id == query.institution_id]
        if query.states:
            conditions.append(t.c.state.in_(query.states))
        if query.breached_only:
            conditions.append(t.c.breached.is_(True))
        where = and_(*conditions)
        total = self.session.execute(select(func.count()).select_from(t).where(where)).scalar_one()
        rows_q = select(t).where(where).order_by(t.c.ticket_id).limit(size)
        if after:
            rows_q = rows_q.where(t.c.ticket_id > after)
        return [_row_to_ticket(r) for r in self.session.execute(rows_q)], total

    def overdue_tickets(self, today: date, limit: int) -> list[Ticket]:
        query = (
            select(tickets)
            .where(
                tickets.c.state.in_([int(s) for s in OPEN_STATES]),
                tickets.c.breached.is_(False),
                tickets.c.due_date < today,
            )
            .order_by(tickets.c.due_date, tickets.c.ticket_id)
            .limit(limit)
        )
        if is_postgresql(self.session):
            query = query.with_for_update(skip_locked=True)
        return [_row_to_ticket(r) for r in self.session.execute(query)]

    # appeals --------------------------------------------------------------------------------
    def add_appeal(self, a: Appeal) -> None:
        self.session.execute(appeals.insert(), _appeal_values(a))

    def get_appeal(self, appeal_id: str, lock: bool = False) -> Appeal | None:
        query = select(appeals).where(appeals.c.appeal_id == appeal_id)
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return _row_to_appeal(row) if row else None

    def update_appeal(self, a: Appeal) -> None:
        _update(self.session, appeals, "appeal_id", _appeal_values(a))

    def appeals_for(self, rating_id: str) -> list[Appeal]:
        rows = self.session.execute(select(appeals).where(appeals.c.rating_id == rating_id))
        return [_row_to_appeal(r) for r in rows]


def _ticket_values(t: Ticket) -> dict[str, object]:
    return {
        "ticket_id": t.ticket_id,
        "rating_id": t.rating_id,
        "institution_id": t.institution_id,
        "service_item_id": t.service_item_id,
        "node_id": t.node_id,
        "state": int(t.state),
        "opened_at": t.opened_at,
        "due_date": t.due_date,
        "deadline_working_days": t.deadline_working_days,
        "breached": t.breached,
        "real_name": t.real_name,
        "history": dumps(
            [
                {
                    "from": int(h.from_state) if h.from_state is not None else 0,
                    "to": int(h.to_state),
                    "actor": h.actor,
                    "at": h.at.isoformat(),
                    "note": h.note,
                }
                for h in t.history
            ]
        ),
        "revision": t.revision,
    }


def _row_to_ticket(row) -> Ticket:  # type: ignore[no-untyped-def]
    opened_at = aware_or_none(row.opened_at)
    assert opened_at is not None
    return Ticket(
        ticket_id=row.ticket_id,
        rating_id=row.rating_id,
        institution_id=row.institution_id,
        service_item_id=row.service_item_id,
        node_id=row.node_id,
        state=TicketState(row.state),
        opened_at=opened_at,
        due_date=row.due_date,
        deadline_working_days=row.deadline_working_days,
        breached=row.breached,
        real_name=row.real_name,
        history=tuple(
            Transition(
                TicketState(h["from"]) if h["from"] else None,
                TicketState(h["to"]),
                h["actor"],
                datetime.fromisoformat(h["at"]),
                h["note"],
            )
            for h in json.loads(row.history)
        ),
        revision=row.revision,
    )


def _appeal_values(a: Appeal) -> dict[str, object]:
    return {
        "appeal_id": a.appeal_id,
        "rating_id": a.rating_id,
        "grounds": a.grounds,
        "statement": a.statement,
        "decision": int(a.decision),
        "filed_by": a.filed_by,
        "filed_at": a.filed_at,
        "decided_by": a.decided_by,
        "decided_at": a.decided_at,
        "reason": a.reason,
    }


def _row_to_appeal(row) -> Appeal:  # type: ignore[no-untyped-def]
    filed_at = aware_or_none(row.filed_at)
    assert filed_at is not None
    return Appeal(
        appeal_id=row.appeal_id,
        rating_id=row.rating_id,
        grounds=row.grounds,
        statement=row.statement,
        decision=Decision(row.decision),
        filed_by=row.filed_by,
        filed_at=filed_at,
        decided_by=row.decided_by,
        decided_at=aware_or_none(row.decided_at),
        reason=row.reason,
    )
