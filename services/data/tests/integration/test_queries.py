"""Search, facets, page tokens, export streams, change feed, status and reference data over
gRPC against real PostgreSQL, with the real fixture files imported."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import select

from puhui.common.v1 import common_pb2
from puhui.data import domain
from puhui.data.adapters.tables import patents, trademarks
from puhui.data.server import build
from puhui.data.tests.integration.test_imports import PLAN
from puhui.data.tests.support import FixedVerifier
from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.kit.testing import running, violations

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def loaded(request, postgres_admin_url, tmp_path_factory):
    """The service on PostgreSQL, and on the embedded default (SQLite)."""
    from contextlib import nullcontext

    from puhui.kit.testing import temporary_database

    if request.param == "sqlite":
        database = nullcontext(f"sqlite:///{tmp_path_factory.mktemp('dataq')}/data.db")
    else:
        database = temporary_database(postgres_admin_url, "dataq")
    with database as url:
        app = build(
            verifier=FixedVerifier(),
            database_url=url,
            grpc_port=0,
            metrics_port=0,
            quota_enabled=False,
        )
        with running(app) as host, grpc.insecure_channel(host.address) as channel:
            imp = app.importer(100)
            for fmt, files, _n in PLAN:
                for path in files:
                    imp.run(fmt, path)
            yield (
                app,
                data_pb2_grpc.DataServiceStub(channel),
                data_pb2_grpc.ReferenceServiceStub(channel),
            )


def search_all(stub, page_size: int = 20, **kw) -> tuple[list[data_pb2.Patent], int]:
    found, token, total = [], "", -1
    while True:
        page = stub.SearchPatents(
            data_pb2.SearchPatentsRequest(page_size=page_size, page_token=token, **kw),
            timeout=10,
        )
        found += page.patents
        total = page.total_size
        token = page.next_page_token
        if not token:
            return found, total


def test_text_search_works_for_chinese_and_pages_cover_the_total(loaded):
    _, stub, _ = loaded
    found, total = search_all(stub, query="无人机")
    assert total == len(found) >= 5
    assert all("无人机" in p.title or "无人机" in p.abstract for p in found)
    assert "CN202121635235" in {p.record_id for p in found}
    assert len({p.record_id for p in found}) == len(found)
    english, _ = search_all(stub, query="session initiation protocol")
    assert [p.record_id for p in english] == ["US13648029"]


def test_filters_combine(loaded):
    _, stub, _ = loaded
    july, total = search_all(
        stub,
        office="CN",
        filing_date=common_pb2.DateRange(**{"from": "2021-07-01", "to": "2021-07-31"}),
    )
    assert total == 5
    assert all(p.filing_date.startswith("2021-07") for p in july)
    h04n, _ = search_all(stub, ipc_prefix="h04n")
    assert "CN202121635235" in {p.record_id for p in h04n}
    assert all(any(c.startswith("H04N") for c in p.ipc_codes) for p in h04n)
    group, _ = search_all(stub, ipc_prefix="G06F16/")
    assert all(any(c.startswith("G06F 16/") for c in p.ipc_codes) for p in group)
    # Every IPC level, and a part of a subgroup: exactly the records with such a code.
    everything, _ = search_all(stub)
    for written, prefix in (
        ("g", "G"),
        ("H04", "H04"),
        ("h04n", "H04N"),
        ("G06F16/", "G06F 16/"),
        ("G06F 16/2", "G06F 16/2"),
        ("H04N 21/4", "H04N 21/4"),
    ):
        found, _ = search_all(stub, ipc_prefix=written)
        want = {p.record_id for p in everything if any(c.startswith(prefix) for c in p.ipc_codes)}
        assert {p.record_id for p in found} == want, written
        assert want or prefix == "H04N 21/4"
    _, total = search_all(stub, region_code="410000")
    assert total == 10
    _, total = search_all(stub, region_code="410100")
    assert total == 0
    microsoft, _ = search_all(stub, applicant="Microsoft")
    assert [p.record_id for p in microsoft] == ["US10991571"]
    granted, _ = search_all(stub, legal_status="有权-审定授权")
    assert len(granted) >= 1
    assert all(p.legal_status == "有权-审定授权" for p in granted)
    published, _ = search_all(
        stub, office="EP", publication_date=common_pb2.DateRange(**{"from": "2016-01-01"})
    )
    assert [p.publication_number for p in published] == ["EP3082535"]


def test_facets_count_sections_years_and_provinces(loaded):
    _, stub, _ = loaded
    reply = stub.SearchPatents(
        data_pb2.SearchPatentsRequest(
            office="CN", page_size=1, facets=["ipc_section", "year", "province"]
        ),
        timeout=10,
    )
    facets = {f.name: {c.value: c.count for c in f.counts} for f in reply.facets}
    assert reply.total_size == 70
    assert facets["province"]["410000"] == 10
    assert facets["year"]["2021"] == 6  # CNIPA rows filed in 2021
    assert sum(facets["ipc_section"].values()) == 70
    assert facets["ipc_section"]["G"] >= 57 - 5


def test_total_size_is_exact_up_to_the_limit_and_with_facets(loaded, monkeypatch):
    """total_size: exact up to PUHUI_DATA_EXACT_COUNT_LIMIT, limit + 1 beyond ("more than");
    exact whatever its size when facets were asked for (they count every match anyway)."""
    app, stub, _ = loaded
    monkeypatch.setattr(app.reads, "exact_count_limit", 5)
    capped = stub.SearchPatents(data_pb2.SearchPatentsRequest(office="CN", page_size=2))
    assert capped.total_size == 6
    for names in (["year"], ["province", "ipc_section"]):
        faceted = stub.SearchPatents(
            data_pb2.SearchPatentsRequest(office="CN", page_size=2, facets=names)
        )
        assert faceted.total_size == 70
        assert [p.record_id for p in faceted.patents] == [p.record_id for p in capped.patents]
        assert [f.name for f in faceted.facets] == names
        second = stub.SearchPatents(
            data_pb2.SearchPatentsRequest(
                office="CN", page_size=2, facets=names, page_token=faceted.next_page_token
            )
        )
        plain = stub.SearchPatents(
            data_pb2.SearchPatentsRequest(
                office="CN", page_size=2, page_token=capped.next_page_token
            )
        )
        assert [p.record_id for p in second.patents] == [p.record_id for p in plain.patents]
        assert second.total_size == 70
        assert second.facets == faceted.facets
    small = stub.SearchPatents(data_pb2.SearchPatentsRequest(region_code="410000", page_size=20))
    assert small.total_size == 10  # a first page that is not full is the whole result


def test_bad_queries_and_tokens_are_invalid_argument(loaded):
    _, stub, _ = loaded
    cases = [
        (data_pb2.SearchPatentsRequest(query="专" * 201), "query"),
        (data_pb2.SearchPatentsRequest(ipc_prefix="G06F 16//"), "ipc_prefix"),
        (data_pb2.SearchPatentsRequest(region_code="999999"), "region_code"),
        (
            data_pb2.SearchPatentsRequest(
                filing_date=common_pb2.DateRange(**{"from": "2021-13-01"})
            ),
            "filing_date.from",
        ),
        (data_pb2.SearchPatentsRequest(facets=["colour"]), "facets[0]"),
        (data_pb2.SearchPatentsRequest(page_token="garbage!"), "page_token"),
    ]
    for request, field in cases:
        with pytest.raises(grpc.RpcError) as err:
            stub.SearchPatents(request, timeout=10)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in violations(err.value)
    token = stub.SearchPatents(
        data_pb2.SearchPatentsRequest(office="US", page_size=5), timeout=10
    ).next_page_token
    with pytest.raises(grpc.RpcError) as err:
        stub.SearchPatents(
            data_pb2.SearchPatentsRequest(office="CN", page_size=5, page_token=token), timeout=10
        )
    assert "different filters" in violations(err.value)["page_token"]


def test_export_streams_in_chunks_and_resumes_from_a_cursor(loaded):
    _, stub, _ = loaded
    search = data_pb2.SearchPatentsRequest(office="US")
    chunks = list(
        stub.ExportPatents(data_pb2.ExportPatentsRequest(search=search, chunk_size=25), timeout=30)
    )
    ids = [p.record_id for c in chunks for p in c.patents]
    assert len(ids) == len(set(ids)) == 134  # 129 + 4 grant XML + 1 EPO (US9231827)
    assert [len(c.patents) for c in chunks][:5] == [25] * 5
    resumed = stub.ExportPatents(
        data_pb2.ExportPatentsRequest(search=search, chunk_size=40, cursor=chunks[1].cursor),
        timeout=30,
    )
    rest = [p.record_id for c in resumed for p in c.patents]
    assert rest == ids[50:]
    with pytest.raises(grpc.RpcError) as err:
        list(
            stub.ExportPatents(
                data_pb2.ExportPatentsRequest(
                    search=data_pb2.SearchPatentsRequest(office="CN"), cursor=chunks[1].cursor
                ),
                timeout=10,
            )
        )
    assert "cursor" in violations(err.value)


def test_trademark_search(loaded):
    _, stub, _ = loaded
    reply = stub.SearchTrademarks(data_pb2.SearchTrademarksRequest(nice_classes=[45]), timeout=10)
    assert {t.mark_text for t in reply.trademarks} >= {"企查查", "企程网"}
    assert all(45 in t.nice_classes for t in reply.trademarks)
    by_owner = stub.SearchTrademarks(
        data_pb2.SearchTrademarksRequest(owner="朗动", office="CN"), timeout=10
    )
    assert by_owner.total_size == 3


def test_change_feed_and_status_agree_with_the_database(loaded):
    app, stub, _ = loaded
    seen, cursor = [], ""
    while True:
        page = stub.ListChanges(
            data_pb2.ListChangesRequest(
                data_set=data_pb2.DATA_SET_PATENTS, cursor=cursor, page_size=50
            ),
            timeout=10,
        )
        if not page.changes:
            break
        seen += page.changes
        cursor = page.next_cursor
    assert len({c.record_id for c in seen}) == 206
    assert all(c.data_set == data_pb2.DATA_SET_PATENTS for c in seen)
    status = stub.GetMirrorStatus(data_pb2.GetMirrorStatusRequest(), timeout=10)
    assert status.authoritative
    by_set = {s.data_set: s for s in status.data_sets}
    with app.db.transaction() as s:
        patent_hashes = [r[0] for r in s.execute(select(patents.c.content_hash))]
        tm_hashes = [r[0] for r in s.execute(select(trademarks.c.content_hash))]
    assert by_set[data_pb2.DATA_SET_PATENTS].record_count == 206
    assert by_set[data_pb2.DATA_SET_PATENTS].content_hash == domain.hash_hex(
        domain.combine(0, patent_hashes)
    )
    assert by_set[data_pb2.DATA_SET_TRADEMARKS].content_hash == domain.hash_hex(
        domain.combine(0, tm_hashes)
    )
    with pytest.raises(grpc.RpcError) as err:
        stub.ListChanges(data_pb2.ListChangesRequest(cursor="abc"), timeout=10)
    assert "cursor" in violations(err.value)


def test_reference_data(loaded):
    _, _, ref = loaded
    entry = ref.GetIpcEntry(data_pb2.GetIpcEntryRequest(symbol="g06f16/00"), timeout=10)
    assert (entry.symbol, entry.level, entry.parent) == ("G06F 16/00", "main_group", "G06F")
    assert entry.title.startswith("Information retrieval")
    sections = ref.ListIpcChildren(data_pb2.ListIpcChildrenRequest(), timeout=10)
    assert [e.symbol for e in sections.entries] == list("ABCDEFGH")
    assert sections.entries[6].title == "物理"
    groups = ref.ListIpcChildren(
        data_pb2.ListIpcChildrenRequest(symbol="G06F", page_size=3), timeout=10
    )
    assert [e.symbol for e in groups.entries] == ["G06F 1/00", "G06F 3/00", "G06F 5/00"]
    more = ref.ListIpcChildren(
        data_pb2.ListIpcChildrenRequest(
            symbol="G06F", page_size=3, page_token=groups.next_page_token
        ),
        timeout=10,
    )
    assert more.entries[0].symbol == "G06F 7/00"
    classes = ref.ListNiceClasses(data_pb2.ListNiceClassesRequest(), timeout=10)
    assert len(classes.classes) == 45
    similar = ref.ListSimilarGroups(data_pb2.ListSimilarGroupsRequest(nice_class=9), timeout=10)
    assert similar.groups[0].code == "0901"
    assert similar.groups[0].name == "电子计算机及其外部设备"
    assert ref.GetDivision(data_pb2.GetDivisionRequest(code="440300"), timeout=10).name == "深圳市"
    assert len(ref.ListDivisions(data_pb2.ListDivisionsRequest(), timeout=10).divisions) == 34
    with pytest.raises(grpc.RpcError) as err:
        ref.GetIpcEntry(data_pb2.GetIpcEntryRequest(symbol="G06F 17/30"), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_pages_agree_whether_matches_are_walked_or_gathered(loaded, monkeypatch):
    """PostgreSQL pages an IPC search, and "province + filing dates" or "office +
    publication dates", by walking record ids in order (one walk a year for dates) when many
    records match and by gathering and sorting the matches when few do (chosen by a count
    first); both give the same pages and totals."""
    from puhui.common.v1 import common_pb2
    from puhui.data.adapters import search

    def dates(start: str, end: str) -> common_pb2.DateRange:
        return common_pb2.DateRange(**{"from": start, "to": end})

    app, stub, _ = loaded
    queries = [
        {"ipc_prefix": "G"},
        {"ipc_prefix": "G06F 16/"},
        {"ipc_prefix": "H04L", "region_code": "440000"},
        {"ipc_prefix": "G06F 16/2"},
        {"ipc_prefix": "A01D 34/"},  # no such records
        {"region_code": "410000", "filing_date": dates("2019-03-01", "2022-10-31")},
        {"office": "CN", "publication_date": dates("2021-01-01", "2023-06-30")},
        {"office": "CN", "publication_date": dates("2022-02-01", "2022-02-28")},
        {"office": "US", "publication_date": dates("1990-01-01", "2030-12-31")},  # 41 years
    ]
    results = {}
    for few in (10**9, 0):  # everything gathered, then everything walked
        monkeypatch.setattr(search, "FEW_MATCHES", few)
        if app.reads.search_cache is not None:
            monkeypatch.setattr(app.reads.search_cache, "_values", {})
        for i, kw in enumerate(queries):
            found, total = search_all(stub, page_size=3, **kw)  # pages resume inside walks
            results.setdefault(i, []).append(([p.record_id for p in found], total))
    for i, (gathered, walked) in results.items():
        assert gathered == walked, queries[i]
    assert results[1][0][0], "the fixture files hold G06F 16/ records"
    assert results[4][0] == ([], 0)
    assert len(results[5][0][0]) > 3, "the fixture files hold Henan records of 2019–2022"
    assert len(results[6][0][0]) > 3, "… and CN records published 2021–2023"
