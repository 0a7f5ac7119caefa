"""Complaints and needs, near-duplicate groups, and "demand without supply" against the
catalog read model built from real catalog events on Kafka."""

from __future__ import annotations

import base64
import uuid

import grpc
import pytest
from google.protobuf import any_pb2

from puhui.catalog.v1 import catalog_pb2, events_pb2
from puhui.common.v1 import common_pb2
from puhui.events.v1 import envelope_pb2
from puhui.feedback.tests.integration.conftest import eventually
from puhui.feedback.tests.support import (
    IT_NODE as NODE,
)
from puhui.feedback.v1 import feedback_pb2 as fb
from puhui.kit import kafka, pagination
from puhui.kit.ids import new_id
from puhui.kit.testing import bearer, read_events, violations

pytestmark = pytest.mark.integration


def publish_catalog(bootstrap: str, *payloads) -> None:
    producer = kafka.make_producer(bootstrap, "feedback-test-catalog")
    try:
        for payload in payloads:
            packed = any_pb2.Any()
            packed.Pack(payload)
            envelope = envelope_pb2.EventEnvelope(
                event_id=new_id(),
                type=payload.DESCRIPTOR.full_name,
                source_node=NODE,
                source_service="catalog",
                subject="test",
                schema_version=1,
                payload=packed,
            )
            producer.send(
                kafka.topic_name(NODE, "catalog"), key=b"test", value=envelope.SerializeToString()
            )
        producer.flush(15)
    finally:
        producer.close(timeout=5)


def unmet(stub, region: str) -> set[tuple[str, str, int]]:
    response = stub.GetDemandWithoutSupply(
        fb.GetDemandWithoutSupplyRequest(region_code=region), metadata=bearer("admin"), timeout=10
    )
    return {(u.category, u.region_code, u.need_count) for u in response.unmet}


def test_reports_are_grouped_and_demand_meets_catalog_supply(module_app, kafka_bootstrap):
    _, stub = module_app
    # A county (轮台县) of the test node; the database is per module.
    region = "652822"
    marker = uuid.uuid4().hex[:6]
    texts = [
        f"希望提供集成电路布图设计登记咨询服务{marker}",
        f"希望提供集成电路布图设计登记的咨询服务{marker}",
        f"需要海外专利预警分析{marker}",
    ]
    reports = [
        stub.SubmitReport(
            fb.SubmitReportRequest(
                kind=fb.REPORT_KIND_NEED,
                source=src,
                category="IC_LAYOUT_CONSULTATION",
                region_code=region,
                text=text,
                point_id="hotline-12345",
            ),
            timeout=10,
        )
        for src, text in zip(
            [fb.COLLECTION_POINT_HOTLINE, fb.COLLECTION_POINT_SURVEY, fb.COLLECTION_POINT_WINDOW],
            texts,
            strict=True,
        )
    ]
    assert reports[0].point_id == "hotline-12345"
    assert reports[0].group_id == reports[1].group_id
    assert reports[2].group_id != reports[0].group_id
    groups = stub.ListReportGroups(
        fb.ListReportGroupsRequest(kind=fb.REPORT_KIND_NEED, region_code=region),
        metadata=bearer("admin"),
        timeout=10,
    )
    sizes = {g.group_id: g.size for g in groups.groups}
    assert sizes[reports[0].group_id] == 2
    assert sizes[reports[2].group_id] == 1
    events = read_events(
        kafka_bootstrap,
        f"puhui.{NODE}.feedback.events",
        lambda e: e.subject == f"report/{reports[0].report_id}",
    )
    assert events[0].type == "puhui.feedback.v1.ReportSubmitted"

    base = {(c, r, n) for c, r, n in unmet(stub, region) if c == "IC_LAYOUT_CONSULTATION"}
    assert (
        "IC_LAYOUT_CONSULTATION",
        region,
        len(texts) + sum(n for *_, n in base) - len(texts),
    ) in base

    # The catalog publishes an approved institution in 巴音郭楞 offering IC layout consultation.
    institution_id = f"{NODE}-t{marker}"
    publish_catalog(
        kafka_bootstrap,
        events_pb2.InstitutionChanged(
            change="approved",
            institution=catalog_pb2.Institution(
                institution_id=institution_id,
                region_code="652800",
                status=catalog_pb2.INSTITUTION_STATUS_APPROVED,
                revision=2,
            ),
        ),
        events_pb2.ServiceItemChanged(
            change="created",
            item=catalog_pb2.ServiceItem(
                item_id=f"item-{marker}",
                version=1,
                institution_id=institution_id,
                category=catalog_pb2.SERVICE_CATEGORY_IC_LAYOUT_CONSULTATION,
                is_current=True,
            ),
        ),
    )
    assert eventually(
        lambda: (
            not any(
                c == "IC_LAYOUT_CONSULTATION" and r == region for c, r, _ in unmet(stub, region)
            )
        )
    )


def test_bad_report_names_fields(module_app):
    _, stub = module_app
    with pytest.raises(grpc.RpcError) as info:
        stub.SubmitReport(
            fb.SubmitReportRequest(category="COOKING", region_code="320100"), timeout=10
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(info.value)) == {"kind", "source", "category", "region_code", "text"}


def test_report_texts_are_for_admins(module_app):
    _, stub = module_app
    request = fb.ListReportGroupsRequest(kind=fb.REPORT_KIND_COMPLAINT)
    with pytest.raises(grpc.RpcError) as info:
        stub.ListReportGroups(request, timeout=10)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as info:
        stub.ListReportGroups(request, metadata=bearer("staff"), timeout=10)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_forged_report_group_tokens_are_invalid_argument(module_app):
    """A cursor with the right filter hash but a sort key the service never issues (no
    `size:group`, no `moment|id`) and no valid tag is refused as INVALID_ARGUMENT on
    page_token, never INTERNAL; the service's own tokens still page."""
    _, stub = module_app
    region = "652800"
    for text in ("商标续展窗口排队过久", "专利年费缴纳系统无法登录"):
        stub.SubmitReport(
            fb.SubmitReportRequest(
                kind=fb.REPORT_KIND_COMPLAINT,
                source=fb.COLLECTION_POINT_HOTLINE,
                category="IC_LAYOUT_CONSULTATION",
                region_code=region,
                text=f"{text}{uuid.uuid4().hex}",
            ),
            timeout=10,
        )
    request = fb.ListReportGroupsRequest(
        kind=fb.REPORT_KIND_COMPLAINT, region_code=region, page_size=1
    )
    first = stub.ListReportGroups(request, metadata=bearer("admin"), timeout=10)
    assert first.next_page_token
    request.page_token = first.next_page_token
    second = stub.ListReportGroups(request, metadata=bearer("admin"), timeout=10)
    assert second.groups[0].group_id != first.groups[0].group_id

    digest = pagination.filter_hash({"kind": fb.REPORT_KIND_COMPLAINT, "region": region})
    cursor = common_pb2.PageCursor(after="not-a-size|x", filter_hash=digest, version=1)
    raw = cursor.SerializeToString()
    for tag in (b"", b"\x00" * pagination.TAG_BYTES):
        request.page_token = base64.urlsafe_b64encode(raw + tag).decode().rstrip("=")
        with pytest.raises(grpc.RpcError) as info:
            stub.ListReportGroups(request, metadata=bearer("admin"), timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violations(info.value) == {"page_token": "is not a page token issued by this API"}
