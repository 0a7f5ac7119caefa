"""SQL repository of reports, their groups, and the catalog read model of supply."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import and_, func, select, tuple_, update

from puhui.feedback.adapters.tables import (
    SqlStore,
    catalog_institutions,
    catalog_items,
    report_groups,
    reports,
)
from puhui.feedback.domain import Report, ReportGroup, ReportKind, Supplier, region_prefix


class SqlReportRepository(SqlStore):
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


def _row_to_group(row) -> ReportGroup:  # type: ignore[no-untyped-def]
    return ReportGroup(
        group_id=row.group_id,
        kind=ReportKind(row.kind),
        category=row.category,
        region_code=row.region_code,
        representative_text=row.representative_text,
        size=row.size,
    )
