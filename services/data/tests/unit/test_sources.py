"""Source readers on the real fixture files (no database)."""

from __future__ import annotations

from pathlib import Path

from puhui.data.importers import sources

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GRANTS = sorted((FIXTURES / "patent_formats/uspto_grant_xml").glob("*.xml"))


def test_uspto_grant_xml_v42_and_v45_without_dtds():
    (old,) = list(sources.uspto_xml(GRANTS[0]))  # US07272630B2.xml, DTD v4.2
    assert old.record.publication_number == "07272630"  # as written; normalised later
    assert old.record.application_number == "10991571"
    assert old.record.applicants[0].name == "Microsoft Corporation"
    (new,) = list(sources.uspto_xml(GRANTS[3]))  # US08930553.xml, DTD v4.5
    assert new.record.inventors == ("Nitzan Nissim", "Brian Pulito", "Asaf Zinger")
    assert new.record.filing_date == "20121009"


def test_concatenated_documents_and_a_broken_one(tmp_path):
    docs = [p.read_text(encoding="utf-8") for p in GRANTS]
    weekly = tmp_path / "ipg.xml"
    weekly.write_text(docs[1] + docs[2][:5000] + "\n" + docs[3], encoding="utf-8")
    items = list(sources.uspto_xml(weekly))
    assert [bool(i.error) for i in items] == [False, True, False]
    assert items[1].position.startswith("document at line ")
    assert items[2].record.publication_number == "08930553"


def test_epo_ops_docdb_numbers():
    by_file = {
        p.name: list(sources.epo_ops(p))
        for p in (FIXTURES / "patent_formats/epo_ops_biblio").glob("*.xml")
    }
    (wo,) = by_file["published-data_publication_docdb_WO.2014059282.A2_biblio.xml"]
    assert wo.record.application_number == "PCT/US2013/064552"
    assert wo.record.publication_number == "WO2014059282"
    (us,) = by_file["published-data_publication_docdb_US.9231827.B2_biblio.xml"]
    assert us.record.application_number == "US12569640"  # the original number, not DocDB's


def test_cnipa_csv_maps_chinese_columns():
    items = list(
        sources.cnipa_csv(
            FIXTURES / "patents/cn_cnipa_style_records/cn_patents_patentsemantix_10.csv"
        )
    )
    assert len(items) == 10
    last = items[-1].record
    assert last.publication_number == "CN115883397B"  # 发明公开;发明授权: the grant
    assert last.applicants[0].region_code == "410000"  # 国省代码 河南(41)
    assert last.ipc_codes[0] == "H04L43/02"


def test_a_json_element_that_is_not_an_object_is_an_error(tmp_path):
    path = tmp_path / "tm.json"
    path.write_text(
        '{"trademarks": [42, {"applicationNumber": "1", "niceClasses": [9]}]}', encoding="utf-8"
    )
    items = list(sources.euipo_json(path))
    assert items[0].error == "not a JSON object"
    assert items[1].record.application_number == "1"
