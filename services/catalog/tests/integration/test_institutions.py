"""Catalog against real PostgreSQL and Kafka, through a real gRPC server."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import func, select

from puhui.catalog.adapters.db import institutions, outbox
from puhui.catalog.server import build
from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc, events_pb2
from puhui.kit.testing import read_events, running

pytestmark = pytest.mark.integration

NODE = "440000"


@pytest.fixture
def catalog(database_url, kafka_bootstrap):
    app = build(node_id=NODE, database_url=database_url, kafka_bootstrap=kafka_bootstrap, grpc_port=0, metrics_port=0)
    with running(app) as host, grpc.insecure_channel(host.address) as channel:
        yield app, catalog_pb2_grpc.CatalogServiceStub(channel)


def new_institution(**kw):
    fields = {
        "name": "深圳市知识产权保护中心",
        "tier": catalog_pb2.INSTITUTION_TIER_PREFECTURE_CENTRE,
        "region_code": "440300",
        "description": "专利检索与分析服务",
        "ipc_fields": ["G06F 16/00", "h04l"],
        "monthly_capacity": 120,
    }
    fields.update(kw)
    return catalog_pb2.CreateInstitutionRequest(institution=catalog_pb2.Institution(**fields))


def violations(err: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(err)
    out = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            out.update({v.field: v.description for v in bad.field_violations})
    return out


def counts(app) -> tuple[int, int]:
    with app.db.transaction() as s:
        return (
            s.execute(select(func.count()).select_from(institutions)).scalar_one(),
            s.execute(select(func.count()).select_from(outbox)).scalar_one(),
        )


def test_create_get_search_and_event_on_kafka(catalog, kafka_bootstrap):
    app, stub = catalog
    created = stub.CreateInstitution(new_institution(), timeout=10)
    assert created.institution_id.startswith("440000-")
    assert created.status == catalog_pb2.INSTITUTION_STATUS_PENDING
    assert list(created.ipc_fields) == ["G06F 16/00", "H04L"]

    got = stub.GetInstitution(catalog_pb2.GetInstitutionRequest(institution_id=created.institution_id), timeout=10)
    assert got.name == "深圳市知识产权保护中心"

    # Chinese text and region (a province finds a city-level institution under it).
    found = stub.SearchInstitutions(catalog_pb2.SearchInstitutionsRequest(query="保护中心", region_code="440000"), timeout=10)
    assert [i.institution_id for i in found.institutions] == [created.institution_id]
    assert found.total_size == 1

    events = read_events(
        kafka_bootstrap,
        "puhui.440000.catalog.events",
        lambda e: e.subject == f"institution/{created.institution_id}",
    )
    assert len(events) == 1
    assert events[0].type == "puhui.catalog.v1.InstitutionChanged"
    assert events[0].source_node == NODE
    payload = events[0].payload
    changed = events_pb2.InstitutionChanged()
    assert payload.Unpack(changed)
    assert changed.institution.name == "深圳市知识产权保护中心"


def test_malformed_request_names_fields_and_writes_nothing(catalog):
    app, stub = catalog
    before = counts(app)
    with pytest.raises(grpc.RpcError) as info:
        stub.CreateInstitution(new_institution(region_code="449999", ipc_fields=["Z99Z"], name=""), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = violations(info.value)
    assert set(fields) == {"institution.name", "institution.region_code", "institution.ipc_fields[0]"}
    assert counts(app) == before


def test_other_province_region_refused(catalog):
    app, stub = catalog
    with pytest.raises(grpc.RpcError) as info:
        stub.CreateInstitution(new_institution(region_code="320100"), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "institution.region_code" in violations(info.value)


def test_pagination_is_stable_and_tokens_are_bound_to_filters(catalog):
    app, stub = catalog
    for n in range(5):
        stub.CreateInstitution(new_institution(name=f"广州知识产权服务站{n}", region_code="440100"), timeout=10)
    seen = []
    token = ""
    while True:
        page = stub.SearchInstitutions(
            catalog_pb2.SearchInstitutionsRequest(region_code="440100", page_size=2, page_token=token), timeout=10
        )
        assert page.total_size == 5
        seen += [i.name for i in page.institutions]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(seen) and len(seen) == 5
    first = stub.SearchInstitutions(catalog_pb2.SearchInstitutionsRequest(region_code="440100", page_size=2), timeout=10)
    with pytest.raises(grpc.RpcError) as info:
        stub.SearchInstitutions(
            catalog_pb2.SearchInstitutionsRequest(region_code="440300", page_size=2, page_token=first.next_page_token),
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in violations(info.value)


def test_unknown_institution_is_not_found(catalog):
    _, stub = catalog
    with pytest.raises(grpc.RpcError) as info:
        stub.GetInstitution(catalog_pb2.GetInstitutionRequest(institution_id="440000-999999"), timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
