"""Division codes over gRPC and in imported records: current codes, abolished codes with
their successor, NBS statistical codes resolved to their division."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from sqlalchemy import select

from puhui.data.adapters.tables import quarantine
from puhui.data.server import build
from puhui.data.tests.support import FixedVerifier
from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.kit.testing import running

pytestmark = pytest.mark.integration


@pytest.fixture
def served(database_url):
    app = build(verifier=FixedVerifier(), database_url=database_url, grpc_port=0, metrics_port=0)
    with running(app) as host, grpc.insecure_channel(host.address) as channel:
        yield (
            app,
            data_pb2_grpc.DataServiceStub(channel),
            data_pb2_grpc.ReferenceServiceStub(channel),
        )


def test_list_divisions_is_current_unless_history_is_asked_for(served):
    _app, _data, ref = served
    hangzhou = ref.ListDivisions(data_pb2.ListDivisionsRequest(parent_code="330100"), timeout=10)
    codes = {d.code: d for d in hangzhou.divisions}
    assert {"330113", "330114"} <= set(codes)
    assert "330103" not in codes
    assert "330104" not in codes
    assert codes["330113"].name == "临平区"
    assert codes["330113"].current
    history = ref.ListDivisions(
        data_pb2.ListDivisionsRequest(parent_code="330100", include_history=True), timeout=10
    )
    old = {d.code: d for d in history.divisions if not d.current}
    assert (old["330103"].name, old["330103"].valid_until, old["330103"].successor_code) == (
        "下城区",
        "2021",
        "330105",
    )
    assert set(codes) < {d.code for d in history.divisions}


def test_get_division_answers_current_abolished_and_statistical_codes(served):
    _app, _data, ref = served
    for code, name in [("330113", "临平区"), ("410307", "偃师区"), ("654203", "沙湾市")]:
        found = ref.GetDivision(data_pb2.GetDivisionRequest(code=code), timeout=10)
        assert (found.name, found.current) == (name, True)
    old = ref.GetDivision(data_pb2.GetDivisionRequest(code="330104"), timeout=10)
    assert (old.name, old.current, old.successor_code) == ("江干区", False, "330102")
    zone = ref.GetDivision(data_pb2.GetDivisionRequest(code="320576"), timeout=10)
    assert (zone.name, zone.level, zone.parent_code) == ("苏州工业园区", "statistical", "320500")
    with pytest.raises(grpc.RpcError) as err:
        ref.GetDivision(data_pb2.GetDivisionRequest(code="320599"), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert "nearest valid code 320585 太仓市" in err.value.details()


def test_imported_codes_current_statistical_abolished_unknown(served, tmp_path):
    app, data, _ref = served

    def layout(number: str, region: str) -> str:
        owner = {"name": "示例微电子有限公司", "region_code": region}
        record = {"registration_number": number, "name": "射频芯片版图", "owner": owner}
        return json.dumps(record, ensure_ascii=False) + "\n"

    path = tmp_path / "layouts.jsonl"
    path.write_text(
        layout("BS.EX1000001", "330113")  # current (临平区)
        + layout("BS.EX1000002", "320576")  # NBS: 苏州工业园区 → 320500 苏州市
        + layout("BS.EX1000003", "330103")  # abolished in 2021 → 330105
        + layout("BS.EX1000004", "320599"),  # unknown
        encoding="utf-8",
    )
    counts = app.importer(10).run("ic-layout-json", path)
    assert (counts.read, counts.inserted, counts.quarantined) == (4, 2, 2)
    owners = {
        number: data.GetIcLayout(
            data_pb2.GetIcLayoutRequest(registration_number=number), timeout=10
        ).owner.region_code
        for number in ("BS.EX1000001", "BS.EX1000002")
    }
    assert owners == {"BS.EX1000001": "330113", "BS.EX1000002": "320500"}
    with app.db.transaction() as s:
        rows = s.execute(select(quarantine).order_by(quarantine.c.id)).all()
    reasons = {r.position: r.reason for r in rows if Path(r.file).name == path.name}
    assert "330103 下城区 was abolished in 2021; use 330105 拱墅区" in reasons["line 3"]
    assert "nearest valid code 320585 太仓市" in reasons["line 4"]
