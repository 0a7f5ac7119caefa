"""Readers of the source formats: each yields one `Item` per record, streaming.

A reader turns what an office wrote into the domain's record shape, field for field, and
leaves validation to the domain (`normalise_patent` / `normalise_trademark`). A record a
reader cannot even take apart (bad XML of one document, a CSV row with the wrong number of
fields, a JSON element that is not an object) becomes an Item with `error` set, so the
importer quarantines it and carries on.

Memory: CSV and XML are read incrementally (XML with `XMLPullParser`, elements cleared as
soon as a document is done; USPTO weekly files concatenate many documents, split at each
`<?xml` declaration). Neither parser fetches external DTDs: expat does not resolve external
entities, and the USPTO files use numeric character references only. JSON API responses
are one page each (bounded by the API's page size) and JSON Lines files are read line by
line.
"""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from puhui.data.domain import GeographicalIndication, IcLayout, Party, Patent, Record, Trademark
from puhui.refdata import divisions

FORMATS = (
    "cnipa-csv",
    "qichacha-json",
    "uspto-xml",
    "uspto-ppubs-csv",
    "uspto-ppubs-json",
    "epo-ops",
    "euipo-json",
    "cpc-csv",
    "gi-json",
    "ic-layout-json",
)
MAX_RAW = 2000
_IPC_LIKE = re.compile(r"^[A-Z]")  # Locarno design classes ("11-") start with digits
_EPO_IPCR = re.compile(r"^([A-H]\d{2}[A-Z])\s*(\d+)\s*/\s*(\d+)")


@dataclass(frozen=True)
class Item:
    position: str
    record: Record | None = None
    error: str = ""
    raw: str = ""


def _split(value: str | None, seps: str = ";；") -> list[str]:
    if not value:
        return []
    parts = re.split(f"[{re.escape(seps)}]", value)
    return [p.strip() for p in parts if p.strip()]


def _ipc_like(codes: list[str]) -> tuple[str, ...]:
    """Keep IPC(-compatible) symbols; drop Locarno design classes and CPC 2000-series codes."""
    kept = []
    for code in codes:
        compact = code.replace(" ", "")
        if not _IPC_LIKE.match(compact):
            continue
        group = re.search(r"(\d+)/", compact)
        if group and int(group.group(1)) >= 2000:
            continue
        kept.append(code)
    return tuple(kept)


