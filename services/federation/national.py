"""National read models at the hub, rebuilt from every province's events (kit EventConsumer,
topic patterns `puhui.<node>.catalog.events` / `puhui.<node>.feedback.events`), and the
handler that turns identity `KeySetChanged` events into hub-signed statements.

Each handler runs in the consumer's transaction together with its inbox row, so an event
counts once however often Kafka delivers it. Catalog events carry whole entities with a
revision/version: the highest wins, so order does not matter. Feedback figures are keyed by
case, rating and ticket ids: counting is a set, not an increment.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from puhui.catalog.v1 import catalog_pb2
from puhui.catalog.v1 import events_pb2 as catalog_events
from puhui.events.v1 import envelope_pb2
from puhui.federation import domain
from puhui.federation.adapters import db as t
from puhui.federation.registry import Registry
from puhui.feedback.v1 import events_pb2 as feedback_events
from puhui.feedback.v1 import feedback_pb2
from puhui.identity.v1 import events_pb2 as identity_events
from puhui.kit.db import Database
from puhui.kit.inbox import InvalidEvent
from puhui.kit.times import utcnow

logger = logging.getLogger(__name__)

APPROVED = catalog_pb2.INSTITUTION_STATUS_APPROVED
CLOSED_STATES = (feedback_pb2.TICKET_STATE_CLOSED, feedback_pb2.TICKET_STATE_VOIDED)


def _is(payload: Any, message: type[Message]) -> bool:
    return bool(payload.TypeName() == message.DESCRIPTOR.full_name)


def _insert_new(session: Session, table: Any, values: dict[str, Any]) -> None:
    """INSERT unless the primary key exists (one statement on PostgreSQL and SQLite)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - other databases
        key = {c.name: values[c.name] for c in table.primary_key.columns}
        cond = and_(*[table.c[k] == v for k, v in key.items()])
        if session.execute(select(*table.primary_key.columns).where(cond)).first() is None:
            session.execute(table.insert().values(**values))


