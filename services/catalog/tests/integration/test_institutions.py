"""Institutions against real PostgreSQL and Kafka, through a real gRPC server."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import func, select

from puhui.catalog.adapters.db import catalog_version, institutions, outbox, service_items
from puhui.catalog.tests.support import GD_ADMIN, JS_ADMIN, NATIONAL, institution, staff
from puhui.catalog.v1 import catalog_pb2, events_pb2
from puhui.kit.testing import read_events, violations

pytestmark = pytest.mark.integration

NODE = "440000"
S = catalog_pb2


def create(req_institution=None, **kw):
    return S.CreateInstitutionRequest(institution=req_institution or institution(**kw))


def counts(app) -> tuple[int, int, int]:
    with app.db.transaction() as s:
        return (
            s.execute(select(func.count()).select_from(institutions)).scalar_one(),
            s.execute(select(func.count()).select_from(service_items)).scalar_one(),
            s.execute(select(func.count()).select_from(outbox)).scalar_one(),
        )


def created_now(envelope, created) -> bool:
    changed = events_pb2.InstitutionChanged()
    return envelope.payload.Unpack(changed) and changed.institution.created_at == created.created_at


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code()


def test_create_get_search_and_event_on_kafka(fresh_catalog, kafka_bootstrap):
    admin = fresh_catalog.as_(GD_ADMIN)
    created = admin.CreateInstitution(create())
    assert created.institution_id.startswith("440000-")
    assert created.status == S.INSTITUTION_STATUS_PENDING
    assert list(created.ipc_fields) == ["G06F 16/00", "H04L"]

    got = admin.GetInstitution(S.GetInstitutionRequest(institution_id=created.institution_id))
    assert got.name == "深圳市知识产权保护中心"

    # Chinese text and region (a province finds a city-level institution under it).
    found = admin.SearchInstitutions(
        S.SearchInstitutionsRequest(query="保护中心", region_code="440000")
    )
    assert [i.institution_id for i in found.institutions] == [created.institution_id]
    assert found.total_size == 1

    events = read_events(
        kafka_bootstrap,
        "puhui.440000.catalog.events",
        # Ids restart with each fresh test database and topics persist: match this run's
        # institution by its creation time too.
        lambda e: e.subject == f"institution/{created.institution_id}" and created_now(e, created),
    )
    assert len(events) == 1
    assert events[0].type == "puhui.catalog.v1.InstitutionChanged"
    assert events[0].source_node == NODE
    changed = events_pb2.InstitutionChanged()
    assert events[0].payload.Unpack(changed)
    assert changed.change == "created"
    assert changed.institution.name == "深圳市知识产权保护中心"


def test_malformed_request_names_fields_and_writes_nothing(shared_catalog):
    admin = shared_catalog.as_(GD_ADMIN)
    before = counts(shared_catalog.app)
    with pytest.raises(grpc.RpcError) as info:
        admin.CreateInstitution(create(region_code="449999", ipc_fields=["Z99Z"], name=""))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = violations(info.value)
    assert set(fields) == {
        "institution.name",
        "institution.region_code",
        "institution.ipc_fields[0]",
    }
    with pytest.raises(grpc.RpcError) as info:
        admin.CreateInstitution(
            create(
                service_area=["440300", "999999"],
                ipc_fields=["G06F 17/30"],  # moved to G06F 16/ in IPC 2019.01
                contacts=[S.Contact(name="张三", email="not-an-email")],
                monthly_capacity=-1,
            )
        )
    assert set(violations(info.value)) == {
        "institution.service_area[1]",
        "institution.ipc_fields[0]",
        "institution.contacts[0].email",
        "institution.monthly_capacity",
    }
    assert counts(shared_catalog.app) == before


def test_other_province_region_refused(shared_catalog):
    admin = shared_catalog.as_(GD_ADMIN)
    with pytest.raises(grpc.RpcError) as info:
        admin.CreateInstitution(create(region_code="320100"))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "institution.region_code" in violations(info.value)


def test_pagination_is_stable_and_tokens_are_bound_to_filters(fresh_catalog):
    admin = fresh_catalog.as_(GD_ADMIN)
    for n in range(5):
        admin.CreateInstitution(create(name=f"广州知识产权服务站{n}", region_code="440100"))
    seen = []
    token = ""
    while True:
        page = admin.SearchInstitutions(
            S.SearchInstitutionsRequest(region_code="440100", page_size=2, page_token=token)
        )
        assert page.total_size == 5
        seen += [i.name for i in page.institutions]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(seen)
    assert len(seen) == 5
    first = admin.SearchInstitutions(S.SearchInstitutionsRequest(region_code="440100", page_size=2))
    with pytest.raises(grpc.RpcError) as info:
        admin.SearchInstitutions(
            S.SearchInstitutionsRequest(
                region_code="440300", page_size=2, page_token=first.next_page_token
            )
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in violations(info.value)


def test_unknown_institution_is_not_found(shared_catalog):
    with pytest.raises(grpc.RpcError) as info:
        shared_catalog.as_(None).GetInstitution(
            S.GetInstitutionRequest(institution_id="440000-999999")
        )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_approval_stamps_who_and_when_and_opens_reading_to_everyone(shared_catalog):
    admin, anonymous = shared_catalog.as_(GD_ADMIN), shared_catalog.as_(None)
    created = admin.CreateInstitution(create(name="东莞市知识产权服务中心", region_code="441900"))
    get = S.GetInstitutionRequest(institution_id=created.institution_id)
    # Pending: hidden from the public, visible to its node's admin and its own staff.
    assert code_of(lambda: anonymous.GetInstitution(get)) == grpc.StatusCode.NOT_FOUND
    assert shared_catalog.as_(staff(created.institution_id)).GetInstitution(get).name
    stranger = shared_catalog.as_(staff("440000-999998"))
    assert code_of(lambda: stranger.GetInstitution(get)) == grpc.StatusCode.NOT_FOUND
    public = S.SearchInstitutionsRequest(query="东莞市知识产权")
    assert created.institution_id not in [
        i.institution_id for i in anonymous.SearchInstitutions(public).institutions
    ]

    approved = admin.ApproveInstitution(
        S.ChangeInstitutionStatusRequest(institution_id=created.institution_id, reason="材料齐全")
    )
    assert approved.status == S.INSTITUTION_STATUS_APPROVED
    assert approved.approved.actor == "440000:gd-admin"
    assert approved.approved.time.seconds > 0
    assert approved.status_changed.actor == "440000:gd-admin"
    assert approved.status_reason == "材料齐全"
    assert approved.revision == created.revision + 1
    assert anonymous.GetInstitution(get).status == S.INSTITUTION_STATUS_APPROVED
    assert created.institution_id in [
        i.institution_id for i in anonymous.SearchInstitutions(public).institutions
    ]

    # approved → suspended → approved (reinstated) → retired; retired is final.
    req = S.ChangeInstitutionStatusRequest(institution_id=created.institution_id, reason="整改")
    assert admin.SuspendInstitution(req).status == S.INSTITUTION_STATUS_SUSPENDED
    assert code_of(lambda: anonymous.GetInstitution(get)) == grpc.StatusCode.NOT_FOUND
    assert code_of(lambda: admin.SuspendInstitution(req)) == grpc.StatusCode.FAILED_PRECONDITION
    assert admin.ApproveInstitution(req).status == S.INSTITUTION_STATUS_APPROVED
    retired = admin.RetireInstitution(req)
    assert retired.status == S.INSTITUTION_STATUS_RETIRED
    assert retired.approved.actor == "440000:gd-admin"
    assert code_of(lambda: admin.ApproveInstitution(req)) == grpc.StatusCode.FAILED_PRECONDITION


def test_national_designations_need_a_national_admin(shared_catalog):
    admin, national = shared_catalog.as_(GD_ADMIN), shared_catalog.as_(NATIONAL)
    tisc = admin.CreateInstitution(
        create(
            name="中山大学技术与创新支持中心", tier=S.INSTITUTION_TIER_TISC, region_code="440100"
        )
    )
    req = S.ChangeInstitutionStatusRequest(institution_id=tisc.institution_id)
    before = counts(shared_catalog.app)
    assert code_of(lambda: admin.ApproveInstitution(req)) == grpc.StatusCode.PERMISSION_DENIED
    assert counts(shared_catalog.app) == before
    approved = national.ApproveInstitution(req)
    assert approved.status == S.INSTITUTION_STATUS_APPROVED
    assert approved.approved.actor == "000000:cnipa"


def test_nobody_writes_another_nodes_entries(shared_catalog):
    admin, jiangsu = shared_catalog.as_(GD_ADMIN), shared_catalog.as_(JS_ADMIN)
    ours = admin.CreateInstitution(create(name="佛山市知识产权服务站", region_code="440600"))
    before = counts(shared_catalog.app)
    denied = grpc.StatusCode.PERMISSION_DENIED
    assert code_of(lambda: jiangsu.CreateInstitution(create(region_code="440600"))) == denied
    assert code_of(lambda: shared_catalog.as_(None).CreateInstitution(create())) in {
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
    }
    changed = institution(name="被篡改", region_code="440600")
    changed.institution_id = ours.institution_id
    update = S.UpdateInstitutionRequest(institution=changed, expected_revision=ours.revision)
    assert code_of(lambda: jiangsu.UpdateInstitution(update)) == denied
    status = S.ChangeInstitutionStatusRequest(institution_id=ours.institution_id)
    assert code_of(lambda: jiangsu.ApproveInstitution(status)) == denied
    assert code_of(lambda: jiangsu.RetireInstitution(status)) == denied
    other_staff = shared_catalog.as_(staff("440000-000999"))
    assert code_of(lambda: other_staff.UpdateInstitution(update)) == denied
    assert code_of(lambda: other_staff.ApproveInstitution(status)) == denied
    # Own staff may edit details but not approve themselves.
    own_staff = shared_catalog.as_(staff(ours.institution_id))
    assert code_of(lambda: own_staff.ApproveInstitution(status)) == denied
    assert counts(shared_catalog.app) == before
    unchanged = admin.GetInstitution(S.GetInstitutionRequest(institution_id=ours.institution_id))
    assert unchanged.name == "佛山市知识产权服务站"
    assert unchanged.revision == ours.revision


def test_update_with_expected_revision(shared_catalog):
    admin = shared_catalog.as_(GD_ADMIN)
    created = admin.CreateInstitution(create(name="珠海市知识产权服务中心", region_code="440400"))
    edited = institution(
        name="珠海市知识产权公共服务中心",
        region_code="440400",
        service_area=["440400", "440402"],
        contacts=[S.Contact(name="李四", phone="0756-1234567", email="ip@example.cn")],
        monthly_capacity=60,
    )
    edited.institution_id = created.institution_id
    updated = shared_catalog.as_(staff(created.institution_id)).UpdateInstitution(
        S.UpdateInstitutionRequest(institution=edited, expected_revision=created.revision)
    )
    assert updated.revision == created.revision + 1
    assert updated.name == "珠海市知识产权公共服务中心"
    assert list(updated.service_area) == ["440400", "440402"]
    assert updated.contacts[0].phone == "0756-1234567"
    assert updated.status == S.INSTITUTION_STATUS_PENDING
    before = counts(shared_catalog.app)
    stale = S.UpdateInstitutionRequest(institution=edited, expected_revision=created.revision)
    assert code_of(lambda: admin.UpdateInstitution(stale)) == grpc.StatusCode.ABORTED
    assert counts(shared_catalog.app) == before


def test_cached_totals_change_with_every_committed_write(fresh_catalog):
    """Totals are reused only at the catalog version they were counted at: every committed
    write (here an approval, a suspension and a new institution) changes it; a refused write
    (nothing committed) does not."""
    app = fresh_catalog.app
    assert app.totals is not None
    assert app.totals.enabled
    admin, anonymous = fresh_catalog.as_(GD_ADMIN), fresh_catalog.as_(None)

    def version() -> int:
        with app.db.read() as session:
            return session.execute(select(catalog_version.c.value)).scalar_one()

    def public_total() -> int:
        # Page size 1: the second institution is past the page, only the total shows it.
        request = S.SearchInstitutionsRequest(query="知识产权", region_code="440000", page_size=1)
        return anonymous.SearchInstitutions(request).total_size

    first = admin.CreateInstitution(create(name="佛山市知识产权服务中心", region_code="440600"))
    second = admin.CreateInstitution(create(name="中山市知识产权服务中心", region_code="442000"))
    assert public_total() == 0
    assert public_total() == 0
    for created in (first, second):
        admin.ApproveInstitution(
            S.ChangeInstitutionStatusRequest(institution_id=created.institution_id)
        )
    assert public_total() == 2
    assert public_total() == 2
    before = version()
    refused = S.ChangeInstitutionStatusRequest(institution_id=first.institution_id)
    assert code_of(lambda: admin.ApproveInstitution(refused)) == grpc.StatusCode.FAILED_PRECONDITION
    assert version() == before
    assert public_total() == 2
    admin.SuspendInstitution(refused)
    assert version() == before + 1
    assert public_total() == 1
    third = admin.CreateInstitution(create(name="珠海市知识产权服务中心", region_code="440400"))
    admin.ApproveInstitution(S.ChangeInstitutionStatusRequest(institution_id=third.institution_id))
    assert public_total() == 2