def _raw(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text[:MAX_RAW]


# -- CNIPA-style CSV -----------------------------------------------------------------------

CNIPA_KINDS = {"发明公开": "A", "发明授权": "B", "实用新型": "U", "外观设计": "S"}


def _cnipa_row(row: dict[str, str]) -> Patent:
    applicants = _split(row.get("申请人"))
    province = divisions.province_code_from_label(row.get("国省代码", "")) or ""
    parties = tuple(Party(name, province if i == 0 else "") for i, name in enumerate(applicants))
    codes = _split(row.get("分类号")) or _split(row.get("主分类号"))
    main = (row.get("主分类号") or "").strip()
    if main and main in codes:
        codes.remove(main)
        codes.insert(0, main)
    kinds = _split(row.get("专利类型"))
    granted = (row.get("授权公告日") or "").strip()
    grant_number = (row.get("授权公告号") or "").strip()
    # The latest publication of the record: the grant (…B) once granted, else the A/U/S.
    publication = grant_number or (row.get("公开号") or "").strip()
    return Patent(
        application_number=row.get("申请号", ""),
        office="CN",
        publication_number=publication,
        kind=CNIPA_KINDS.get(kinds[-1], "") if kinds else "",
        title=row.get("专利名称", "") or row.get("授权名称", ""),
        abstract=row.get("申请摘要", ""),
        applicants=parties,
        inventors=tuple(_split(row.get("发明人"))),
        ipc_codes=_ipc_like(codes),
        filing_date=row.get("申请日", ""),
        publication_date=row.get("公开日", ""),
        grant_date=granted if "B" in {CNIPA_KINDS.get(k) for k in kinds} or grant_number else "",
        legal_status=row.get("法律状态", ""),
    )


def _csv_items(path: Path, build: Callable[[dict[str, str]], Record]) -> Iterator[Item]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        for row in reader:
            position = f"line {reader.line_num}"
            if None in row or any(v is None for v in row.values()):
                yield Item(
                    position,
                    error=f"row has {len(row) - 1 if None in row else '<'}"
                    f" fields, header has {len(fields)}",
                    raw=_raw(row),
                )
                continue
            try:
                yield Item(position, build(row), raw=_raw(row))
            except (KeyError, ValueError, TypeError) as exc:
                yield Item(position, error=f"cannot read record: {exc}", raw=_raw(row))


def cnipa_csv(path: Path) -> Iterator[Item]:
    yield from _csv_items(path, _cnipa_row)


def _cpc_row(row: dict[str, str]) -> Patent:
    return Patent(
        application_number="",
        office="CN",
        publication_number=row["publication_number"],
        title=row["title"],
        abstract=row.get("abstract", ""),
        ipc_codes=_ipc_like(_split(row.get("cpc_labels"), ";,|")),
    )


def cpc_csv(path: Path) -> Iterator[Item]:
    """Title/abstract/CPC-label CSV keyed by publication number (no application number)."""
    yield from _csv_items(path, _cpc_row)


# -- USPTO Patent Public Search (biblio CSV and raw JSON) ----------------------------------


def _ppubs(
    guid: str,
    number: str,
    kind: str,
    published: str,
    application: str,
    filed: str,
    title: str,
    applicants: list[str],
    inventors: list[str],
    ipc: str,
) -> Patent:
    return Patent(
        application_number=application,
        office="US",
        publication_number=number or guid,
        kind=kind,
        title=title,
        # Personal names are written "Last; First": keep them as "Last, First".
        applicants=tuple(
            Party(a)
            for a in dict.fromkeys(" ".join(a.replace(";", ",").split()) for a in applicants)
        ),
        inventors=tuple(inventors),
        ipc_codes=_ipc_like(_split(ipc)),
        filing_date=filed,
        publication_date=published,
        grant_date=published if kind.startswith(("B", "E", "S", "P")) else "",
        legal_status="granted" if kind.startswith(("B", "E", "S", "P")) else "published",
    )


def _ppubs_inventors(short: str | None) -> list[str]:
    """ "Hurst; William Nathan John et al." → ["Hurst, William Nathan John"] (first inventor)."""
    text = re.sub(r"\s+et al\.?$", "", (short or "").strip())
    return [", ".join(p.strip() for p in text.split(";") if p.strip())] if text else []


def _first(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def uspto_ppubs_csv(path: Path) -> Iterator[Item]:
    def build(row: dict[str, str]) -> Patent:
        names = _split(row.get("assigneeName"), "|") or _split(row.get("applicantName"), "|")
        return _ppubs(
            row["guid"],
            row["publicationReferenceDocumentNumber"],
            row["kindCode"],
            row["datePublished"],
            row["applicationNumber"],
            row["applicationFilingDate"],
            row["inventionTitle"],
            names,
            _ppubs_inventors(row.get("inventorsShort")),
            row.get("ipcCodeFlattened", ""),
        )

    yield from _csv_items(path, build)


def _json_elements(path: Path, key: str | None) -> Iterator[tuple[str, Any]]:
    """Elements of a JSON array (optionally under `key`), or of a JSON Lines file."""
    if path.suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for n, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    yield f"line {n}", json.loads(line)
                except json.JSONDecodeError as exc:
                    yield f"line {n}", exc
        return
    with path.open(encoding="utf-8-sig") as handle:
        document = json.load(handle)
    elements = document.get(key, []) if key and isinstance(document, dict) else document
    if isinstance(elements, dict):
        elements = [elements]
    if not isinstance(elements, list):
        raise ValueError(f"{path.name}: expected a JSON array of records")
    for n, element in enumerate(elements):
        yield f"[{n}]", element


def _json_items(
    path: Path, key: str | None, build: Callable[[dict[str, Any]], Record]
) -> Iterator[Item]:
    for position, element in _json_elements(path, key):
        if isinstance(element, Exception):
            yield Item(position, error=f"not JSON: {element}")
            continue
        if not isinstance(element, dict):
            yield Item(position, error="not a JSON object", raw=_raw(element))
            continue
        try:
            yield Item(position, build(element), raw=_raw(element))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            yield Item(position, error=f"cannot read record: {exc!r}", raw=_raw(element))


def uspto_ppubs_json(path: Path) -> Iterator[Item]:
    def build(p: dict[str, Any]) -> Patent:
        names = p.get("assigneeName") or p.get("applicantName") or []
        return _ppubs(
            p["guid"],
            p["publicationReferenceDocumentNumber"],
            _first(p.get("kindCode")),
            p["datePublished"],
            p["applicationNumber"],
            _first(p.get("applicationFilingDate")),
            p["inventionTitle"],
            list(names),
            _ppubs_inventors(p.get("inventorsShort")),
            p.get("ipcCodeFlattened") or "",
        )

    yield from _json_items(path, "patents", build)


# -- Qichacha JSON (patents and trademarks) --------------------------------------------------

QICHACHA_KINDS = {"发明公布": "A", "发明授权": "B", "实用新型": "U", "外观设计": "S"}


def _qichacha_patent(p: dict[str, Any]) -> Patent:
    kind = QICHACHA_KINDS.get(p.get("KindCodeDesc") or "", "")
    history = p.get("PatentLegalHistory") or []
    grant = next((h.get("LegalStatusDate", "") for h in history if h.get("Desc") == "授权"), "")
    return Patent(
        application_number=p["ApplicationNumber"],
        office="CN",
        publication_number=p.get("PublicationNumber") or "",
        kind=kind,
        title=p.get("Title") or "",
        abstract=p.get("Abstract") or "",
        applicants=tuple(Party(n) for n in p.get("AssigneestringList") or []),
        inventors=tuple(p.get("InventorStringList") or []),
        ipc_codes=_ipc_like(list(p.get("IPCList") or [])),
        filing_date=p.get("ApplicationDate") or "",
        publication_date=p.get("PublicationDate") or "",
        grant_date=grant,
        legal_status=p.get("LegalStatusDesc") or "",
    )


def _qichacha_trademark(t: dict[str, Any]) -> Trademark:
    classes = t.get("IntCls")
    owner = t.get("ApplicantCn") or t.get("ApplicantEn") or ""
    return Trademark(
        application_number=str(t["RegNo"]),
        office="CN",
        registration_number=str(t["RegNo"]),
        mark_text=t.get("Name") or "",
        nice_classes=tuple(
            int(c) for c in (classes if isinstance(classes, list) else [classes]) if c
        ),
        owner=Party(owner, country="CN") if owner else Party(""),
        filing_date=t.get("AppDate") or "",
        status=t.get("FlowStatusDesc") or "",
    )


def qichacha_json(path: Path) -> Iterator[Item]:
    """Qichacha API responses: patents (ApplicationNumber…) or trademarks (RegNo…)."""

    def build(element: dict[str, Any]) -> Record:
        if "RegNo" in element:
            return _qichacha_trademark(element)
        return _qichacha_patent(element)

    yield from _json_items(path, "Result", build)


# -- EUIPO trademark JSON ----------------------------------------------------------------------


def _euipo(t: dict[str, Any]) -> Trademark:
    applicants = t.get("applicants") or []
    first = applicants[0] if applicants else {}
    verbal = (t.get("wordMarkSpecification") or {}).get("verbalElement") or ""
    return Trademark(
        application_number=str(t["applicationNumber"]),
        office="EM",
        registration_number=str(t["applicationNumber"]) if t.get("registrationDate") else "",
        mark_text=verbal,
        nice_classes=tuple(int(c) for c in t.get("niceClasses") or []),
        owner=Party(first.get("name", "")),
        filing_date=t.get("applicationDate") or "",
        registration_date=t.get("registrationDate") or "",
        expiry_date=t.get("expiryDate") or "",
        status=t.get("status") or "",
    )


def euipo_json(path: Path) -> Iterator[Item]:
    yield from _json_items(path, "trademarks", _euipo)


def _gi(g: dict[str, Any]) -> GeographicalIndication:
    return GeographicalIndication(
        gi_id=str(g["gi_id"]),
        name=str(g.get("name") or ""),
        product=str(g.get("product") or ""),
        region_code=str(g.get("region_code") or ""),
        protection_type=str(g.get("protection_type") or ""),
        application_date=str(g.get("application_date") or ""),
        approval_date=str(g.get("approval_date") or ""),
    )


def gi_json(path: Path) -> Iterator[Item]:
    """Our own format (no official GI file exists to follow): a JSON array (or JSON Lines)
    of objects named like the `GeographicalIndication` message's fields."""
    yield from _json_items(path, "geographical_indications", _gi)


def _ic_layout(ic: dict[str, Any]) -> IcLayout:
    owner = ic.get("owner") or {}
    return IcLayout(
        registration_number=str(ic["registration_number"]),
        name=str(ic.get("name") or ""),
        owner=Party(
            str(owner.get("name") or ""),
            str(owner.get("region_code") or ""),
            str(owner.get("country") or ""),
        ),
        creation_date=str(ic.get("creation_date") or ""),
        filing_date=str(ic.get("filing_date") or ""),
    )


def ic_layout_json(path: Path) -> Iterator[Item]:
    """As `gi_json`, objects named like the `IcLayout` message's fields."""
    yield from _json_items(path, "ic_layouts", _ic_layout)


# -- XML: USPTO grants and EPO OPS ---------------------------------------------------------


def _xml_documents(path: Path) -> Iterator[tuple[str, ET.Element | Exception]]:
    """Root elements of the XML documents in a file (several may be concatenated)."""
    parser: ET.XMLPullParser | None = None
    start_line = 0
    failed: Exception | None = None
    last: ET.Element | None = None

    def finish() -> Iterator[tuple[str, ET.Element | Exception]]:
        nonlocal last
        if parser is None:
            return
        position = f"document at line {start_line}"
        if failed is not None:
            yield position, failed
            return
        try:
            parser.close()
            for event in parser.read_events():
                last = event[1]  # type: ignore[assignment,misc]
            if last is None:
                raise ET.ParseError("no root element")
            yield position, last
        except ET.ParseError as exc:
            yield position, exc

    with path.open("rb") as handle:
        for n, line in enumerate(handle, 1):
            if parser is None or line.lstrip().startswith(b"<?xml"):
                yield from finish()
                parser, start_line, failed, last = ET.XMLPullParser(events=("end",)), n, None, None
            if failed is None:
                try:
                    parser.feed(line)
                    for event in parser.read_events():
                        last = event[1]  # type: ignore[assignment,misc]  # the root ends last
                except ET.ParseError as exc:
                    failed = exc
    yield from finish()


def _text(element: ET.Element | None) -> str:
    return "" if element is None else " ".join("".join(element.itertext()).split())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(element: ET.Element, *path: str) -> ET.Element | None:
    """First descendant along local names (namespace-agnostic)."""
    current: ET.Element | None = element
    for name in path:
        if current is None:
            return None
        current = next(
            (c for c in current.iter() if _local(c.tag) == name and c is not current), None
        )
    return current


def _findall(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element.iter() if _local(c.tag) == name]


def _child(element: ET.Element | None, name: str) -> str:
    if element is None:
        return ""
    found = next((c for c in element if _local(c.tag) == name), None)
    return _text(found)


def _party_name(addressbook: ET.Element | None) -> str:
    if addressbook is None:
        return ""
    org = _child(addressbook, "orgname")
    if org:
        return org
    return " ".join(
        p for p in (_child(addressbook, "first-name"), _child(addressbook, "last-name")) if p
    )


def _uspto_grant(root: ET.Element) -> Patent:
    if _local(root.tag) != "us-patent-grant":
        raise ValueError(f"not a us-patent-grant document but <{_local(root.tag)}>")
    biblio = _find(root, "us-bibliographic-data-grant")
    if biblio is None:
        raise ValueError("no us-bibliographic-data-grant")
    pub = _find(biblio, "publication-reference", "document-id")
    app = _find(biblio, "application-reference", "document-id")
    codes = []
    for c in _findall(biblio, "classification-ipcr"):
        codes.append(
            f"{_child(c, 'section')}{_child(c, 'class')}{_child(c, 'subclass')}"
            f" {_child(c, 'main-group')}/{_child(c, 'subgroup')}"
        )
    assignees = [_party_name(_find(a, "addressbook")) for a in _findall(biblio, "assignee")]
    applicants = [
        _party_name(_find(a, "addressbook"))
        for a in _findall(biblio, "us-applicant") + _findall(biblio, "applicant")
    ]
    inventors = [_party_name(_find(i, "addressbook")) for i in _findall(biblio, "inventor")]
    if not inventors:  # v4.2: inventors are applicants of app-type "applicant-inventor"
        inventors = [
            _party_name(_find(a, "addressbook"))
            for a in _findall(biblio, "applicant")
            if "inventor" in (a.get("app-type") or "")
        ]
    names = [n for n in assignees if n] or [n for n in applicants if n]
    abstract = _find(root, "abstract")
    kind = _child(pub, "kind")
    return Patent(
        application_number=_child(app, "doc-number"),
        office="US",
        publication_number=_child(pub, "doc-number"),
        kind=kind,
        title=_text(_find(biblio, "invention-title")),
        abstract=_text(abstract),
        applicants=tuple(Party(n) for n in dict.fromkeys(names)),
        inventors=tuple(n for n in dict.fromkeys(inventors) if n),
        ipc_codes=tuple(dict.fromkeys(codes)),
        filing_date=_child(app, "date"),
        publication_date=_child(pub, "date"),
        grant_date=_child(pub, "date"),
        legal_status="granted",
    )


def uspto_xml(path: Path) -> Iterator[Item]:
    for position, root in _xml_documents(path):
        if isinstance(root, Exception):
            yield Item(position, error=f"not well-formed XML: {root}")
            continue
        try:
            yield Item(
                position, _uspto_grant(root), raw=_text(_find(root, "invention-title"))[:MAX_RAW]
            )
        except ValueError as exc:
            yield Item(position, error=str(exc))
        root.clear()


def _docdb(reference: ET.Element | None) -> ET.Element | None:
    if reference is None:
        return None
    for d in reference:
        if _local(d.tag) == "document-id" and d.get("document-id-type") == "docdb":
            return d
    return None


def _epo_names(parties: ET.Element | None, role: str) -> list[str]:
    if parties is None:
        return []
    found = []
    for p in _findall(parties, role):
        if p.get("data-format") == "original":
            found.append(_text(_find(p, "name")).rstrip(","))
    if not found:  # epodoc names carry " [CC]"
        found = [
            re.sub(r"\s*\[[A-Z]{2}\]$", "", _text(_find(p, "name")))
            for p in _findall(parties, role)
        ]
    return [n for n in dict.fromkeys(found) if n]


def _epo_document(doc: ET.Element) -> Patent:
    biblio = _find(doc, "bibliographic-data")
    if biblio is None:
        raise ValueError("no bibliographic-data")
    pub = _docdb(_find(biblio, "publication-reference"))
    app = _docdb(_find(biblio, "application-reference"))
    if pub is None or app is None:
        raise ValueError("no docdb publication or application reference")
    office = _child(pub, "country")
    app_country, app_number, app_kind = (
        _child(app, "country"),
        _child(app, "doc-number"),
        _child(app, "kind"),
    )
    original = _document_id(_find(biblio, "application-reference"), "original")
    if app_country == "US" and app_kind != "W" and original is not None:  # DocDB appends the year
        app_number = _child(original, "doc-number").replace("/", "").replace(",", "")
    if app_kind == "W" or office == "WO":  # PCT application: PCT/<country><year>/<serial>
        application = f"PCT/{app_country}{app_number[:4]}/{app_number[4:]}"
    else:
        application = f"{app_country}{app_number}"
    titles = {t.get("lang", ""): _text(t) for t in _findall(biblio, "invention-title")}
    abstracts = {a.get("lang", ""): _text(a) for a in _findall(doc, "abstract")}
    codes = []
    for c in _findall(biblio, "classification-ipcr"):
        match = _EPO_IPCR.match(_text(c))
        if match is None:
            raise ValueError(f"unreadable IPC classification {_text(c)!r}")
        codes.append(f"{match[1]} {match[2]}/{match[3]}")
    parties = _find(biblio, "parties")
    return Patent(
        application_number=application,
        office=office,
        publication_number=f"{office}{_child(pub, 'doc-number')}",
        kind=_child(pub, "kind"),
        title=titles.get("en") or titles.get("zh") or next(iter(titles.values()), ""),
        abstract=abstracts.get("en") or next(iter(abstracts.values()), ""),
        applicants=tuple(Party(n) for n in _epo_names(parties, "applicant")),
        inventors=tuple(_epo_names(parties, "inventor")),
        ipc_codes=tuple(dict.fromkeys(codes)),
        filing_date=_child(_epodoc(_find(biblio, "application-reference")), "date"),
        publication_date=_child(pub, "date"),
        grant_date=_child(pub, "date") if _child(pub, "kind").startswith("B") else "",
        legal_status="granted" if _child(pub, "kind").startswith("B") else "published",
    )


def _document_id(reference: ET.Element | None, kind: str) -> ET.Element | None:
    if reference is None:
        return None
    for d in reference:
        if _local(d.tag) == "document-id" and d.get("document-id-type") == kind:
            return d
    return None


def _epodoc(reference: ET.Element | None) -> ET.Element | None:
    return _document_id(reference, "epodoc")


def epo_ops(path: Path) -> Iterator[Item]:
    for position, root in _xml_documents(path):
        if isinstance(root, Exception):
            yield Item(position, error=f"not well-formed XML: {root}")
            continue
        documents = _findall(root, "exchange-document")
        if not documents:
            yield Item(position, error="no exchange-document in the response")
        for n, doc in enumerate(documents):
            where = f"{position}, exchange-document {n + 1}"
            try:
                yield Item(
                    where,
                    _epo_document(doc),
                    raw=f"{doc.get('country')}{doc.get('doc-number')}{doc.get('kind')}",
                )
            except ValueError as exc:
                yield Item(where, error=str(exc))
        root.clear()


READERS: dict[str, Callable[[Path], Iterator[Item]]] = {
    "cnipa-csv": cnipa_csv,
    "qichacha-json": qichacha_json,
    "uspto-xml": uspto_xml,
    "uspto-ppubs-csv": uspto_ppubs_csv,
    "uspto-ppubs-json": uspto_ppubs_json,
    "epo-ops": epo_ops,
    "euipo-json": euipo_json,
    "cpc-csv": cpc_csv,
    "gi-json": gi_json,
    "ic-layout-json": ic_layout_json,
}


def read(format_name: str, path: Path) -> Iterator[Item]:
    try:
        reader = READERS[format_name]
    except KeyError:
        raise ValueError(f"unknown format {format_name!r}; one of {', '.join(FORMATS)}") from None
    return reader(path)