def _insert_new_many(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """`_insert_new` for many rows in one statement (rows with distinct primary keys)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(table).values(rows).on_conflict_do_nothing())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(table).values(rows).on_conflict_do_nothing())
    else:  # pragma: no cover - other databases
        for values in rows:
            _insert_new(session, table, values)


def _upsert(session: Session, table, key: dict, values: dict) -> None:  # type: ignore[no-untyped-def]
    cond = and_(*[table.c[k] == v for k, v in key.items()])
    if session.execute(select(*[table.c[k] for k in key]).where(cond)).first() is None:
        session.execute(table.insert().values(**key, **values))
    else:
        session.execute(update(table).where(cond).values(**values))


def _source_node(envelope: envelope_pb2.EventEnvelope) -> str:
    node = envelope.source_node[:6]
    if len(node) != 6 or not node.isdigit():
        raise InvalidEvent("envelope source_node is not a node id")
    return node


# -- catalog ------------------------------------------------------------------------------
def apply_catalog(session: Session, envelope: envelope_pb2.EventEnvelope) -> None:
    node = _source_node(envelope)
    if _is(envelope.payload, catalog_events.InstitutionChanged):
        changed = catalog_events.InstitutionChanged()
        envelope.payload.Unpack(changed)
        inst = changed.institution
        if not inst.institution_id:
            raise InvalidEvent("InstitutionChanged without an institution id")
        if inst.owning_node and inst.owning_node != node:
            raise InvalidEvent("institution owned by another node than the event's source")
        known = session.execute(
            select(t.national_institutions.c.revision).where(
                t.national_institutions.c.institution_id == inst.institution_id
            )
        ).first()
        if known is None or int(known.revision) < inst.revision:
            _upsert(
                session,
                t.national_institutions,
                {"institution_id": inst.institution_id},
                {
                    "owning_node": node,
                    "name": inst.name[:300],
                    "description": inst.description,
                    "region_code": inst.region_code[:6],
                    "status": int(inst.status),
                    "ipc_fields": " ".join(inst.ipc_fields),
                    "revision": inst.revision,
                    "body": inst.SerializeToString(),
                },
            )
    elif _is(envelope.payload, catalog_events.ServiceItemChanged):
        item_changed = catalog_events.ServiceItemChanged()
        envelope.payload.Unpack(item_changed)
        item = item_changed.item
        if not item.item_id:
            raise InvalidEvent("ServiceItemChanged without an item id")
        if item.owning_node and item.owning_node != node:
            raise InvalidEvent("service item owned by another node than the event's source")
        known = session.execute(
            select(t.national_items.c.version).where(t.national_items.c.item_id == item.item_id)
        ).first()
        if known is None or int(known.version) < item.version:
            _upsert(
                session,
                t.national_items,
                {"item_id": item.item_id},
                {
                    "owning_node": node,
                    "institution_id": item.institution_id,
                    "version": item.version,
                },
            )
    else:
        return  # another catalog event type: not part of the national model


# -- feedback -----------------------------------------------------------------------------
def _new_row(envelope: envelope_pb2.EventEnvelope) -> tuple[Any, dict[str, Any]] | None:
    """(table, row) of an event that only ever inserts a row keyed by its id, else None."""
    node = _source_node(envelope)
    payload = envelope.payload
    if _is(payload, feedback_events.ServiceCaseRecorded):
        recorded = feedback_events.ServiceCaseRecorded()
        payload.Unpack(recorded)
        case_id = recorded.service_case.case_id
        if not case_id:
            raise InvalidEvent("ServiceCaseRecorded without a case id")
        return t.national_cases, {"case_id": case_id, "node_id": node}
    if _is(payload, feedback_events.RatingSubmitted):
        submitted = feedback_events.RatingSubmitted()
        payload.Unpack(submitted)
        rating = submitted.rating
        if not rating.rating_id:
            raise InvalidEvent("RatingSubmitted without a rating id")
        return t.national_ratings, {
            "rating_id": rating.rating_id,
            "node_id": node,
            "level": int(rating.level),
            "excluded": bool(rating.excluded),
        }
    return None


def apply_feedback_batch(session: Session, envelopes: Sequence[envelope_pb2.EventEnvelope]) -> None:
    """`apply_feedback` for a batch, in order, with one multi-row INSERT per run of cases
    and ratings (the events that only add a row keyed by their id): a run is flushed before
    any other event, so an appeal still finds the rating recorded before it."""
    pending: dict[Any, dict[str, dict[str, Any]]] = {}

    def flush() -> None:
        for table, rows in pending.items():
            _insert_new_many(session, table, list(rows.values()))
        pending.clear()

    for envelope in envelopes:
        new = _new_row(envelope)
        if new is None:
            flush()
            apply_feedback(session, envelope)
            continue
        table, row = new
        key = row[next(iter(table.primary_key.columns)).name]
        pending.setdefault(table, {}).setdefault(key, row)  # the first one wins, as one by one
    flush()


def apply_feedback(session: Session, envelope: envelope_pb2.EventEnvelope) -> None:
    node = _source_node(envelope)
    payload = envelope.payload
    new = _new_row(envelope)
    if new is not None:
        _insert_new(session, *new)
    elif _is(payload, feedback_events.AppealChanged):
        appeal = feedback_events.AppealChanged()
        payload.Unpack(appeal)
        if (
            appeal.appeal.decision == feedback_pb2.APPEAL_DECISION_UPHELD
            and appeal.appeal.rating_id
        ):
            session.execute(
                update(t.national_ratings)
                .where(t.national_ratings.c.rating_id == appeal.appeal.rating_id)
                .values(excluded=True)
            )
    elif _is(payload, feedback_events.TicketChanged) or _is(
        payload, feedback_events.TicketDeadlineBreached
    ):
        breached_event = _is(payload, feedback_events.TicketDeadlineBreached)
        msg = (
            feedback_events.TicketDeadlineBreached()
            if breached_event
            else feedback_events.TicketChanged()
        )
        payload.Unpack(msg)
        ticket = msg.ticket
        if not ticket.ticket_id:
            raise InvalidEvent("ticket event without a ticket id")
        row = session.execute(
            select(t.national_tickets).where(t.national_tickets.c.ticket_id == ticket.ticket_id)
        ).first()
        breached = bool(ticket.breached or breached_event or (row is not None and row.breached))
        # A ticket's state only moves forward; keep the furthest seen.
        state = max(int(ticket.state), int(row.state) if row is not None else 0)
        _upsert(
            session,
            t.national_tickets,
            {"ticket_id": ticket.ticket_id},
            {"node_id": node, "state": state, "breached": breached},
        )
    else:
        return


# -- identity key sets ----------------------------------------------------------------------
def key_set_handler(registry: Registry):  # type: ignore[no-untyped-def]
    def apply(session: Session, envelope: envelope_pb2.EventEnvelope) -> None:
        if not _is(envelope.payload, identity_events.KeySetChanged):
            return
        changed = identity_events.KeySetChanged()
        envelope.payload.Unpack(changed)
        source = _source_node(envelope)
        if changed.issuer != source:
            raise InvalidEvent(
                f"KeySetChanged for issuer {changed.issuer} published by node {source}"
            )
        at = envelope.time.ToDatetime(UTC) if envelope.HasField("time") else utcnow()
        registry.apply_key_set(session, source, changed.jwks_json, at)

    return apply


# -- queries --------------------------------------------------------------------------------
def figures(db: Database) -> list[domain.Figures]:
    """Per-province figures from the read models."""
    by_node: dict[str, domain.Figures] = {}

    def fig(node: str) -> domain.Figures:
        return by_node.setdefault(node, domain.Figures(node))

    ni, it, ca, ra, ti = (
        t.national_institutions,
        t.national_items,
        t.national_cases,
        t.national_ratings,
        t.national_tickets,
    )
    with db.transaction() as s:
        for node, status, n in s.execute(
            select(ni.c.owning_node, ni.c.status, func.count()).group_by(
                ni.c.owning_node, ni.c.status
            )
        ):
            f = fig(node)
            f.institutions += n
            if status == APPROVED:
                f.approved_institutions += n
        for node, n in s.execute(select(it.c.owning_node, func.count()).group_by(it.c.owning_node)):
            fig(node).current_service_items += n
        for node, n in s.execute(select(ca.c.node_id, func.count()).group_by(ca.c.node_id)):
            fig(node).service_cases += n
        for node, level, n in s.execute(
            select(ra.c.node_id, ra.c.level, func.count())
            .where(ra.c.excluded.is_(False))
            .group_by(ra.c.node_id, ra.c.level)
        ):
            score = domain.rating_score(int(level))
            if score:
                f = fig(node)
                f.ratings += n
                f.score_sum += score * n
        for node, state, breached, n in s.execute(
            select(ti.c.node_id, ti.c.state, ti.c.breached, func.count()).group_by(
                ti.c.node_id, ti.c.state, ti.c.breached
            )
        ):
            f = fig(node)
            f.tickets_opened += n
            if state in CLOSED_STATES:
                f.tickets_closed += n
            if breached:
                f.tickets_breached += n
    return [by_node[k] for k in sorted(by_node)]


def search(
    db: Database,
    *,
    query: str,
    region_code: str,
    node_ids: list[str],
    ipc_prefix: str,
    include_unapproved: bool,
    limit: int,
    after: str,
) -> tuple[list[catalog_pb2.Institution], int]:
    ni = t.national_institutions
    conds = []
    if not include_unapproved:
        conds.append(ni.c.status == APPROVED)
    if node_ids:
        conds.append(ni.c.owning_node.in_(node_ids))
    if region_code:
        prefix = region_code.rstrip("0")
        prefix = prefix[: (len(prefix) + 1) // 2 * 2] if prefix else ""
        conds.append(ni.c.region_code.like(f"{prefix}%"))
    if query:
        like = f"%{query.replace('%', '').replace('_', '')}%"
        conds.append(or_(ni.c.name.like(like), ni.c.description.like(like)))
    if ipc_prefix:
        conds.append(
            or_(ni.c.ipc_fields.like(f"{ipc_prefix}%"), ni.c.ipc_fields.like(f"% {ipc_prefix}%"))
        )
    where = and_(*conds) if conds else None
    with db.transaction() as s:
        count_q = select(func.count()).select_from(ni)
        page_q = select(ni.c.institution_id, ni.c.body).order_by(ni.c.institution_id).limit(limit)
        if where is not None:
            count_q = count_q.where(where)
            page_q = page_q.where(where)
        if after:
            page_q = page_q.where(ni.c.institution_id > after)
        total = int(s.execute(count_q).scalar_one())
        rows = s.execute(page_q).all()
    return [catalog_pb2.Institution.FromString(bytes(r.body)) for r in rows], total


def progress(db: Database, consumers: list[str]) -> dict[str, tuple[int, datetime | None]]:
    """Per source node: events applied to the national models (from the inbox rows, so
    exact and persistent) and when the last one was applied."""
    ib = t.inbox
    with db.transaction() as s:
        rows = s.execute(
            select(ib.c.source_node, func.count(), func.max(ib.c.processed_at))
            .where(ib.c.consumer.in_(consumers), ib.c.outcome == "applied")
            .group_by(ib.c.source_node)
        ).all()
    return {
        node: (int(n), last if last is None or last.tzinfo else last.replace(tzinfo=UTC))
        for node, n, last in rows
    }


class LagTracker:
    """Last replication lag per source node, fed by the consumers' `on_applied`."""

    def __init__(self) -> None:
        self.last: dict[str, tuple[float, datetime]] = {}

    def __call__(self, envelope: envelope_pb2.EventEnvelope) -> None:
        if envelope.HasField("time"):
            when = envelope.time.ToDatetime(UTC)
            self.last[envelope.source_node[:6]] = ((utcnow() - when).total_seconds(), when)
