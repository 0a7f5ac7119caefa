"""Catalog storage: SQLAlchemy tables and the repository the domain asks for."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from puhui.catalog.domain import Contact, Institution, InstitutionQuery, Status, Tier
from puhui.kit.db import new_metadata
from puhui.kit.inbox import inbox_table
from puhui.kit.outbox import outbox_table
from puhui.kit.pagination import Page

metadata = new_metadata()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

institutions = Table(
    "institutions",
    metadata,
    Column("institution_id", String(40), primary_key=True),
    Column("owning_node", String(6), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("tier", Integer, nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("service_area", Text, nullable=False, default="[]"),
    Column("contacts", Text, nullable=False, default="[]"),
    Column("ipc_fields", Text, nullable=False, default="[]"),
    Column("monthly_capacity", Integer, nullable=False, default=0),
    Column("status", Integer, nullable=False),
    Column("approved_by", String(120), nullable=False, default=""),
    Column("approved_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("is_example", Boolean, nullable=False, default=False),
    Column("revision", Integer, nullable=False, default=1),
    Index("ix_institutions_name_id", "name", "institution_id"),
    Index("ix_institutions_region", "region_code"),
)

institution_seq = Table(
    "institution_seq",
    metadata,
    Column("node", String(6), primary_key=True),
    Column("last", Integer, nullable=False),
)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _row_to_institution(row) -> Institution:  # type: ignore[no-untyped-def]
    return Institution(
        institution_id=row.institution_id,
        owning_node=row.owning_node,
        name=row.name,
        description=row.description,
        tier=Tier(row.tier),
        region_code=row.region_code,
        service_area=tuple(json.loads(row.service_area)),
        contacts=tuple(Contact(**c) for c in json.loads(row.contacts)),
        ipc_fields=tuple(json.loads(row.ipc_fields)),
        monthly_capacity=row.monthly_capacity,
        status=Status(row.status),
        approved_by=row.approved_by,
        approved_at=_aware(row.approved_at),
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
        is_example=row.is_example,
        revision=row.revision,
    )


def region_prefix(code: str) -> str:
    """440000 → "44", 440300 → "4403", 440305 → "440305": codes under a division share it."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


class SqlInstitutionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def next_id(self, node: str) -> str:
        seq = institution_seq
        current = self.session.execute(
            select(seq.c.last).where(seq.c.node == node).with_for_update()
        ).scalar()
        if current is None:
            self.session.execute(seq.insert().values(node=node, last=1))
            value = 1
        else:
            value = current + 1
            self.session.execute(seq.update().where(seq.c.node == node).values(last=value))
        return f"{node}-{value:06d}"

    def add(self, institution: Institution) -> None:
        i = institution
        self.session.execute(
            institutions.insert().values(
                institution_id=i.institution_id,
                owning_node=i.owning_node,
                name=i.name,
                description=i.description,
                tier=int(i.tier),
                region_code=i.region_code,
                service_area=json.dumps(list(i.service_area)),
                contacts=json.dumps([c.__dict__ for c in i.contacts], ensure_ascii=False),
                ipc_fields=json.dumps(list(i.ipc_fields)),
                monthly_capacity=i.monthly_capacity,
                status=int(i.status),
                approved_by=i.approved_by,
                approved_at=i.approved_at,
                created_at=i.created_at,
                updated_at=i.updated_at,
                is_example=i.is_example,
                revision=i.revision,
            )
        )

    def get(self, institution_id: str) -> Institution | None:
        row = self.session.execute(
            select(institutions).where(institutions.c.institution_id == institution_id)
        ).first()
        return _row_to_institution(row) if row else None

    def search(self, query: InstitutionQuery, page: Page) -> tuple[list[Institution], int]:
        t = institutions
        conditions = []
        if query.text:
            pattern = f"%{query.text}%"
            conditions.append(or_(t.c.name.like(pattern), t.c.description.like(pattern)))
        if query.region_code:
            conditions.append(
                or_(
                    t.c.region_code.like(region_prefix(query.region_code) + "%"),
                    t.c.service_area.like(f'%"{query.region_code}"%'),
                )
            )
        if query.tiers:
            conditions.append(t.c.tier.in_(query.tiers))
        if query.statuses:
            conditions.append(t.c.status.in_(query.statuses))
        if query.ipc_prefix:
            conditions.append(t.c.ipc_fields.like(f'%"{query.ipc_prefix}%'))
        where = and_(*conditions) if conditions else None
        count_q = select(func.count()).select_from(t)
        rows_q = select(t).order_by(t.c.name, t.c.institution_id).limit(page.size)
        if where is not None:
            count_q = count_q.where(where)
            rows_q = rows_q.where(where)
        if page.after:
            name, _, iid = page.after.partition("\x00")
            rows_q = rows_q.where(tuple_(t.c.name, t.c.institution_id) > tuple_(name, iid))
        total = self.session.execute(count_q).scalar_one()
        return [_row_to_institution(r) for r in self.session.execute(rows_q)], total


def sort_key(institution: Institution) -> str:
    return f"{institution.name}\x00{institution.institution_id}"
