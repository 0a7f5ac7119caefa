"""Geographical indications and IC layout designs against real PostgreSQL and Kafka:
put/get/search with page tokens, validation, change feed, data-set hash, mirroring."""

from __future__ import annotations

import uuid

import grpc
import pytest

from puhui.data import domain
from puhui.data.tests.integration.test_mirror import node, status, wait_equal
from puhui.data.tests.support import ADMIN
from puhui.data.v1 import data_pb2
from puhui.kit.testing import bearer, violations

pytestmark = pytest.mark.integration

# Example data written for these tests (no real GI / IC layout file exists in the shared
# data): names shaped like published Chinese GIs, real GB/T 2260 region codes.
GIS = [
    ("西湖龙井", "茶叶", "330100", "geographical indication product", "2001-03-01", "2001-09-10"),
    ("安溪铁观音", "茶叶", "350524", "certification mark", "2000/04/18", "20010615"),
    ("章丘大葱", "大葱", "370114", "agricultural product geographical indication", "", ""),
    ("余杭径山茶", "茶叶", "330110", "", "2009-01-05", ""),
]
LAYOUTS = [
    ("BS.{}1", "低功耗蓝牙射频前端芯片版图", "深圳市某微电子有限公司", "440300", "2023-02-01"),
    ("BS.{}2", "高速模数转换器版图", "杭州某集成电路有限公司", "330100", "2022-11-20"),
    ("BS.{}3", "电源管理芯片版图", "深圳市某半导体有限公司", "440300", "2024-05-06"),
]


def put_all(stub, tag: str) -> tuple[list[str], list[str]]:
    gi_ids, ic_ids = [], []
    for i, (name, product, region, kind, applied, approved) in enumerate(GIS):
        reply = stub.PutGeographicalIndication(
            data_pb2.PutGeographicalIndicationRequest(
                indication=data_pb2.GeographicalIndication(
                    gi_id=f"agi-{tag}-{i}",
                    name=name,
                    product=product,
                    region_code=region,
                    protection_type=kind,
                    application_date=applied,
                    approval_date=approved,
                )
            ),
            metadata=ADMIN,
            timeout=10,
        )
        assert reply.outcome == "inserted"
        gi_ids.append(reply.indication.gi_id)
    for number, name, owner, region, filed in LAYOUTS:
        reply = stub.PutIcLayout(
            data_pb2.PutIcLayoutRequest(
                layout=data_pb2.IcLayout(
                    registration_number=number.format(tag),
                    name=name,
                    owner=data_pb2.Party(name=owner, region_code=region),
                    creation_date="2022-01-15",
                    filing_date=filed,
                )
            ),
            metadata=ADMIN,
            timeout=10,
        )
        assert reply.outcome == "inserted"
        ic_ids.append(reply.layout.registration_number)
    return gi_ids, ic_ids


