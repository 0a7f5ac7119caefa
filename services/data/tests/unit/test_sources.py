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


def _v40(text: str) -> str:
    """A real v4.2 grant rewritten with the v4.0 (2005) shapes of its IPC and assignee:
    `classification-ipc` with IPC 7 strings, and an assignee without `addressbook`."""
    start, end = text.index("<classifications-ipcr>"), text.index("</classifications-ipcr>")
    ipc7 = (
        "<classification-ipc><edition>07</edition>"
        "<main-classification>G06F 1730</main-classification>"
        "<further-classification>H04N  5225</further-classification>"
        "<further-classification>G06F 15/16</further-classification>"
        "</classification-ipc>"
    )
    text = text[:start] + ipc7 + text[end + len("</classifications-ipcr>") :]
    assignee = text.index("<assignee>")
    book_end = text.index("</addressbook>", assignee)
    return (
        text[:assignee]
        + text[assignee:book_end].replace("<addressbook>", "", 1)
        + text[book_end + len("</addressbook>") :]
    )


def test_uspto_v40_ipc_strings_and_an_assignee_without_addressbook(tmp_path):
    path = tmp_path / "v40.xml"
    path.write_text(_v40(GRANTS[0].read_text(encoding="utf-8")), encoding="utf-8")
    (item,) = list(sources.uspto_xml(path))
    assert item.error == ""
    assert item.record.ipc_codes == ("G06F 17/30", "H04N 5/225", "G06F 15/16")
    assert item.record.applicants[0].name == "Microsoft Corporation"  # not the inventor


def test_the_2002_grant_format_and_applications_are_named_unsupported(tmp_path):
    patdoc = tmp_path / "pg020101.xml"
    patdoc.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE PATDOC SYSTEM "ST32-US-Grant-025xml.dtd" [\n'
        '<!ENTITY US06334221-20020101-D00000.TIF SYSTEM "US06334221-20020101-D00000.TIF"'
        " NDATA TIF>\n]>\n"
        '<PATDOC DTD="2.5" STATUS="Build 20011001"><SDOBI><B100><B110><DNUM>'
        "<PDAT>06334221</PDAT></DNUM></B110></B100></SDOBI>&US06334221-20020101-D00000.TIF;"
        "</PATDOC>\n",
        encoding="utf-8",
    )
    (item,) = list(sources.uspto_xml(patdoc))
    assert item.error.startswith("unsupported format: USPTO grant XML v2.4/v2.5 (PATDOC")
    application = tmp_path / "ipa.xml"
    application.write_text(
        '<?xml version="1.0"?>\n<us-patent-application><us-bibliographic-data-application/>'
        "</us-patent-application>\n",
        encoding="utf-8",
    )
    (item,) = list(sources.uspto_xml(application))
    assert item.error.startswith("unsupported format: <us-patent-application>")


def test_a_cn_document_keeps_its_chinese_title(tmp_path):
    source = FIXTURES / "patent_formats/epo_ops_biblio"
    text = (source / "published-data_publication_docdb_EP.3082535.A1_biblio.xml").read_text(
        encoding="utf-8"
    )
    cn = text.replace("<country>EP</country>", "<country>CN</country>").replace(
        '<invention-title lang="de">',
        '<invention-title lang="zh">自动流体分配器</invention-title><invention-title lang="de">',
        1,
    )
    path = tmp_path / "cn.xml"
    path.write_text(cn, encoding="utf-8")
    (item,) = list(sources.epo_ops(path))
    assert item.record.office == "CN"
    assert item.record.title == "自动流体分配器"
    (ep,) = list(
        sources.epo_ops(source / "published-data_publication_docdb_EP.3082535.A1_biblio.xml")
    )
    assert ep.record.title == "AUTOMATIC FLUID DISPENSER"
