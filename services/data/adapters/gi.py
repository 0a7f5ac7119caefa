"""Geographical indications: rows ↔ records, the repository and their search."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from puhui.data.adapters.changes import SqlRecords
from puhui.data.adapters.tables import geographical_indications
from puhui.data.domain import GeographicalIndication, GiQuery, region_prefix
from puhui.kit.times import aware_or_none


def row_to_gi(row: Any) -> GeographicalIndication:
    return GeographicalIndication(
        gi_id=row.record_id,
        name=row.name,
        product=row.product,
        region_code=row.region_code,
        protection_type=row.protection_type,
        application_date=row.application_date,
        approval_date=row.approval_date,
        content_hash=row.content_hash,
        updated_at=aware_or_none(row.updated_at),
        sequence=row.sequence,
    )


def gi_row(g: GeographicalIndication) -> dict[str, Any]:
    return {
        "record_id": g.record_id,
        "name": g.name,
        "product": g.product,
        "region_code": g.region_code,
        "protection_type": g.protection_type,
        "application_date": g.application_date,
        "approval_date": g.approval_date,
        "content_hash": g.content_hash,
        "sequence": g.sequence,
        "updated_at": g.updated_at,
    }


class SqlGiRepository(SqlRecords):
    table = geographical_indications
    to_row = staticmethod(gi_row)
    from_row = staticmethod(row_to_gi)


def search_gis(
    session: Session, q: GiQuery, after: str, limit: int
) -> tuple[list[GeographicalIndication], int]:
    t = geographical_indications
    conditions: list[Any] = []
    if q.text:
        conditions.append(
            or_(
                t.c.name.contains(q.text, autoescape=True),
                t.c.product.contains(q.text, autoescape=True),
            )
        )
    if q.region_code:
        conditions.append(t.c.region_code.startswith(region_prefix(q.region_code)))
    total = session.execute(select(func.count()).select_from(t).where(*conditions)).scalar_one()
    if after:
        conditions.append(t.c.record_id > after)
    query = select(t).where(*conditions).order_by(t.c.record_id).limit(limit)
    return [row_to_gi(r) for r in session.execute(query)], int(total)
