"""ReferenceService: read-only IPC, Nice/CNIPA similar groups and GB/T 2260 divisions, from
puhui.refdata (proto ↔ refdata only; no database)."""

from __future__ import annotations

from functools import cache

import grpc

from puhui.data.errors import RecordNotFound
from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.kit.errors import InvalidArgument
from puhui.kit.pagination import page_request
from puhui.refdata import divisions, ipc, nice

LEVEL_NAMES = {"province": "province", "city": "city", "area": "county", "county": "county"}


@cache
def _ipc_children() -> dict[str, tuple[str, ...]]:
    """symbol → child symbols, built once from the scheme (refdata has no children())."""
    from puhui.refdata.ipc import _scheme  # refdata exposes no iteration over the scheme

    children: dict[str, list[str]] = {}
    for symbol, (level, _title, _heading) in _scheme().items():
        parent = _parent(symbol, level)
        children.setdefault(parent, []).append(symbol)
    return {k: tuple(sorted(v, key=_order)) for k, v in children.items()}


def _order(symbol: str) -> tuple[str, int, str]:
    """Scheme order: G06F 2/00 before G06F 11/00 (numeric groups)."""
    head, _, group = symbol.partition(" ")
    main, _, sub = group.partition("/")
    return head, int(main or 0), sub


def _parent(symbol: str, level: str) -> str:
    if level == "section":
        return ""
    if level == "class":
        return symbol[0]
    if level == "subclass":
        return symbol[:3]
    if level == "main_group":
        return symbol[:4]
    head, _, _group = symbol.partition("/")
    return f"{head}/00"


def _entry(entry: ipc.IpcEntry) -> data_pb2.IpcEntry:
    return data_pb2.IpcEntry(
        symbol=entry.symbol,
        level=entry.level,
        title=entry.title_zh or entry.title if entry.level == "section" else entry.title,
        parent=_parent(entry.symbol, entry.level),
    )


def _division(d: divisions.Division) -> data_pb2.Division:
    after = divisions.successor(d.code) if not d.current else None
    return data_pb2.Division(
        code=d.code,
        name=d.name,
        level=LEVEL_NAMES.get(d.level, d.level),
        parent_code=d.parent_code or "",
        current=d.current,
        valid_from=d.valid_from,
        valid_until=d.valid_until,
        successor_code=after.code if after else "",
    )


class ReferenceServicer(data_pb2_grpc.ReferenceServiceServicer):
    def GetIpcEntry(
        self, request: data_pb2.GetIpcEntryRequest, context: grpc.ServicerContext
    ) -> data_pb2.IpcEntry:
        try:
            canonical = ipc.normalise(request.symbol)
        except ValueError as exc:
            raise InvalidArgument.field("symbol", str(exc)) from None
        entry = ipc.lookup(canonical)
        if entry is None:
            raise RecordNotFound("IPC entry", canonical)
        return _entry(entry)

    def ListIpcChildren(
        self, request: data_pb2.ListIpcChildrenRequest, context: grpc.ServicerContext
    ) -> data_pb2.ListIpcChildrenResponse:
        parent = ""
        if request.symbol.strip():
            try:
                parent = ipc.normalise(request.symbol)
            except ValueError as exc:
                raise InvalidArgument.field("symbol", str(exc)) from None
            if not ipc.is_valid(parent):
                raise RecordNotFound("IPC entry", parent)
        page = page_request(request.page_size, request.page_token, {"symbol": parent})
        symbols = _ipc_children().get(parent, ())
        start = 0
        if page.after:
            start = next((i + 1 for i, s in enumerate(symbols) if s == page.after), len(symbols))
        chosen = symbols[start : start + page.size]
        entries = [e for e in (ipc.lookup(s) for s in chosen) if e is not None]
        more = start + page.size < len(symbols)
        return data_pb2.ListIpcChildrenResponse(
            entries=[_entry(e) for e in entries],
            next_page_token=page.next_token(chosen[-1]) if more and chosen else "",
            total_size=len(symbols),
        )

    def ListNiceClasses(
        self, request: data_pb2.ListNiceClassesRequest, context: grpc.ServicerContext
    ) -> data_pb2.ListNiceClassesResponse:
        return data_pb2.ListNiceClassesResponse(
            classes=[
                data_pb2.NiceClass(
                    number=c.number, heading_en=c.heading_en, heading_zh=c.heading_zh
                )
                for c in nice.classes()
            ]
        )

    def ListSimilarGroups(
        self, request: data_pb2.ListSimilarGroupsRequest, context: grpc.ServicerContext
    ) -> data_pb2.ListSimilarGroupsResponse:
        if not nice.is_valid_class(request.nice_class):
            raise InvalidArgument.field("nice_class", "a Nice class from 1 to 45")
        return data_pb2.ListSimilarGroupsResponse(
            groups=[
                data_pb2.SimilarGroup(code=g.code, nice_class=g.class_number, name=g.name)
                for g in nice.groups_of_class(request.nice_class)
            ]
        )

    def GetDivision(
        self, request: data_pb2.GetDivisionRequest, context: grpc.ServicerContext
    ) -> data_pb2.Division:
        if not request.code.strip().isdigit():
            raise InvalidArgument.field("code", "2, 4 or 6 digits of GB/T 2260")
        found = divisions.get(request.code) or divisions.historical(request.code)
        if found is not None:
            return _division(found)
        zone = divisions.statistical(request.code)
        if zone is not None:
            return data_pb2.Division(
                code=zone.code, name=zone.name, level="statistical", parent_code=zone.parent_code
            )
        hint = divisions.explain(request.code).partition("; ")[2]  # the nearest valid code
        raise RecordNotFound("division", request.code, hint)

    def ListDivisions(
        self, request: data_pb2.ListDivisionsRequest, context: grpc.ServicerContext
    ) -> data_pb2.ListDivisionsResponse:
        if not request.parent_code.strip():
            return data_pb2.ListDivisionsResponse(
                divisions=[_division(d) for d in divisions.provinces()]
            )
        try:
            found = divisions.children(request.parent_code, history=request.include_history)
        except KeyError:
            raise RecordNotFound("division", request.parent_code) from None
        return data_pb2.ListDivisionsResponse(divisions=[_division(d) for d in found])
