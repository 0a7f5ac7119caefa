"""Data distribution across nodes: the hub's data sets (real reference records imported at the
hub's data service) mirror through Kafka to a provincial node, and each province's
completeness is visible at the hub's federation service — count and content hash of every
data set, as the province itself reports them.

Three nodes against the real Kafka and PostgreSQL: the hub (federation + data), 440000
(identity + data, mirroring) and 320000 (identity + data with its mirror switched off: a
province that has not mirrored anything). The mirror topic is this test's own
(`mirror_stream`), so records other runs published never reach it.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import puhui.data
from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.federation.testing import Federation, Node
from puhui.federation.v1 import federation_pb2 as fpb
from puhui.kit.testing import eventually, free_port

pytestmark = pytest.mark.integration

FIXTURES = Path(puhui.data.__file__).resolve().parent / "tests" / "fixtures"
PATENTS = FIXTURES / "patents/cn_cnipa_style_records/cn_patents_patentsemantix_10.csv"
TRADEMARKS = FIXTURES / "trademarks/tm_list_size10.json"
MORE_TRADEMARKS = FIXTURES / "trademarks/cn_trademarks_qichacha_api_3.json"


def mirror_status(node: Node) -> dict[int, tuple[int, str]]:
    stub = data_pb2_grpc.DataServiceStub(node.channel("data"))
    reply = stub.GetMirrorStatus(data_pb2.GetMirrorStatusRequest(), timeout=10)
    return {s.data_set: (s.record_count, s.content_hash) for s in reply.data_sets if s.record_count}


def test_the_hubs_data_mirrors_to_a_province_and_its_completeness_shows_at_the_hub(
    fed: Federation,
) -> None:
    stream = f"mirror.t{uuid.uuid4().hex[:12]}"
    data_settings = {"mirror_stream": stream, "quota_enabled": False}
    hub_data_port = free_port()
    fed.start_hub(hub_data_address=f"127.0.0.1:{hub_data_port}")
    hub = Node("000000")
    fed.start_service(hub, "data", grpc_port=hub_data_port, **data_settings)
    gd = fed.start_node("440000", ("identity", "data"), data=data_settings)
    js = fed.start_node(
        "320000", ("identity", "data"), data={**data_settings, "mirror_enabled": False}
    )
    fed.join(gd, name="广东")
    fed.join(js, name="江苏")

    importer = hub.app("data").importer(5)
    assert importer.run("cnipa-csv", PATENTS).inserted == 10
    assert importer.run("euipo-json", TRADEMARKS).inserted == 10
    stub = fed.federation_stub()

    def at_the_hub() -> dict[str, fpb.ProvinceStatus] | None:
        status = stub.GetFederationStatus(fpb.GetFederationStatusRequest())
        by_node = {p.node_id: p for p in status.provinces}
        if status.hub_data_records == 20 and by_node["440000"].mirror_in_sync:
            return by_node
        return None

    by_node = eventually(at_the_hub, 60, interval=0.3)
    # 440000 mirrored everything: the hub sees its count and hash equal to its own, and
    # that is what the province itself reports.
    assert by_node["440000"].mirror_records == 20
    assert by_node["440000"].mirror_completeness == 1.0
    assert mirror_status(gd) == mirror_status(hub)
    assert len(mirror_status(hub)) == 2  # patents and trademarks
    # 320000 mirrors nothing: reachable, empty, visibly incomplete.
    assert by_node["320000"].mirror_records == 0
    assert by_node["320000"].mirror_completeness == 0.0
    assert not by_node["320000"].mirror_in_sync
    assert mirror_status(js) == {}

    # The hub's data grows: the province follows, and the hub sees it complete again.
    assert importer.run("qichacha-json", MORE_TRADEMARKS).inserted == 3

    def caught_up_again() -> fpb.ProvinceStatus | None:
        status = stub.GetFederationStatus(fpb.GetFederationStatusRequest())
        gd_status = next(p for p in status.provinces if p.node_id == "440000")
        ok = status.hub_data_records == 23 and gd_status.mirror_in_sync
        return gd_status if ok else None

    gd_status = eventually(caught_up_again, 60, interval=0.3)
    assert gd_status.mirror_records == 23
    assert mirror_status(gd) == mirror_status(hub)
