"""Feedback storage: SQLAlchemy tables and the repositories the domain asks for."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from puhui.feedback.domain import (
    OPEN_STATES,
    Appeal,
    Channel,
    Decision,
    Level,
    Rating,
    RatingQuery,
    Report,
    ReportGroup,
    ReportKind,
    ServiceCase,
    Stage,
    Supplier,
    Ticket,
    TicketQuery,
    TicketState,
    Transition,
    region_prefix,
)
from puhui.kit.db import new_metadata
from puhui.kit.inbox import inbox_table
from puhui.kit.outbox import outbox_table

metadata = new_metadata()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

cases = Table(
    "service_cases",
    metadata,
    Column("case_id", String(40), primary_key=True),
    Column("institution_id", String(64), nullable=False),
    Column("service_item_id", String(64), nullable=False),
    Column("person_id", String(80), nullable=False, default=""),
    Column("node_id", String(6), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("recorded_by", String(120), nullable=False, default=""),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("invitation_expires_at", DateTime(timezone=True)),
    Column("rated_stages", String(20), nullable=False, default=""),
    UniqueConstraint("institution_id", "request_id"),
    UniqueConstraint("token_hash"),
)

ratings = Table(
    "ratings",
    metadata,
    Column("rating_id", String(40), primary_key=True),
    Column("case_id", String(40), nullable=False),
    Column("stage", Integer, nullable=False),
    Column("channel", Integer, nullable=False),
    Column("level", Integer, nullable=False),
    Column("indicators", Text, nullable=False, default="{}"),
    Column("comment", Text, nullable=False, default=""),
    Column("real_name", Boolean, nullable=False, default=False),
    Column("rater", String(120), nullable=False, default=""),
    Column("late", Boolean, nullable=False, default=False),
    Column("flagged", Boolean, nullable=False, default=False),
    Column("excluded", Boolean, nullable=False, default=False),
    Column("rated_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("ticket_id", String(40), nullable=False, default=""),
    Column("institution_id", String(64), nullable=False),
    Column("service_item_id", String(64), nullable=False),
    Column("node_id", String(6), nullable=False),
    Column("kiosk_id", String(64)),
    Column("client_rating_id", String(64)),
    UniqueConstraint("case_id", "stage"),
    UniqueConstraint("kiosk_id", "client_rating_id"),
    Index("ix_ratings_institution_rated", "institution_id", "rated_at"),
    Index("ix_ratings_item_rated", "service_item_id", "rated_at"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", String(40), primary_key=True),
    Column("rating_id", String(40), nullable=False, unique=True),
    Column("institution_id", String(64), nullable=False),
    Column("service_item_id", String(64), nullable=False),
    Column("node_id", String(6), nullable=False),
    Column("state", Integer, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("deadline_working_days", Integer, nullable=False),
    Column("breached", Boolean, nullable=False, default=False),
    Column("real_name", Boolean, nullable=False, default=False),
    Column("history", Text, nullable=False, default="[]"),
    Column("revision", Integer, nullable=False, default=1),
    Index("ix_tickets_state_due", "state", "due_date"),
    Index("ix_tickets_institution_state", "institution_id", "state", "ticket_id"),
)

appeals = Table(
    "appeals",
    metadata,
    Column("appeal_id", String(40), primary_key=True),
    Column("rating_id", String(40), nullable=False, index=True),
    Column("grounds", String(20), nullable=False),
    Column("statement", Text, nullable=False, default=""),
    Column("decision", Integer, nullable=False),
    Column("filed_by", String(120), nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(120), nullable=False, default=""),
    Column("decided_at", DateTime(timezone=True)),
    Column("reason", Text, nullable=False, default=""),
)

reports = Table(
    "reports",
    metadata,
    Column("report_id", String(40), primary_key=True),
    Column("kind", Integer, nullable=False),
    Column("source", Integer, nullable=False),
    Column("category", String(64), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("text", Text, nullable=False),
    Column("group_id", String(40), nullable=False, index=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("point_id", String(64), nullable=False, server_default=""),
)

report_groups = Table(
    "report_groups",
    metadata,
    Column("group_id", String(40), primary_key=True),
    Column("kind", Integer, nullable=False),
    Column("category", String(64), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("representative_text", Text, nullable=False),
    Column("size", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_report_groups_scope", "kind", "category", "region_code", "group_id"),
)

# Read model of the catalog, built from its events.
catalog_institutions = Table(
    "catalog_institutions",
    metadata,
    Column("institution_id", String(64), primary_key=True),
    Column("region_code", String(6), nullable=False),
    Column("service_area", Text, nullable=False, default="[]"),
    Column("status", Integer, nullable=False),
    Column("revision", Integer, nullable=False, default=0),
)

catalog_items = Table(
    "catalog_items",
    metadata,
    Column("item_id", String(64), primary_key=True),
    Column("institution_id", String(64), nullable=False, index=True),
    Column("category", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("is_current", Boolean, nullable=False, default=True),
)

# Read model of identity: the persons registered at this node (PersonRegistered events), so
# a case is recorded only for a person who exists.
identity_persons = Table(
    "identity_persons",
    metadata,
    Column("person_id", String(64), primary_key=True),
)

# Satisfaction indices, maintained from feedback events (scope = "institution:<id>",
# "item:<id>" or "node:<id>"; period = "2026-11", "2026-Q4" or "2026").
satisfaction = Table(
    "satisfaction_index",
    metadata,
    Column("scope", String(80), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("rating_count", Integer, nullable=False, default=0),
    Column("satisfied_count", Integer, nullable=False, default=0),
    Column("bad_count", Integer, nullable=False, default=0),
    Column("tickets_on_time", Integer, nullable=False, default=0),
    Column("tickets_breached", Integer, nullable=False, default=0),
    Column("follow_ups", Integer, nullable=False, default=0),
    Column("appeals_filed", Integer, nullable=False, default=0),
    Column("appeals_upheld", Integer, nullable=False, default=0),
)


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _stages(text: str) -> tuple[Stage, ...]:
    return tuple(Stage(int(s)) for s in text.split(",") if s)


def _row_to_case(row) -> ServiceCase:  # type: ignore[no-untyped-def]
    recorded_at = aware(row.recorded_at)
    assert recorded_at is not None
    return ServiceCase(
        case_id=row.case_id,
        institution_id=row.institution_id,
        service_item_id=row.service_item_id,
        person_id=row.person_id,
        node_id=row.node_id,
        request_id=row.request_id,
        recorded_by=row.recorded_by,
        recorded_at=recorded_at,
        token_hash=row.token_hash,
        completed_at=aware(row.completed_at),
        invitation_expires_at=aware(row.invitation_expires_at),
        rated_stages=_stages(row.rated_stages),
    )


def _case_values(c: ServiceCase) -> dict[str, object]:
    return {
        "case_id": c.case_id,
        "institution_id": c.institution_id,
        "service_item_id": c.service_item_id,
        "person_id": c.person_id,
        "node_id": c.node_id,
        "request_id": c.request_id,
        "recorded_by": c.recorded_by,
        "recorded_at": c.recorded_at,
        "token_hash": c.token_hash,
        "completed_at": c.completed_at,
        "invitation_expires_at": c.invitation_expires_at,
        "rated_stages": ",".join(str(int(s)) for s in sorted(c.rated_stages)),
    }


def _update(session: Session, table: Table, key: str, values: dict[str, object]) -> None:
    """UPDATE one row by its key, parameters bound at execution (the statement is cached)."""
    params = {k: v for k, v in values.items() if k != key}
    params["_key"] = values[key]
    session.execute(table.update().where(table.c[key] == bindparam("_key")), params)


class SqlRepository:
    """All feedback repositories over one session (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # cases ----------------------------------------------------------------------------------
    def add_case(self, case: ServiceCase) -> None:
        self.session.execute(cases.insert(), _case_values(case))

    def update_case(self, case: ServiceCase) -> None:
        _update(self.session, cases, "case_id", _case_values(case))

    def _case_where(self, *conditions, lock: bool = False) -> ServiceCase | None:  # type: ignore[no-untyped-def]
        query = select(cases).where(*conditions)
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return _row_to_case(row) if row else None

    def get_case(self, case_id: str) -> ServiceCase | None:
        return self._case_where(cases.c.case_id == case_id)

    def case_by_request(self, institution_id: str, request_id: str) -> ServiceCase | None:
        return self._case_where(
            cases.c.institution_id == institution_id, cases.c.request_id == request_id
        )

    def item_institution(self, item_id: str) -> str | None:
        t = catalog_items
        found = self.session.execute(select(t.c.institution_id).where(t.c.item_id == item_id))
        return found.scalar()

    def person_known(self, person_id: str) -> bool:
        t = identity_persons
        found = self.session.execute(select(t.c.person_id).where(t.c.person_id == person_id))
        return found.first() is not None

    def case_by_token(self, token_hash: str) -> ServiceCase | None:
        # Locked: two ratings with one token serialise here.
        return self._case_where(cases.c.token_hash == token_hash, lock=True)

    # ratings --------------------------------------------------------------------------------
    def add_rating(self, r: Rating) -> None:
        self.session.execute(ratings.insert(), rating_values(r))

    def get_rating(self, rating_id: str, lock: bool = False) -> Rating | None:
        query = select(ratings).where(ratings.c.rating_id == rating_id)
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return _row_to_rating(row) if row else None

    def rating_by_client(self, kiosk_id: str, client_rating_id: str) -> Rating | None:
        row = self.session.execute(
            select(ratings).where(
                ratings.c.kiosk_id == kiosk_id, ratings.c.client_rating_id == client_rating_id
            )
        ).first()
        return _row_to_rating(row) if row else None

    def set_excluded(self, rating_id: str) -> None:
        self.session.execute(
            update(ratings).where(ratings.c.rating_id == rating_id).values(excluded=True)
        )

    def list_ratings(self, query: RatingQuery, size: int, after: str) -> tuple[list[Rating], int]:
        r = ratings
        conditions = [r.c.institution_id == query.institution_id]
        if query.flagged_only:
            conditions.append(r.c.flagged.is_(True))
        if query.bad_only:
            conditions.append(r.c.level >= int(Level.DISSATISFIED))
        where = and_(*conditions)
        total = self.session.execute(select(func.count()).select_from(r).where(where)).scalar_one()
        rows_q = (
            select(r).where(where).order_by(r.c.rated_at.desc(), r.c.rating_id.desc()).limit(size)
        )
        if after:
            moment, _, rid = after.partition("|")
            rows_q = rows_q.where(
                tuple_(r.c.rated_at, r.c.rating_id) < tuple_(datetime.fromisoformat(moment), rid)
            )
        return [_row_to_rating(row) for row in self.session.execute(rows_q)], total

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
        if self.session.get_bind().dialect.name != "sqlite":
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

    # reports --------------------------------------------------------------------------------
    def groups_in(self, kind: ReportKind, category: str, region_code: str) -> list[ReportGroup]:
        g = report_groups
        rows = self.session.execute(
            select(g)
            .where(g.c.kind == int(kind), g.c.category == category, g.c.region_code == region_code)
            .order_by(g.c.created_at.desc())
            .limit(GROUP_CANDIDATES)
        )
        return [_row_to_group(r) for r in rows]

    def add_group(self, group: ReportGroup, now: datetime) -> None:
        self.session.execute(
            report_groups.insert().values(
                group_id=group.group_id,
                kind=int(group.kind),
                category=group.category,
                region_code=group.region_code,
                representative_text=group.representative_text,
                size=group.size,
                created_at=now,
            )
        )

    def grow_group(self, group_id: str) -> None:
        g = report_groups
        self.session.execute(update(g).where(g.c.group_id == group_id).values(size=g.c.size + 1))

    def add_report(self, r: Report) -> None:
        self.session.execute(
            reports.insert().values(
                report_id=r.report_id,
                kind=int(r.kind),
                source=int(r.source),
                category=r.category,
                region_code=r.region_code,
                text=r.text,
                group_id=r.group_id,
                received_at=r.received_at,
                point_id=r.point_id,
            )
        )

    def list_groups(
        self, kind: int, region_code: str, size: int, after: str
    ) -> tuple[list[ReportGroup], int]:
        g = report_groups
        conditions = []
        if kind:
            conditions.append(g.c.kind == kind)
        if region_code:
            conditions.append(g.c.region_code.like(region_prefix(region_code) + "%"))
        where = and_(*conditions) if conditions else None
        count_q = select(func.count()).select_from(g)
        rows_q = select(g).order_by(g.c.size.desc(), g.c.group_id).limit(size)
        if where is not None:
            count_q = count_q.where(where)
            rows_q = rows_q.where(where)
        if after:
            size_text, _, gid = after.partition(":")
            rows_q = rows_q.where(tuple_(-g.c.size, g.c.group_id) > tuple_(-int(size_text), gid))
        total = self.session.execute(count_q).scalar_one()
        return [_row_to_group(r) for r in self.session.execute(rows_q)], total

    def need_counts(self, region_code: str) -> list[tuple[str, str, int]]:
        r = reports
        query = (
            select(r.c.category, r.c.region_code, func.count())
            .where(r.c.kind == int(ReportKind.NEED))
            .group_by(r.c.category, r.c.region_code)
        )
        if region_code:
            query = query.where(r.c.region_code.like(region_prefix(region_code) + "%"))
        return [(c, reg, n) for c, reg, n in self.session.execute(query)]

    def suppliers(self, category: str) -> list[Supplier]:
        i, it = catalog_institutions, catalog_items
        rows = self.session.execute(
            select(i.c.region_code, i.c.service_area)
            .select_from(it.join(i, i.c.institution_id == it.c.institution_id))
            .where(
                it.c.category == category,
                it.c.is_current.is_(True),
                i.c.status == APPROVED,
            )
        )
        return [Supplier(reg, tuple(json.loads(area))) for reg, area in rows]


GROUP_CANDIDATES = 200
APPROVED = 2  # puhui.catalog.v1.InstitutionStatus APPROVED


def rating_values(r: Rating) -> dict[str, object]:
    return {
        "rating_id": r.rating_id,
        "case_id": r.case_id,
        "stage": int(r.stage),
        "channel": int(r.channel),
        "level": int(r.level),
        "indicators": dumps({name: int(level) for name, level in r.indicators}),
        "comment": r.comment,
        "real_name": r.real_name,
        "rater": r.rater,
        "late": r.late,
        "flagged": r.flagged,
        "excluded": r.excluded,
        "rated_at": r.rated_at,
        "received_at": r.received_at,
        "ticket_id": r.ticket_id,
        "institution_id": r.institution_id,
        "service_item_id": r.service_item_id,
        "node_id": r.node_id,
        "kiosk_id": r.kiosk_id or None,
        "client_rating_id": r.client_rating_id or None,
    }


def _row_to_rating(row) -> Rating:  # type: ignore[no-untyped-def]
    rated_at, received_at = aware(row.rated_at), aware(row.received_at)
    assert rated_at is not None
    assert received_at is not None
    return Rating(
        rating_id=row.rating_id,
        case_id=row.case_id,
        stage=Stage(row.stage),
        channel=Channel(row.channel),
        level=Level(row.level),
        indicators=tuple((k, Level(v)) for k, v in json.loads(row.indicators).items()),
        comment=row.comment,
        real_name=row.real_name,
        rater=row.rater,
        late=row.late,
        flagged=row.flagged,
        excluded=row.excluded,
        rated_at=rated_at,
        received_at=received_at,
        ticket_id=row.ticket_id,
        institution_id=row.institution_id,
        service_item_id=row.service_item_id,
        node_id=row.node_id,
        kiosk_id=row.kiosk_id or "",
        client_rating_id=row.client_rating_id or "",
    )


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
    opened_at = aware(row.opened_at)
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
    filed_at = aware(row.filed_at)
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
        decided_at=aware(row.decided_at),
        reason=row.reason,
    )


def _row_to_group(row) -> ReportGroup:  # type: ignore[no-untyped-def]
    return ReportGroup(
        group_id=row.group_id,
        kind=ReportKind(row.kind),
        category=row.category,
        region_code=row.region_code,
        representative_text=row.representative_text,
        size=row.size,
    )
