"""The hub can rebuild a province's catalog from the events on Kafka alone."""

from __future__ import annotations

import pytest

from puhui.catalog.replica import CatalogReplica
from puhui.catalog.tests.support import GD_ADMIN, NATIONAL, institution, item, staff
from puhui.catalog.v1 import catalog_pb2, events_pb2
from puhui.kit.testing import read_events

pytestmark = pytest.mark.integration

S = catalog_pb2


def _change(envelope) -> str:
    changed = events_pb2.ServiceItemChanged()
    return changed.change if envelope.payload.Unpack(changed) else ""


def test_rebuild_from_kafka_events_equals_the_database(fresh_catalog, kafka_bootstrap):
    c = fresh_catalog
    admin = c.as_(GD_ADMIN)
    writes = 0

    def create(**kw):
        nonlocal writes
        writes += 1
        return admin.CreateInstitution(S.CreateInstitutionRequest(institution=institution(**kw)))

    a = create(
        name="汕头市知识产权服务中心", region_code="440500", service_area=["440500", "440511"]
    )
    b = create(
        name="汕头大学技术与创新支持中心", region_code="440500", tier=S.INSTITUTION_TIER_TISC
    )
    d = create(
        name="潮州市知识产权工作站",
        region_code="445100",
        tier=S.INSTITUTION_TIER_KEY_NETWORK_OUTLET,
    )
    status = S.ChangeInstitutionStatusRequest
    admin.ApproveInstitution(status(institution_id=a.institution_id, reason="ok"))
    c.as_(NATIONAL).ApproveInstitution(status(institution_id=b.institution_id))
    c.as_(NATIONAL).SuspendInstitution(status(institution_id=b.institution_id, reason="整改"))
    admin.RetireInstitution(status(institution_id=d.institution_id))
    edited = institution(
        name="汕头市知识产权公共服务中心", region_code="440500", service_area=["440500"]
    )
    edited.institution_id = a.institution_id
    admin.UpdateInstitution(S.UpdateInstitutionRequest(institution=edited, expected_revision=2))
    writes += 5
    own = c.as_(staff(a.institution_id))
    i1 = own.CreateServiceItem(S.CreateServiceItemRequest(item=item(a.institution_id)))
    i2 = own.CreateServiceItem(
        S.CreateServiceItemRequest(
            item=item(
                a.institution_id,
                service_code="TR-01",
                name="知识产权培训",
                category=S.SERVICE_CATEGORY_TRAINING,
            )
        )
    )
    v2 = S.ServiceItem()
    v2.CopyFrom(i1)
    v2.name = "专利检索（第二版）"
    own.UpdateServiceItem(S.UpdateServiceItemRequest(item=v2, expected_version=1))
    v2.name = "专利检索（第三版）"
    own.UpdateServiceItem(S.UpdateServiceItemRequest(item=v2, expected_version=2))
    writes += 4
    # A status change of the institution re-announces its current items with the status.
    admin.SuspendInstitution(status(institution_id=a.institution_id, reason="年检"))
    writes += 1 + 2

    # Ids restart with every fresh test database and topics persist: take this run's events
    # by the institutions' creation times and the items' (unique) ids.
    created = {x.institution_id: x.created_at for x in (a, b, d)}
    item_ids = {i1.item_id, i2.item_id}

    def ours(envelope) -> bool:
        if envelope.subject.startswith("item/"):
            return envelope.subject.removeprefix("item/") in item_ids
        changed = events_pb2.InstitutionChanged()
        if not envelope.payload.Unpack(changed):
            return False
        return created.get(changed.institution.institution_id) == changed.institution.created_at

    events = read_events(kafka_bootstrap, "puhui.440000.catalog.events", ours, count=writes)
    assert len(events) == writes
    replica = CatalogReplica()
    for envelope in reversed(events):  # order does not matter
        assert replica.apply(envelope)
        replica.apply(envelope)  # nor does a duplicate

    for iid in created:
        in_db = admin.GetInstitution(S.GetInstitutionRequest(institution_id=iid))
        assert replica.institutions[iid] == in_db
    assert replica.institutions[b.institution_id].status == S.INSTITUTION_STATUS_SUSPENDED
    assert replica.institutions[a.institution_id].status == S.INSTITUTION_STATUS_SUSPENDED
    for item_id in item_ids:
        in_db = admin.ListServiceItemVersions(S.ListServiceItemVersionsRequest(item_id=item_id))
        assert replica.item_versions(item_id) == list(in_db.versions)
    suspended = [
        e for e in events if e.subject == f"item/{i2.item_id}" and _change(e) == "suspended"
    ]
    assert len(suspended) == 1
    assert {v.institution_status for v in replica.item_versions(i1.item_id)} == {
        S.INSTITUTION_STATUS_SUSPENDED
    }
    assert [v.name for v in replica.item_versions(i1.item_id)] == [
        "专利检索服务",
        "专利检索（第二版）",
        "专利检索（第三版）",
    ]
