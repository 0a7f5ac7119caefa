"""Satisfaction indices as aggregate rows, updated by a consumer of feedback events (so
the hub, consuming every node's events, computes the national figures the same way)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from puhui.events.v1 import envelope_pb2
from puhui.feedback import domain
from puhui.feedback.adapters.tables import satisfaction
from puhui.feedback.v1 import events_pb2, feedback_pb2
from puhui.kit.db import is_postgresql
from puhui.kit.inbox import InvalidEvent
from puhui.kit.times import from_timestamp

COUNTERS = (
    "rating_count",
    "satisfied_count",
    "bad_count",
    "tickets_on_time",
    "tickets_breached",
    "follow_ups",
    "appeals_filed",
    "appeals_upheld",
)


def bump(
    session: Session, scopes: tuple[str, ...], periods: tuple[str, ...], deltas: Mapping[str, int]
) -> None:
    """Add `deltas` to every (scope, period) row, creating rows as needed."""
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    rows = [
        {"scope": scope, "period": period, **{name: deltas.get(name, 0) for name in COUNTERS}}
        for scope in scopes
        for period in periods
    ]
    stmt = insert(satisfaction).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["scope", "period"],
        set_={name: satisfaction.c[name] + stmt.excluded[name] for name in deltas},
    )
    session.execute(stmt)


def _rating_deltas(level: int, sign: int) -> dict[str, int]:
    bad = domain.Level(level).is_bad
    return {"rating_count": sign, "bad_count": sign * bad, "satisfied_count": sign * (not bad)}


def apply_event(session: Session, envelope: envelope_pb2.EventEnvelope) -> None:
    """Inbox handler: fold one feedback event into the aggregate rows."""
    kind = envelope.type
    try:
        if kind == "puhui.feedback.v1.RatingSubmitted":
            rs = events_pb2.RatingSubmitted()
            envelope.payload.Unpack(rs)
            r = rs.rating
            scopes = domain.index_scopes(rs.institution_id, rs.service_item_id, rs.node_id)
            bump(
                session,
                scopes,
                domain.periods_of(from_timestamp(r.rated_at)),
                _rating_deltas(r.level, 1),
            )
        elif kind in (
            "puhui.feedback.v1.TicketChanged",
            "puhui.feedback.v1.TicketDeadlineBreached",
        ):
            msg = (
                events_pb2.TicketChanged()
                if kind.endswith("TicketChanged")
                else events_pb2.TicketDeadlineBreached()
            )
            envelope.payload.Unpack(msg)
            t = msg.ticket
            scopes = domain.index_scopes(t.institution_id, t.service_item_id, t.node_id)
            periods = domain.periods_of(from_timestamp(t.opened_at))
            if kind.endswith("TicketDeadlineBreached"):
                bump(session, scopes, periods, {"tickets_breached": 1})
            elif t.state == feedback_pb2.TICKET_STATE_CLOSED and not t.breached:
                bump(session, scopes, periods, {"tickets_on_time": 1})
            elif t.state == feedback_pb2.TICKET_STATE_FOLLOWED_UP:
                bump(session, scopes, periods, {"follow_ups": 1})
        elif kind == "puhui.feedback.v1.AppealChanged":
            ac = events_pb2.AppealChanged()
            envelope.payload.Unpack(ac)
            r = ac.rating
            scopes = domain.index_scopes(r.institution_id, r.service_item_id, r.node_id)
            periods = domain.periods_of(from_timestamp(r.rated_at))
            if ac.appeal.decision == feedback_pb2.APPEAL_DECISION_PENDING:
                bump(session, scopes, periods, {"appeals_filed": 1})
            elif ac.appeal.decision == feedback_pb2.APPEAL_DECISION_UPHELD:
                # The review leaves the index.
                bump(session, scopes, periods, {**_rating_deltas(r.level, -1), "appeals_upheld": 1})
    except ValueError as exc:  # an unknown level or an unreadable payload can never apply
        raise InvalidEvent(f"{kind}: {exc}") from exc


def read_index(session: Session, scope: str, period: str) -> domain.IndexCounts:
    row = session.execute(
        select(satisfaction).where(satisfaction.c.scope == scope, satisfaction.c.period == period)
    ).first()
    if row is None:
        return domain.IndexCounts()
    return domain.IndexCounts(**{name: getattr(row, name) for name in COUNTERS})
