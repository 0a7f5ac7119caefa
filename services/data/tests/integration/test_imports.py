"""Importers: every real file in the fixtures, into real PostgreSQL, read back over gRPC."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from sqlalchemy import func, select

from puhui.data.adapters.changes import stats
from puhui.data.adapters.tables import changes, patents, quarantine, trademarks
from puhui.data.cli import main as cli_main
from puhui.data.server import build
from puhui.data.tests.support import FixedVerifier
from puhui.data.v1 import data_pb2, data_pb2_grpc

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CNIPA = FIXTURES / "patents/cn_cnipa_style_records/cn_patents_patentsemantix_10.csv"
PLAN = [
    ("cnipa-csv", [CNIPA], 10),
    (
        "qichacha-json",
        [FIXTURES / "patents/cn_cnipa_style_records/cn_patents_qichacha_api_3.json"],
        3,
    ),
    (
        "cpc-csv",
        [FIXTURES / "patents/cn_title_abstract_cpc_liaoleyuan/cn_patents_title_abstract_cpc.csv"],
        57,
    ),
    (
        "uspto-ppubs-csv",
        [FIXTURES / "patents/us_uspto_public_search/uspto_ppubs_biblio_129.csv"],
        129,
    ),
    (
        "uspto-ppubs-json",
        [FIXTURES / "patents/us_uspto_public_search/uspto_ppubs_biblio_raw.json"],
        129,
    ),
    ("uspto-xml", sorted((FIXTURES / "patent_formats/uspto_grant_xml").glob("*.xml")), 4),
    ("epo-ops", sorted((FIXTURES / "patent_formats/epo_ops_biblio").glob("*.xml")), 3),
    ("euipo-json", [FIXTURES / "trademarks/tm_list_size10.json"], 10),
    ("qichacha-json", [FIXTURES / "trademarks/cn_trademarks_qichacha_api_3.json"], 3),
]


@pytest.fixture
def hub(database_url):
    # No Kafka here: events wait in the outbox (the mirror tests cover publishing).
    app = build(verifier=FixedVerifier(), database_url=database_url, grpc_port=0, metrics_port=0)
    with running_app(app) as channel:
        yield app, data_pb2_grpc.DataServiceStub(channel)


def running_app(app):
    from contextlib import contextmanager

    from puhui.kit.testing import running

    @contextmanager
    def ctx():
        with running(app) as host, grpc.insecure_channel(host.address) as channel:
            yield channel

    return ctx()


def importer(app):
    return app.importer(50)


def import_all(app) -> dict[str, int]:
    totals = dict.fromkeys(
        ("read", "inserted", "updated", "unchanged", "quarantined", "unreadable_files"), 0
    )
    imp = importer(app)
    for fmt, files, _expected in PLAN:
        for path in files:
            for name, value in imp.run(fmt, path).as_dict().items():
                totals[name] += value
    return totals


def count(app, table) -> int:
    with app.db.transaction() as s:
        return s.execute(select(func.count()).select_from(table)).scalar_one()


def test_every_real_file_imports_with_the_right_values_and_reimport_changes_nothing(hub):
    app, stub = hub
    first = import_all(app)
    records = sum(n for _, _, n in PLAN)
    assert first["read"] == records
    assert first["quarantined"] == 0
    # ppubs CSV and JSON hold the same 129 grants: the second file finds them unchanged.
    assert first["inserted"] == records - 129
    assert first["unchanged"] == 129
    assert count(app, patents) == 10 + 3 + 57 + 129 + 4 + 3
    assert count(app, trademarks) == 13

    def get(number: str) -> data_pb2.Patent:
        return stub.GetPatent(data_pb2.GetPatentRequest(number=number), timeout=10)

    # CNIPA-style CSV (Chinese columns, check digit, YYYYMMDD dates, 国省代码).
    p = get("CN202121635235.X")
    assert p.title == "无人机巡检系统"
    assert p.publication_number == "CN217546176"
    assert p.kind == "U"
    assert list(p.ipc_codes)[:2] == ["H04N 7/18", "G07C 1/20"]
    assert list(p.inventors) == ["郭晓东", "王煜炜", "王元卓", "刘敏", "付艳波"]
    assert p.applicants[0].name == "中科大数据研究院"
    assert p.applicants[0].region_code == "410000"
    assert (p.filing_date, p.grant_date, p.legal_status) == (
        "2021-07-15",
        "2022-10-04",
        "有权-审定授权",
    )
    granted = get(
        "CN115883397A"
    )  # 发明公开;发明授权: found by its A publication, stored as the grant
    assert granted.kind == "B"
    assert granted.grant_date == "2024-04-05"
    # Qichacha patent JSON (ISO dates without zone, legal history).
    q = get("CN201610311380.X")
    assert q.title == "一种基于分布式高并发条件下的计费方法"
    assert q.legal_status == "实质审查的生效"
    assert list(q.inventors) == ["刘培彬"]
    assert q.filing_date == "2016-05-12"
    assert q.publication_date == "2016-10-12"
    design = get("CN304218960S")
    assert design.kind == "S"  # Locarno "11-" is no IPC
    assert list(design.ipc_codes) == []
    # Title/abstract/CPC CSV keyed by publication number only.
    c = get("CN117151122A")
    assert c.title == "一种基于自然语言处理的银行客服会话问答处理方法及系统"
    assert "G06F 40/35" in c.ipc_codes
    # USPTO grant XML v4.2 and v4.5 (DTDs not fetched).
    u = get("US 7,272,630 B2")
    assert u.application_number == "US10991571"
    assert u.title.startswith("Locating potentially identical objects across multiple computers")
    assert u.applicants[0].name == "Microsoft Corporation"
    assert (u.filing_date, u.grant_date) == ("2004-11-18", "2007-09-18")
    assert list(u.ipc_codes) == ["G06F 15/13"] or "G06F 15/13" in u.ipc_codes
    v = get("US08930553B2")
    assert v.title == "Managing mid-dialog session initiation protocol (SIP) messages"
    assert list(v.inventors) == ["Nitzan Nissim", "Brian Pulito", "Asaf Zinger"]
    assert list(v.ipc_codes) == ["G06F 15/16"]
    # EPO OPS exchange-document (DocDB numbers).
    e = get("EP.3082535.A1")
    assert (e.application_number, e.title, e.filing_date) == (
        "EP14833316",
        "AUTOMATIC FLUID DISPENSER",
        "2014-12-22",
    )
    assert list(e.ipc_codes) == ["A47K 5/12", "A47K 5/122", "B05B 9/00", "B05B 9/08", "B05B 12/12"]
    w = get("WO 2014/059282 A2")
    assert w.application_number == "WOUS2013064552"
    assert w.applicants[0].name == "SCIENTIFIC DRILLING INTERNATIONAL, INC"
    assert get("US.9231827.B2").application_number == "US12569640"
    # USPTO public search (CSV and JSON agree).
    s = get("US11803561B1")
    assert (s.title, s.applicants[0].name, s.application_number) == (
        "Approximation query",
        "Amazon Technologies, Inc.",
        "US14231597",
    )
    # Trademarks: EUIPO JSON and Qichacha.
    t = stub.GetTrademark(data_pb2.GetTrademarkRequest(number="EM000274084"), timeout=10)
    assert (t.mark_text, list(t.nice_classes), t.status) == (
        "RIZLA+ INTERNATIONAL",
        [25, 34],
        "EXPIRED",
    )
    assert (t.filing_date, t.registration_date, t.expiry_date) == (
        "1996-06-19",
        "1999-02-10",
        "2006-06-19",
    )
    cn = stub.GetTrademark(data_pb2.GetTrademarkRequest(number="16435657"), timeout=10)
    assert (cn.mark_text, list(cn.nice_classes), cn.filing_date) == ("企查查", [45], "2015-03-04")
    assert cn.owner.name == "苏州朗动网络科技有限公司"

    # Idempotent: the same files again change nothing.
    feed_before = count(app, changes)
    again = import_all(app)
    assert again["unchanged"] == records
    assert again["inserted"] == again["updated"] == 0
    assert count(app, changes) == feed_before
    with app.db.transaction() as session:
        counted = {name: found[0] for name, found in stats(session).items()}
    assert counted == {"patents": 206, "trademarks": 13, "gis": 0, "ic_layouts": 0}


def test_changed_record_updates_and_records_its_change(hub, tmp_path):
    app, stub = hub
    importer(app).run("cnipa-csv", CNIPA)
    before = stub.GetPatent(data_pb2.GetPatentRequest(number="CN202121635235.X"), timeout=10)
    changed = tmp_path / "changed.csv"
    changed.write_text(
        CNIPA.read_text(encoding="utf-8").replace("有权-审定授权", "无权-未缴年费终止", 3),
        encoding="utf-8",
    )
    counts = importer(app).run("cnipa-csv", changed)
    assert (counts.updated, counts.unchanged, counts.inserted) == (3, 7, 0)
    after = stub.GetPatent(data_pb2.GetPatentRequest(number="CN202121635235.X"), timeout=10)
    assert after.legal_status == "无权-未缴年费终止"
    with app.db.transaction() as s:
        rows = s.execute(
            select(changes).where(changes.c.record_id == "CN202121635235").order_by(changes.c.seq)
        ).all()
    assert [r.change for r in rows] == ["inserted", "updated"]
    assert rows[1].previous_hash == before.content_hash
    assert rows[1].content_hash == after.content_hash
    assert rows[1].source == "import:changed.csv"


def test_corrupted_copies_are_quarantined_record_by_record(hub, tmp_path):
    app, stub = hub
    lines = CNIPA.read_text(encoding="utf-8").splitlines(keepends=True)
    # Physical lines: a record's abstract may span lines, so corrupt by field content instead.
    text = "".join(lines)
    text = text.replace("CN202122975192.6", "CN202122975192.1", 1)  # wrong check digit
    text = text.replace("20210728", "20211328", 1)  # impossible date (CN202121741650.3)
    text = text.replace("G06F40/289", "G98F40/289")  # unknown IPC class (CN202211740332.4)
    bad_csv = tmp_path / "corrupt.csv"
    bad_csv.write_text(text, encoding="utf-8")
    counts = importer(app).run("cnipa-csv", bad_csv)
    assert (counts.read, counts.inserted, counts.quarantined) == (10, 7, 3)

    # Two USPTO grants concatenated with a truncated third: the good ones import.
    docs = [
        p.read_text(encoding="utf-8")
        for p in sorted((FIXTURES / "patent_formats/uspto_grant_xml").glob("*.xml"))
    ]
    weekly = tmp_path / "ipg_weekly.xml"
    weekly.write_text(
        docs[0] + "\n" + docs[3][: len(docs[3]) // 2] + "\n" + docs[2], encoding="utf-8"
    )
    xml_counts = importer(app).run("uspto-xml", weekly)
    assert (xml_counts.read, xml_counts.inserted, xml_counts.quarantined) == (3, 2, 1)
    stub.GetPatent(data_pb2.GetPatentRequest(number="US7272630"), timeout=10)
    stub.GetPatent(data_pb2.GetPatentRequest(number="US8927118"), timeout=10)
    with pytest.raises(grpc.RpcError) as err:
        stub.GetPatent(data_pb2.GetPatentRequest(number="US8930553"), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND

    bad_json = tmp_path / "tm.json"
    source = (FIXTURES / "trademarks/tm_list_size10.json").read_text(encoding="utf-8")
    bad_json.write_text(
        source.replace('"niceClasses": [\n        25,', '"niceClasses": [\n        99,', 1).replace(
            '"applicationDate": "1996-06-19"', '"applicationDate": "19960699"', 1
        ),
        encoding="utf-8",
    )
    tm_counts = importer(app).run("euipo-json", bad_json)
    assert tm_counts.read == 10
    assert tm_counts.quarantined >= 1
    assert tm_counts.inserted == 10 - tm_counts.quarantined

    with app.db.transaction() as s:
        rows = s.execute(select(quarantine).order_by(quarantine.c.id)).all()
    by_file = {}
    for r in rows:
        by_file.setdefault(Path(r.file).name, []).append(r)
    reasons = " | ".join(r.reason for r in by_file["corrupt.csv"])
    assert "check digit" in reasons
    assert "calendar date" in reasons
    assert "IPC class G98 does not exist" in reasons
    assert all(r.position.startswith("line ") for r in by_file["corrupt.csv"])
    (xml_bad,) = by_file["ipg_weekly.xml"]
    assert "not well-formed" in xml_bad.reason
    assert xml_bad.position.startswith("document at line ")
    assert xml_bad.position.endswith("(08930553)")  # named by its publication number
    assert {r.data_set for r in rows} == {"patents", "trademarks"}
    assert by_file["tm.json"][0].position.startswith("[")


def test_import_command_prints_counts(database_url, capsys):
    with pytest.raises(SystemExit) as done:
        cli_main(
            [
                "import",
                "--format",
                "epo-ops",
                "--database-url",
                database_url,
                *map(str, sorted((FIXTURES / "patent_formats/epo_ops_biblio").glob("*.xml"))),
            ]
        )
    assert done.value.code == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert json.loads(out[-1]) == {
        "total": {
            "read": 3,
            "inserted": 3,
            "updated": 0,
            "unchanged": 0,
            "quarantined": 0,
            "unreadable_files": 0,
        }
    }


def test_gi_and_ic_layout_example_files_import_quarantine_and_reimport(hub):
    """The gi-json / ic-layout-json formats on the EXAMPLE files (authored for these tests)."""
    app, stub = hub
    example = FIXTURES / "example_gi_ic"
    gi_counts = importer(app).run("gi-json", example / "gi_example.json")
    ic_counts = importer(app).run("ic-layout-json", example / "ic_layouts_example.jsonl")
    assert gi_counts.as_dict() == {
        "read": 4,
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 1,
        "unreadable_files": 0,
    }
    assert ic_counts.as_dict() == {
        "read": 3,
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 1,
        "unreadable_files": 0,
    }
    gi = stub.GetGeographicalIndication(
        data_pb2.GetGeographicalIndicationRequest(gi_id="exgi-0001"), timeout=10
    )
    assert (gi.name, gi.region_code, gi.approval_date) == ("西湖龙井", "330100", "2001-09-10")
    ic = stub.GetIcLayout(data_pb2.GetIcLayoutRequest(registration_number="BS.EX0000022"))
    assert (ic.owner.name, ic.creation_date, ic.filing_date) == (
        "示例集成电路有限公司",
        "2021-11-02",
        "2022-01-10",
    )
    with app.db.transaction() as s:
        rows = s.execute(select(quarantine).order_by(quarantine.c.id)).all()
    by_file = {Path(r.file).name: r for r in rows}
    assert by_file["gi_example.json"].position == "[3]"
    assert by_file["gi_example.json"].data_set == "gis"
    assert by_file["ic_layouts_example.jsonl"].data_set == "ic_layouts"
    assert "region_code" in by_file["gi_example.json"].reason
    assert by_file["ic_layouts_example.jsonl"].position == "line 3"
    assert "name" in by_file["ic_layouts_example.jsonl"].reason
    # Idempotent.
    again = importer(app).run("gi-json", example / "gi_example.json")
    assert (again.unchanged, again.inserted, again.updated) == (3, 0, 0)
    with app.db.transaction() as s:
        counted = {name: found[0] for name, found in stats(s).items()}
    assert (counted["gis"], counted["ic_layouts"]) == (3, 2)
