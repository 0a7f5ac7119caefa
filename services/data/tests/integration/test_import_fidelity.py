"""Corrupted copies: other encodings, truncated files, wrong shapes, repeated records — every
record read is imported or quarantined, counts add up, exit codes as documented."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from sqlalchemy import func, select

from puhui.data import synthetic
from puhui.data.adapters.tables import patents, quarantine
from puhui.data.cli import main as cli_main
from puhui.data.server import build
from puhui.data.tests.support import FixedVerifier
from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.kit.testing import running

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TRADEMARKS = FIXTURES / "trademarks/tm_list_size10.json"


@pytest.fixture
def app(database_url):
    app = build(verifier=FixedVerifier(), database_url=database_url, grpc_port=0, metrics_port=0)
    with running(app):
        yield app


def adds_up(counts) -> bool:
    c = counts
    return c.read == c.inserted + c.updated + c.unchanged + c.quarantined


def quarantined(app, name: str) -> list:
    with app.db.transaction() as s:
        rows = s.execute(select(quarantine).order_by(quarantine.c.id)).all()
    return [r for r in rows if Path(r.file).name == name]


def titles(app) -> set[str]:
    with app.db.transaction() as s:
        return set(s.execute(select(patents.c.title)).scalars())


def patent_count(app) -> int:
    with app.db.transaction() as s:
        return s.execute(select(func.count()).select_from(patents)).scalar_one()


def csv_lines(count: int, seed: int) -> tuple[list[dict[str, str]], list[str]]:
    rows = list(synthetic.rows(count, seed))
    header = ",".join(synthetic.COLUMNS) + "\r\n"
    body = [",".join(row[c] for c in synthetic.COLUMNS) + "\r\n" for row in rows]
    assert not any('"' in line or line.count(",") != len(synthetic.COLUMNS) - 1 for line in body)
    return rows, [header, *body]


def qichacha(row: dict[str, str]) -> dict[str, object]:
    return {
        "ApplicationNumber": row["申请号"],
        "PublicationNumber": row["公开号"],
        "KindCodeDesc": "发明公布",
        "Title": row["专利名称"],
        "Abstract": row["申请摘要"],
        "AssigneestringList": [row["申请人"]],
        "InventorStringList": row["发明人"].split(";"),
        "IPCList": row["分类号"].split(";"),
        "ApplicationDate": row["申请日"],
        "PublicationDate": row["公开日"],
    }


def test_a_gbk_row_in_a_1000_row_utf8_csv_costs_that_row_only(app, tmp_path):
    rows, lines = csv_lines(1000, seed=181)
    path = tmp_path / "utf8_with_one_gbk_row.csv"
    bad = 500  # physical line 500 holds rows[498]
    path.write_bytes(
        b"".join(
            line.encode("gbk") if n == bad else line.encode("utf-8")
            for n, line in enumerate(lines, 1)
        )
    )
    counts = app.importer(100).run("cnipa-csv", path)
    assert (counts.read, counts.inserted, counts.quarantined) == (1000, 999, 1)
    assert adds_up(counts)
    assert counts.unreadable_files == 0
    (row,) = quarantined(app, path.name)
    assert row.position == "line 500"
    assert "not UTF-8 text" in row.reason
    assert "--encoding" in row.reason
    assert row.data_set == "patents"
    stored = titles(app)
    assert rows[497]["专利名称"] in stored
    assert rows[499]["专利名称"] in stored
    assert rows[999]["专利名称"] in stored  # the rows after the bad one were read


def test_a_gbk_row_in_a_1000_line_utf8_json_lines_file(app, tmp_path):
    rows = list(synthetic.rows(1000, seed=182))
    path = tmp_path / "qichacha.jsonl"
    lines = [json.dumps(qichacha(r), ensure_ascii=False) + "\n" for r in rows]
    path.write_bytes(
        b"".join(
            line.encode("gbk") if n == 700 else line.encode("utf-8")
            for n, line in enumerate(lines, 1)
        )
    )
    counts = app.importer(100).run("qichacha-json", path)
    assert (counts.read, counts.inserted, counts.quarantined) == (1000, 999, 1)
    (row,) = quarantined(app, path.name)
    assert (row.position, row.data_set) == ("line 700", "patents")
    assert "not UTF-8 text" in row.reason
    assert rows[700]["专利名称"] in titles(app)


@pytest.mark.parametrize("encoding", ["auto", "gb18030", "gbk"])
def test_a_whole_gb18030_file_is_read_detected_or_chosen(app, tmp_path, encoding):
    rows, lines = csv_lines(60, seed=183)
    path = tmp_path / "excel_chinese_windows.csv"
    path.write_bytes("".join(lines).encode("gb18030"))
    counts = app.importer(25).run("cnipa-csv", path, encoding=encoding)
    assert (counts.read, counts.inserted, counts.quarantined) == (60, 60, 0)
    assert {r["专利名称"] for r in rows} <= titles(app)


def test_utf8_with_a_bom_detected_or_chosen(app, tmp_path):
    _rows, lines = csv_lines(20, seed=184)
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(lines).encode("utf-8"))
    assert app.importer(10).run("cnipa-csv", path).inserted == 20
    chosen = app.importer(10).run("cnipa-csv", path, encoding="utf-8")
    assert chosen.unchanged == 20  # the BOM is not taken into the first column's name


def test_truncated_files(app, tmp_path):
    rows, lines = csv_lines(30, seed=185)
    text = "".join(lines)
    cut = tmp_path / "cut.csv"
    cut.write_text(text[: text.rindex(rows[-1]["申请摘要"]) + 5], encoding="utf-8")
    counts = app.importer(10).run("cnipa-csv", cut)
    assert (counts.read, counts.inserted, counts.quarantined) == (30, 29, 1)
    (row,) = quarantined(app, "cut.csv")
    assert row.position == "line 31"
    assert "fields, header has 15" in row.reason

    cut_jsonl = tmp_path / "cut.jsonl"
    body = "".join(json.dumps(qichacha(r), ensure_ascii=False) + "\n" for r in rows[:5])
    cut_jsonl.write_text(body[:-40], encoding="utf-8")
    counts = app.importer(10).run("qichacha-json", cut_jsonl)
    assert (counts.read, counts.quarantined) == (5, 1)
    assert adds_up(counts)
    assert quarantined(app, "cut.jsonl")[0].position == "line 5"

    cut_json = tmp_path / "cut.json"
    cut_json.write_text(TRADEMARKS.read_text(encoding="utf-8")[:3000], encoding="utf-8")
    counts = app.importer(10).run("euipo-json", cut_json)
    assert (counts.read, counts.quarantined, counts.unreadable_files) == (1, 1, 1)
    (row,) = quarantined(app, "cut.json")
    assert (row.position, row.data_set) == ("whole file", "trademarks")
    assert "not JSON (truncated?)" in row.reason


def test_wrong_shape_json_is_one_quarantined_failure(app, tmp_path):
    for name, content, found in [
        ("object.json", {"results": [{"applicationNumber": "1"}]}, "an object with results"),
        ("number.json", 42, "found int"),
    ]:
        path = tmp_path / name
        path.write_text(json.dumps(content), encoding="utf-8")
        counts = app.importer(10).run("euipo-json", path)
        assert (counts.read, counts.quarantined, counts.unreadable_files) == (1, 1, 1)
        (row,) = quarantined(app, name)
        assert "expected a JSON array of records or an object with a 'trademarks' array" in (
            row.reason
        )
        assert found in row.reason
    wrong_csv = tmp_path / "not_cnipa.csv"
    wrong_csv.write_text("a,b\n1,2\n", encoding="utf-8")
    counts = app.importer(10).run("cnipa-csv", wrong_csv)
    assert (counts.read, counts.quarantined, counts.unreadable_files) == (1, 1, 1)
    assert "no column 申请号 (the header has a, b)" in quarantined(app, "not_cnipa.csv")[0].reason


def test_two_documents_of_one_application_in_one_file_are_two_outcomes(app, tmp_path):
    rows, lines = csv_lines(3, seed=186)
    again = lines[1].replace(rows[0]["专利名称"], rows[0]["专利名称"] + "（修改）")
    path = tmp_path / "twice.csv"
    path.write_text("".join([*lines, again]), encoding="utf-8")
    counts = app.importer(100).run("cnipa-csv", path)
    assert counts.as_dict() == {
        "read": 4,
        "inserted": 3,
        "updated": 1,
        "unchanged": 0,
        "quarantined": 0,
        "unreadable_files": 0,
    }
    assert rows[0]["专利名称"] + "（修改）" in titles(app)


def test_import_command_exit_codes_and_progress(database_url, tmp_path, capsys):
    _rows, lines = csv_lines(40, seed=187)
    good = tmp_path / "good.csv"
    good.write_text("".join(lines), encoding="utf-8")
    base = ["import", "--database-url", database_url, "--progress", "json"]

    with pytest.raises(SystemExit) as done:
        cli_main([*base, "--format", "cnipa-csv", "--batch-size", "10", str(good)])
    assert done.value.code == 0
    out, err = capsys.readouterr()
    assert json.loads(out.splitlines()[-1])["total"]["inserted"] == 40
    progress = [json.loads(line)["progress"] for line in err.splitlines() if '"progress"' in line]
    assert progress[-1]["read"] == 40
    assert progress[-1]["percent"] == 100.0
    assert progress[-1]["records_per_s"] > 0
    assert progress[-1]["eta_s"] == 0

    missing = tmp_path / "missing.csv"
    with pytest.raises(SystemExit) as done:
        cli_main([*base, "--format", "cnipa-csv", str(missing), str(good)])
    assert done.value.code == 1  # one file unreadable; the other was still read
    out, _err = capsys.readouterr()
    total = json.loads(out.splitlines()[-1])["total"]
    assert (total["read"], total["unchanged"], total["quarantined"]) == (41, 40, 1)
    assert total["unreadable_files"] == 1

    with pytest.raises(SystemExit) as done:
        cli_main([*base, "--format", "cnipa-csv", "--encoding", "latin-9", str(good)])
    assert done.value.code == 2


def test_withheld_inventor_names_are_a_flag_in_every_answer(database_url, tmp_path):
    rows, lines = csv_lines(3, seed=188)
    withheld = lines[1].replace(rows[0]["发明人"], "请求不公布姓名")
    path = tmp_path / "withheld.csv"
    path.write_text("".join([lines[0], withheld, *lines[2:]]), encoding="utf-8")
    app = build(verifier=FixedVerifier(), database_url=database_url, grpc_port=0, metrics_port=0)
    with running(app) as host, grpc.insecure_channel(host.address) as channel:
        assert app.importer(10).run("cnipa-csv", path).inserted == 3
        stub = data_pb2_grpc.DataServiceStub(channel)
        got = stub.GetPatent(data_pb2.GetPatentRequest(number=rows[0]["申请号"]), timeout=10)
        assert (list(got.inventors), got.inventors_withheld) == ([], True)
        other = stub.GetPatent(data_pb2.GetPatentRequest(number=rows[1]["申请号"]), timeout=10)
        assert other.inventors_withheld is False
        assert list(other.inventors) == rows[1]["发明人"].split(";")
        search = data_pb2.SearchPatentsRequest(office="CN", page_size=10)
        found = {p.record_id: p for p in stub.SearchPatents(search, timeout=10).patents}
        assert found[got.record_id] == got
        exported = [
            p
            for chunk in stub.ExportPatents(
                data_pb2.ExportPatentsRequest(search=search, chunk_size=10), timeout=10
            )
            for p in chunk.patents
        ]
        assert {p.record_id: p.inventors_withheld for p in exported}[got.record_id] is True
        assert app.importer(10).run("cnipa-csv", path).unchanged == 3
