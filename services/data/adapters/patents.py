"""Patents: rows ↔ records, and the repository the domain asks for."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from puhui.data.adapters.changes import SqlRecords
from puhui.data.adapters.storage import _driver, upsert_ignore
from puhui.data.adapters.tables import patent_numbers, patents
from puhui.data.domain import Party, Patent
from puhui.kit.db import is_postgresql
from puhui.kit.times import aware_or_none


def row_to_patent(row: Any) -> Patent:
    return Patent(
        application_number=row.application_number,
        office=row.office,
        publication_number=row.publication_number,
        kind=row.kind,
        title=row.title,
        abstract=row.abstract,
        applicants=tuple(Party(*p) for p in json.loads(row.applicants)),
        inventors=tuple(json.loads(row.inventors)),
        inventors_withheld=row.inventors_withheld,
        ipc_codes=tuple(json.loads(row.ipc_codes)),
        filing_date=row.filing_date,
        publication_date=row.publication_date,
        grant_date=row.grant_date,
        legal_status=row.legal_status,
        content_hash=row.content_hash,
        updated_at=aware_or_none(row.updated_at),
        sequence=row.sequence,
    )


# The columns a Patent is read from (not the search-only ones: ipc_keys, applicant_names…).
PATENT_COLUMNS = [
    patents.c[name]
    for name in (
        "record_id", "application_number", "office", "publication_number", "kind", "title",
        "abstract", "applicants", "inventors", "ipc_codes", "filing_date", "publication_date",
        "grant_date", "legal_status", "content_hash", "updated_at", "sequence",
        "inventors_withheld",
    )
]  # fmt: skip


def patent_row(p: Patent) -> dict[str, Any]:
    return {
        "record_id": p.record_id,
        "office": p.office,
        "application_number": p.application_number,
        "publication_number": p.publication_number,
        "kind": p.kind,
        "title": p.title,
        "abstract": p.abstract,
        "applicants": json.dumps(
            [[a.name, a.region_code, a.country] for a in p.applicants], ensure_ascii=False
        ),
        "applicant_names": " ; ".join(a.name for a in p.applicants),
        "inventors": json.dumps(list(p.inventors), ensure_ascii=False),
        "inventors_withheld": p.inventors_withheld,
        "ipc_codes": json.dumps(list(p.ipc_codes)),
        "ipc_section": p.ipc_codes[0][0] if p.ipc_codes else "",
        "ipc_keys": ipc_keys(p.ipc_codes),
        "filing_date": p.filing_date,
        "publication_date": p.publication_date,
        "grant_date": p.grant_date,
        "legal_status": p.legal_status,
        "region_code": p.region_code,
        "province_code": p.province_code,
        "content_hash": p.content_hash,
        "sequence": p.sequence,
        "updated_at": p.updated_at,
    }


def ipc_levels(code: str) -> list[str]:
    """Section, class, subclass, main group ("G06F 16/") and the code itself."""
    levels = [code[:1], code[:3], code[:4]]
    if "/" in code:
        levels.append(code[: code.index("/") + 1])
    levels.append(code)
    return levels


def ipc_keys(codes: Sequence[str]) -> list[str]:
    """The `ipc_keys` column: every level of every code once."""
    return list(dict.fromkeys(k for c in codes for k in ipc_levels(c) if k))


class SqlPatentRepository(SqlRecords):
    """Patents, and the numbers they can be found by (`patent_numbers`)."""

    table = patents
    to_row = staticmethod(patent_row)
    from_row = staticmethod(row_to_patent)

    def get(self, record_id: str) -> Patent | None:
        row = self.session.execute(select(patents).where(patents.c.record_id == record_id)).first()
        return row_to_patent(row) if row else None

    def resolve(self, keys: Sequence[str]) -> str | None:
        rows = self.session.execute(
            select(patent_numbers.c.key, patent_numbers.c.record_id).where(
                patent_numbers.c.key.in_(list(keys))
            )
        ).all()
        found = {r.key: r.record_id for r in rows}
        for key in keys:  # the first form the text can mean wins
            if key in found:
                return str(found[key])
        return None

    def save(self, inserted: Sequence[Any], updated: Sequence[Any]) -> None:
        s = self.session
        super().save(inserted, updated)
        if updated:
            ids = [p.record_id for p in updated]
            s.execute(delete(patent_numbers).where(patent_numbers.c.record_id.in_(ids)))
        everything = [*inserted, *updated]
        keys = {k: p.record_id for p in everything for k in p.lookup_keys()}
        if is_postgresql(s):
            with _driver(s).cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO patent_numbers (key, record_id) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET record_id = EXCLUDED.record_id",
                    list(keys.items()),
                )
            keys = {}
        upsert_ignore(
            s,
            patent_numbers,
            [{"key": k, "record_id": r} for k, r in keys.items()],
            ["key"],
            ["record_id"],
        )
