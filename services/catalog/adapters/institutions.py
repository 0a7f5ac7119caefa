"""The institution repository."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    delete,
    select,
    update,
)
from sqlalchemy.orm import Session

from puhui.catalog.adapters.rows import (
    _GET_INSTITUTION,
    T_COLS,
    _row_to_institution,
    a,
    institution_values,
    p,
    r,
    region_rows,
    s,
    t,
)
from puhui.catalog.adapters.search import (
    SearchResult,
    TotalCache,
    _fetch,
    _institution_search,
    _ipc_params,
    _keyset_params,
    _page_and_total,
    _put,
    _text_kind,
    _text_pattern,
    _visibility,
    _with_region_ids,
)
from puhui.catalog.adapters.tables import institution_seq
from puhui.catalog.domain import (
    Institution,
    InstitutionQuery,
)
from puhui.kit.db import is_postgresql
from puhui.kit.pagination import Page

# --------------------------------------------------------------------------- repositories


class SqlInstitutionRepository:
    def __init__(self, session: Session, totals: TotalCache | None = None) -> None:
        self.session = session
        self.totals = totals

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

    def _write_children(self, i: Institution) -> None:
        self.session.execute(delete(a).where(a.c.institution_id == i.institution_id))
        self.session.execute(delete(p).where(p.c.institution_id == i.institution_id))
        self.session.execute(delete(r).where(r.c.institution_id == i.institution_id))
        self.session.execute(r.insert(), region_rows(i))
        if i.service_area:
            self.session.execute(
                a.insert(),
                [{"institution_id": i.institution_id, "region_code": c} for c in i.service_area],
            )
        if i.ipc_fields:
            self.session.execute(
                p.insert(), [{"institution_id": i.institution_id, "ipc": c} for c in i.ipc_fields]
            )

    def add(self, institution: Institution) -> None:
        self.session.execute(t.insert().values(**institution_values(institution)))
        self._write_children(institution)

    def replace(self, institution: Institution) -> None:
        values = institution_values(institution)
        del values["institution_id"]
        self.session.execute(
            update(t).where(t.c.institution_id == institution.institution_id).values(**values)
        )
        self._write_children(institution)
        self.session.execute(
            update(s)
            .where(s.c.institution_id == institution.institution_id)
            .values(inst_status=int(institution.status), inst_tier=int(institution.tier))
        )

    def get(self, institution_id: str, *, for_update: bool = False) -> Institution | None:
        if for_update:
            q = select(*T_COLS).where(t.c.institution_id == institution_id).with_for_update()
            row = self.session.execute(q).first()
            return _row_to_institution(row) if row else None
        rows = _fetch(self.session, _GET_INSTITUTION, {"institution_id": institution_id})
        return _row_to_institution(rows[0]) if rows else None

    def search(self, query: InstitutionQuery, page: Page) -> tuple[list[Institution], int]:
        rows, total = _with_region_ids(
            self.session, self.totals, query.region, lambda ids: self._search(query, page, ids)
        )
        return [_row_to_institution(r) for r in rows], total

    def _search(
        self, query: InstitutionQuery, page: Page, region_ids: list[str] | None
    ) -> SearchResult:
        pg = is_postgresql(self.session)
        params: dict[str, Any] = {"size": page.size}
        kind = _text_kind(query.text)
        if kind:
            params["pattern"] = _text_pattern(query.text)
        regions = _put(params, "region_ids", region_ids) if region_ids is not None else 0
        tiers = _put(params, "tiers", [int(x) for x in query.tiers]) if query.tiers else 0
        statuses = (
            _put(params, "statuses", [int(x) for x in query.statuses]) if query.statuses else 0
        )
        if query.ipc_prefix:
            params.update(_ipc_params(query.ipc_prefix))
        if query.category:
            params["category"] = int(query.category)
        visibility = _visibility(params, query.visibility)
        if page.after:
            params.update(_keyset_params(page.after))
        statements = _institution_search(
            pg,
            kind,
            regions,
            tiers,
            statuses,
            bool(query.ipc_prefix),
            bool(query.category),
            visibility,
            bool(page.after),
        )
        return _page_and_total(self.session, statements, params, bool(page.after), self.totals)
