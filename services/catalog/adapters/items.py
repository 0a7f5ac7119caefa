"""The service item repository."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from puhui.catalog.adapters.rows import S_COLS, _row_to_item, item_values, s, t
from puhui.catalog.adapters.search import (
    SearchResult,
    TotalCache,
    _ipc_params,
    _item_search,
    _keyset_params,
    _page_and_total,
    _put,
    _text_kind,
    _text_pattern,
    _visibility,
    _with_region_ids,
)
from puhui.catalog.domain import (
    Channel,
    ItemQuery,
    ServiceItem,
)
from puhui.kit.db import is_postgresql
from puhui.kit.pagination import Page


class SqlServiceItemRepository:
    def __init__(self, session: Session, totals: TotalCache | None = None) -> None:
        self.session = session
        self.totals = totals

    def add_version(self, item: ServiceItem) -> None:
        self.session.execute(
            update(s).where(s.c.item_id == item.item_id, s.c.is_current).values(is_current=False)
        )
        status, tier = self.session.execute(
            select(t.c.status, t.c.tier).where(t.c.institution_id == item.institution_id)
        ).one()
        self.session.execute(s.insert().values(**item_values(item, status, tier)))

    def get(
        self, item_id: str, version: int = 0, *, for_update: bool = False
    ) -> ServiceItem | None:
        q = select(*S_COLS).where(s.c.item_id == item_id)
        q = q.where(s.c.version == version) if version else q.where(s.c.is_current)
        if for_update:
            q = q.with_for_update()
        row = self.session.execute(q).first()
        return _row_to_item(row) if row else None

    def versions(self, item_id: str, page: Page) -> tuple[list[ServiceItem], int]:
        total = self.session.execute(
            select(func.count()).select_from(s).where(s.c.item_id == item_id)
        ).scalar_one()
        q = select(*S_COLS).where(s.c.item_id == item_id).order_by(s.c.version).limit(page.size)
        if page.after:
            q = q.where(s.c.version > int(page.after))
        return [_row_to_item(r) for r in self.session.execute(q)], total

    def current_of(self, institution_id: str) -> list[ServiceItem]:
        q = (
            select(*S_COLS)
            .where(s.c.institution_id == institution_id, s.c.is_current)
            .order_by(s.c.item_id)
        )
        return [_row_to_item(row) for row in self.session.execute(q)]

    def search(self, query: ItemQuery, page: Page) -> tuple[list[ServiceItem], int]:
        rows, total = _with_region_ids(
            self.session, self.totals, query.region, lambda ids: self._search(query, page, ids)
        )
        return [_row_to_item(row) for row in rows], total

    def _search(self, query: ItemQuery, page: Page, region_ids: list[str] | None) -> SearchResult:
        pg = is_postgresql(self.session)
        params: dict[str, Any] = {"size": page.size}
        kind = _text_kind(query.text)
        if kind:
            params["pattern"] = _text_pattern(query.text)
        categories = (
            _put(params, "categories", [int(x) for x in query.categories])
            if query.categories
            else 0
        )
        if query.institution_id:
            params["institution_id"] = query.institution_id
        if query.channel:
            # An item offered both ways is found by a search for either channel.
            wanted = (
                {int(query.channel), int(Channel.BOTH)}
                if query.channel != Channel.BOTH
                else {int(query.channel)}
            )
            channels = _put(params, "channels", sorted(wanted))
        else:
            channels = 0
        if query.cost_class:
            params["cost_class"] = int(query.cost_class)
        if query.service_code:
            params["service_code"] = query.service_code
        regions = _put(params, "region_ids", region_ids) if region_ids is not None else 0
        tiers = _put(params, "tiers", [int(x) for x in query.tiers]) if query.tiers else 0
        if query.ipc_prefix:
            params.update(_ipc_params(query.ipc_prefix))
        visibility = _visibility(params, query.visibility)
        if page.after:
            params.update(_keyset_params(page.after))
        statements = _item_search(
            pg,
            kind,
            categories,
            bool(query.institution_id),
            channels,
            bool(query.cost_class),
            bool(query.service_code),
            regions,
            tiers,
            bool(query.ipc_prefix),
            visibility,
            bool(page.after),
        )
        return _page_and_total(self.session, statements, params, bool(page.after), self.totals)
