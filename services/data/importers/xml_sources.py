"""XML readers: USPTO grant full text and EPO OPS exchange documents, streaming.

Files are read incrementally (`XMLPullParser`, elements cleared as soon as a document is
done); USPTO weekly files concatenate many documents, split at each `<?xml` declaration.
Neither parser fetches external DTDs: expat does not resolve external entities, and the
USPTO files use numeric character references only. A document declares its own encoding,
so `--encoding` does not apply. A rejected document is named by its line and, when the
bytes show one, its publication number.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from puhui.data.domain import Party, Patent
from puhui.data.importers.reading import MAX_RAW, Item, ReadOptions, open_bytes

_EPO_IPCR = re.compile(r"^([A-H]\d{2}[A-Z])\s*(\d+)\s*/\s*(\d+)")
_DOC_NUMBER = re.compile(rb"<doc-number>\s*([^<\s]{1,40})\s*</doc-number>")
_HEAD = 16384  # bytes of a document kept to name it if it cannot be parsed
_PATDOC = b"<PATDOC"
_UNSUPPORTED_PATDOC = (
    "unsupported format: USPTO grant XML v2.4/v2.5 (PATDOC, 2001-2004);"
    " uspto-xml reads us-patent-grant v4.x (2005 on)"
)


def _xml_documents(
    path: Path, options: ReadOptions
) -> Iterator[tuple[str, ET.Element | Exception]]:
    """Root elements of the XML documents in a file (several may be concatenated), each with
    its position: its first line and, if its bytes show one, its first document number."""
    parser: ET.XMLPullParser | None = None
    start_line = 0
    head = bytearray()
    failed: Exception | None = None
    last: ET.Element | None = None

    def finish() -> Iterator[tuple[str, ET.Element | Exception]]:
        nonlocal last
        if parser is None:
            return
        number = _DOC_NUMBER.search(head)
        position = f"document at line {start_line}" + (
            f" ({number[1].decode('ascii', 'replace')})" if number else ""
        )
        if _PATDOC in head:  # its DTD declares entities expat cannot read: not "malformed"
            yield position, ValueError(_UNSUPPORTED_PATDOC)
            return
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

    with open_bytes(path, options) as handle:
        for n, line in enumerate(handle, 1):
            if parser is None or line.lstrip().startswith(b"<?xml"):
                yield from finish()
                parser, start_line, failed, last = ET.XMLPullParser(events=("end",)), n, None, None
                head.clear()
            if len(head) < _HEAD:
                head += line
            if failed is None:
                try:
                    parser.feed(line)
                    for event in parser.read_events():
                        last = event[1]  # type: ignore[assignment,misc]  # the root ends last
                except ET.ParseError as exc:
                    failed = exc
    if parser is None:
        raise ValueError("empty file: no XML document")
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


_IPC7_SLASH = re.compile(r"^([A-H]\d{2}[A-Z])\s*(\d{1,4})\s*/\s*(\d{2,6})")
_IPC7_FIXED = re.compile(r"^([A-H]\d{2}[A-Z])(.{3})(\d{2,6})\s*$")


def _ipc7(text: str) -> str:
    """An IPC symbol as v4.0 writes it: ``G06F 17/30``, or the fixed-width WIPO ST.8 form
    (subclass, main group right-aligned in 3 characters, subgroup): ``G06F 1730``,
    ``H04N  5225``. "" if it is neither."""
    match = _IPC7_SLASH.match(text) or _IPC7_FIXED.match(text)
    if match is None or not match[2].strip().isdigit():
        return ""
    return f"{match[1]} {int(match[2])}/{match[3]}"


def _addressbook(party: ET.Element) -> ET.Element:
    """A party's names: its `addressbook`, or the party itself when the names are written
    without that wrapper (v4.0 assignees: `<assignee><orgname>…`)."""
    book = _find(party, "addressbook")
    return party if book is None else book


def _uspto_grant(root: ET.Element) -> Patent:
    if _local(root.tag) != "us-patent-grant":
        raise ValueError(
            f"unsupported format: <{_local(root.tag)}>; uspto-xml reads us-patent-grant v4.x"
        )
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
    for c in _findall(biblio, "classification-ipc"):  # v4.0 (2005): IPC 7 in one string
        for symbol in _findall(c, "main-classification") + _findall(c, "further-classification"):
            code = _ipc7("".join(symbol.itertext()).strip("\n\t"))  # spaces are positions
            if code:
                codes.append(code)
    assignees = [_party_name(_addressbook(a)) for a in _findall(biblio, "assignee")]
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


def uspto_xml(path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
    for position, root in _xml_documents(path, options or ReadOptions()):
        if isinstance(root, ET.ParseError):
            yield Item(position, error=f"not well-formed XML: {root}")
            continue
        if isinstance(root, Exception):
            yield Item(position, error=str(root))
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
        title=_in_language(titles, office),
        abstract=_in_language(abstracts, office),
        applicants=tuple(Party(n) for n in _epo_names(parties, "applicant")),
        inventors=tuple(_epo_names(parties, "inventor")),
        ipc_codes=tuple(dict.fromkeys(codes)),
        filing_date=_child(_epodoc(_find(biblio, "application-reference")), "date"),
        publication_date=_child(pub, "date"),
        grant_date=_child(pub, "date") if _child(pub, "kind").startswith("B") else "",
        legal_status="granted" if _child(pub, "kind").startswith("B") else "published",
    )


_OFFICE_LANGUAGE = {"CN": "zh", "TW": "zh", "JP": "ja", "KR": "ko"}


def _in_language(texts: dict[str, str], office: str) -> str:
    """The text in the office's own language (a CN document's Chinese title, not DocDB's
    English translation), else English, else the first given."""
    own = _OFFICE_LANGUAGE.get(office, "")
    return texts.get(own) or texts.get("en") or next(iter(texts.values()), "")


def _document_id(reference: ET.Element | None, kind: str) -> ET.Element | None:
    if reference is None:
        return None
    for d in reference:
        if _local(d.tag) == "document-id" and d.get("document-id-type") == kind:
            return d
    return None


def _epodoc(reference: ET.Element | None) -> ET.Element | None:
    return _document_id(reference, "epodoc")


def epo_ops(path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
    for position, root in _xml_documents(path, options or ReadOptions()):
        if isinstance(root, Exception):
            yield Item(position, error=f"not well-formed XML: {root}")
            continue
        documents = _findall(root, "exchange-document")
        if not documents:
            yield Item(position, error="no exchange-document in the response")
        for n, doc in enumerate(documents):
            number = f"{doc.get('country')}{doc.get('doc-number')}{doc.get('kind')}"
            where = f"{position.split(' (')[0]}, exchange-document {n + 1} ({number})"
            try:
                yield Item(where, _epo_document(doc), raw=number)
            except ValueError as exc:
                yield Item(where, error=str(exc))
        root.clear()
