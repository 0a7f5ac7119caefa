"""Trademarks: rows ↔ records, the repository the domain asks for, and their search."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from puhui.data.adapters.changes import SqlRecords
from puhui.data.adapters.tables import trademarks
from puhui.data.domain import Party, Trademark, TrademarkQuery
from puhui.kit.times import aware_or_none


def row_to_trademark(row: Any) -> Trademark:
    return Trademark(
        application_number=row.application_number,
        office=row.office,
        registration_number=row.registration_number,
        mark_text=row.mark_text,
        nice_classes=tuple(json.loads(row.nice_classes)),
        similar_groups=tuple(json.loads(row.similar_groups)),
        owner=Party(*json.loads(row.owner)),
        filing_date=row.filing_date,
        registration_date=row.registration_date,
        expiry_date=row.expiry_date,
        status=row.status,
        content_hash=row.content_hash,
        updated_at=aware_or_none(row.updated_at),
        sequence=row.sequence,
    )


def trademark_row(t: Trademark) -> dict[str, Any]:
    return {
        "record_id": t.record_id,
        "office": t.office,
        "application_number": t.application_number,
        "registration_number": t.registration_number,
        "mark_text": t.mark_text,
        "nice_classes": json.dumps(list(t.nice_classes)),
        "nice_class_keys": "|" + "".join(f"{c}|" for c in t.nice_classes),
        "similar_groups": json.dumps(list(t.similar_groups)),
        "owner": json.dumps(
            [t.owner.name, t.owner.region_code, t.owner.country], ensure_ascii=False
        ),
        "owner_name": t.owner.name,
        "region_code": t.owner.region_code,
        "filing_date": t.filing_date,
        "registration_date": t.registration_date,
        "expiry_date": t.expiry_date,
        "status": t.status,
        "content_hash": t.content_hash,
        "sequence": t.sequence,
        "updated_at": t.updated_at,
    }


class SqlTrademarkRepository(SqlRecords):
    """Trademarks, found by application or registration number."""

    table = trademarks
    to_row = staticmethod(trademark_row)
    from_row = staticmethod(row_to_trademark)

    def find(self, office: str, number: str) -> Trademark | None:
        t = trademarks
        query = select(t).where(
            (t.c.application_number == number) | (t.c.registration_number == number)
        )
        if office:
            query = query.where(t.c.office == office)
        row = self.session.execute(query.order_by(t.c.record_id).limit(1)).first()
        return row_to_trademark(row) if row else None


def _trademark_conditions(q: TrademarkQuery) -> list[Any]:
    t = trademarks
    found: list[Any] = []
    if q.text:
        found.append(t.c.mark_text.contains(q.text, autoescape=True))
    if q.owner:
        found.append(t.c.owner_name.contains(q.owner, autoescape=True))
    if q.nice_classes:
        found.append(or_(*(t.c.nice_class_keys.contains(f"|{c}|") for c in q.nice_classes)))
    if q.similar_group:
        found.append(t.c.similar_groups.contains(f'"{q.similar_group}"'))
    if q.office:
        found.append(t.c.office == q.office)
    if q.status:
        found.append(t.c.status == q.status)
    if q.filing_from:
        found.append(t.c.filing_date >= q.filing_from)
    if q.filing_to:
        found.append(and_(t.c.filing_date <= q.filing_to, t.c.filing_date != ""))
    return found


class SqlTrademarkSearch:
    def __init__(self, session: Session) -> None:
        self.session = session

    def search(self, q: TrademarkQuery, after: str, limit: int) -> tuple[list[Trademark], int]:
        t = trademarks
        conditions = _trademark_conditions(q)
        query = select(t).where(*conditions).order_by(t.c.record_id).limit(limit)
        if after:
            query = query.where(t.c.record_id > after)
        total = self.session.execute(
            select(func.count()).select_from(t).where(*conditions)
        ).scalar_one()
        return [row_to_trademark(r) for r in self.session.execute(query)], int(total)