def test_gi_and_ic_layouts_put_get_search_changes_and_mirror(database_factory, kafka_bootstrap):
    stream = f"mirror.t{uuid.uuid4().hex[:12]}"
    tag = uuid.uuid4().hex[:8].upper()
    hub_db, province_db = database_factory("datagihub"), database_factory("datagiprov")
    with node("000000", hub_db, kafka_bootstrap, stream) as (_hub_app, hub):
        gi_ids, ic_ids = put_all(hub, tag)
        assert gi_ids[0] == f"AGI-{tag}-0"

        # Get: normalised values and dates in every accepted format.
        gi = hub.GetGeographicalIndication(
            data_pb2.GetGeographicalIndicationRequest(gi_id=f" agi-{tag}-1 "), timeout=10
        )
        assert (gi.name, gi.region_code, gi.application_date, gi.approval_date) == (
            "安溪铁观音",
            "350524",
            "2000-04-18",
            "2001-06-15",
        )
        assert len(gi.content_hash) == 64
        assert gi.HasField("updated_at")
        ic = hub.GetIcLayout(data_pb2.GetIcLayoutRequest(registration_number=ic_ids[1]))
        assert (ic.name, ic.owner.region_code, ic.owner.country, ic.filing_date) == (
            "高速模数转换器版图",
            "330100",
            "CN",
            "2022-11-20",
        )

        # Unchanged / updated.
        same = hub.PutIcLayout(data_pb2.PutIcLayoutRequest(layout=ic), metadata=ADMIN)
        assert same.outcome == "unchanged"
        changed = data_pb2.IcLayout()
        changed.CopyFrom(ic)
        changed.name = "高速模数转换器版图（修订）"
        assert (
            hub.PutIcLayout(data_pb2.PutIcLayoutRequest(layout=changed), metadata=ADMIN).outcome
            == "updated"
        )

        # Search: text in name or product, region and everything under it, page tokens.
        found = hub.SearchGeographicalIndications(
            data_pb2.SearchGeographicalIndicationsRequest(query="茶叶", page_size=2)
        )
        assert found.total_size == 3
        assert len(found.indications) == 2
        rest = hub.SearchGeographicalIndications(
            data_pb2.SearchGeographicalIndicationsRequest(
                query="茶叶", page_size=2, page_token=found.next_page_token
            )
        )
        assert [g.name for g in rest.indications] == ["余杭径山茶"]
        assert rest.next_page_token == ""
        zhejiang = hub.SearchGeographicalIndications(
            data_pb2.SearchGeographicalIndicationsRequest(region_code="330000")
        )
        assert sorted(g.name for g in zhejiang.indications) == ["余杭径山茶", "西湖龙井"]
        shenzhen = hub.SearchIcLayouts(data_pb2.SearchIcLayoutsRequest(owner="深圳市"))
        assert shenzhen.total_size == 2
        chips = hub.SearchIcLayouts(data_pb2.SearchIcLayoutsRequest(query="芯片"))
        assert sorted(x.registration_number for x in chips.layouts) == [ic_ids[0], ic_ids[2]]

        # Bad input: field violations, nothing written; unknown: NOT_FOUND.
        with pytest.raises(grpc.RpcError) as err:
            hub.PutGeographicalIndication(
                data_pb2.PutGeographicalIndicationRequest(
                    indication=data_pb2.GeographicalIndication(
                        gi_id="x y/z",
                        name="",
                        region_code="999999",
                        protection_type="patent",
                        application_date="2020-13-45",
                    )
                ),
                metadata=ADMIN,
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(violations(err.value)) >= {
            "indication.gi_id",
            "indication.name",
            "indication.region_code",
            "indication.protection_type",
            "indication.application_date",
        }
        with pytest.raises(grpc.RpcError) as err:
            hub.SearchGeographicalIndications(
                data_pb2.SearchGeographicalIndicationsRequest(region_code="12345")
            )
        assert "region_code" in violations(err.value)
        with pytest.raises(grpc.RpcError) as err:
            hub.SearchIcLayouts(data_pb2.SearchIcLayoutsRequest(page_token="garbage"))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as err:
            hub.GetIcLayout(data_pb2.GetIcLayoutRequest(registration_number="BS.000"))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as err:
            hub.PutIcLayout(data_pb2.PutIcLayoutRequest(layout=ic), metadata=bearer("staff-token"))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED

        # Change feed per data set.
        feed = hub.ListChanges(
            data_pb2.ListChangesRequest(data_set=data_pb2.DATA_SET_IC_LAYOUTS, page_size=100)
        )
        assert [(c.record_id, c.change) for c in feed.changes] == [
            *[(i, "inserted") for i in ic_ids],
            (ic_ids[1], "updated"),
        ]

        # Data-set status: count and order-independent hash of the records' hashes.
        hub_status = status(hub)
        gi_hashes = [
            hub.GetGeographicalIndication(
                data_pb2.GetGeographicalIndicationRequest(gi_id=i)
            ).content_hash
            for i in gi_ids
        ]
        assert hub_status[data_pb2.DATA_SET_GEOGRAPHICAL_INDICATIONS] == (
            len(GIS),
            domain.hash_hex(domain.combine(0, gi_hashes)),
        )
        assert hub_status[data_pb2.DATA_SET_IC_LAYOUTS][0] == len(LAYOUTS)

        # A provincial node mirrors both data sets to the hub's count and hash.
        with node("440000", province_db, kafka_bootstrap, stream) as (_, province):
            mirrored = wait_equal(hub, province)
            assert (
                mirrored[data_pb2.DATA_SET_IC_LAYOUTS] == hub_status[data_pb2.DATA_SET_IC_LAYOUTS]
            )
            copy = province.GetIcLayout(data_pb2.GetIcLayoutRequest(registration_number=ic_ids[1]))
            assert copy.name == "高速模数转换器版图（修订）"
            with pytest.raises(grpc.RpcError) as err:
                province.PutIcLayout(data_pb2.PutIcLayoutRequest(layout=ic), metadata=ADMIN)
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
