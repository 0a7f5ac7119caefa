"""IC layout designs: rows ↔ records, the repository and their search."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from puhui.data.adapters.changes import SqlRecords
from puhui.data.adapters.tables import ic_layouts
from puhui.data.domain import IcLayout, IcLayoutQuery, Party
from puhui.kit.times import aware_or_none


def row_to_ic_layout(row: Any) -> IcLayout:
    return IcLayout(
        registration_number=row.record_id,
        name=row.name,
        owner=Party(*json.loads(row.owner)),
        creation_date=row.creation_date,
        filing_date=row.filing_date,
        content_hash=row.content_hash,
        updated_at=aware_or_none(row.updated_at),
        sequence=row.sequence,
    )


def ic_layout_row(ic: IcLayout) -> dict[str, Any]:
    return {
        "record_id": ic.record_id,
        "name": ic.name,
        "owner": json.dumps(
            [ic.owner.name, ic.owner.region_code, ic.owner.country], ensure_ascii=False
        ),
        "owner_name": ic.owner.name,
        "creation_date": ic.creation_date,
        "filing_date": ic.filing_date,
        "content_hash": ic.content_hash,
        "sequence": ic.sequence,
        "updated_at": ic.updated_at,
    }


class SqlIcLayoutRepository(SqlRecords):
    table = ic_layouts
    to_row = staticmethod(ic_layout_row)
    from_row = staticmethod(row_to_ic_layout)


def search_ic_layouts(
    session: Session, q: IcLayoutQuery, after: str, limit: int
) -> tuple[list[IcLayout], int]:
    t = ic_layouts
    conditions: list[Any] = []
    if q.text:
        conditions.append(t.c.name.contains(q.text, autoescape=True))
    if q.owner:
        conditions.append(t.c.owner_name.contains(q.owner, autoescape=True))
    total = session.execute(select(func.count()).select_from(t).where(*conditions)).scalar_one()
    if after:
        conditions.append(t.c.record_id > after)
    query = select(t).where(*conditions).order_by(t.c.record_id).limit(limit)
    return [row_to_ic_layout(r) for r in session.execute(query)], int(total)
