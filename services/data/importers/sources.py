"""Readers of the source formats: each yields one `Item` per record, streaming.

A reader turns what an office wrote into the domain's record shape, field for field, and
leaves validation to the domain (`normalise_patent` / `normalise_trademark`). A record a
reader cannot even take apart (a CSV row with the wrong number of fields or in another
encoding, a JSON element that is not an object, bad XML of one document) becomes an Item
with `error` set, so the importer quarantines it and carries on. A file that cannot be
read as the format at all (missing, empty, a CSV without the format's columns, JSON that
does not parse or holds no array of records) raises ValueError or OSError: the importer
quarantines the file as one failure and the command exits non-zero.

Text (CSV, JSON, JSON Lines) is decoded as `reading` describes: per line, UTF-8, UTF-8
with BOM or GB18030/GBK, detected or chosen. Memory: CSV, JSON Lines and XML are read
incrementally; a JSON document (an API response) is one page, bounded by the API's page
size. XML readers live in `xml_sources`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from puhui.data import domain
from puhui.data.domain import GeographicalIndication, IcLayout, Party, Patent, Record, Trademark
from puhui.data.importers.reading import (
    MAX_RAW,
    DecodedLines,
    Item,
    ReadOptions,
    raw_text,
    read_text,
)
from puhui.data.importers.xml_sources import epo_ops, uspto_xml
from puhui.refdata import divisions

__all__ = ["FORMATS", "MAX_RAW", "Item", "ReadOptions", "epo_ops", "read", "uspto_xml"]

_IPC_LIKE = re.compile(r"^[A-Z]")  # Locarno design classes ("11-") start with digits
_raw = raw_text


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


def _csv_items(
    path: Path,
    options: ReadOptions | None,
    required: tuple[str, ...],
    build: Callable[[dict[str, str]], Record],
) -> Iterator[Item]:
    lines = DecodedLines(path, options or ReadOptions())
    reader = csv.DictReader(lines)
    fields = reader.fieldnames
    if not fields:
        raise ValueError("empty file: no header line")
    if lines.bad:
        raise ValueError(f"header line: {lines.bad[1]}")
    missing = [name for name in required if name not in fields]
    if missing:
        raise ValueError(
            f"not this format's CSV: no column {', '.join(missing)}"
            f" (the header has {', '.join(fields[:12])})"
        )
    last = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a quoted field the file ends inside of
            first, last = last + 1, reader.line_num
            _undecoded(lines, first, last)
            yield Item(_lines(first, last), error=f"not CSV: {exc}")
            continue
        first, last = last + 1, reader.line_num
        position = _lines(first, last)
        if lines.bad:
            reason = _undecoded(lines, first, last)
            if reason:
                yield Item(position, error=reason, raw=_raw(row))
                continue
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


def _undecoded(lines: DecodedLines, first: int, last: int) -> str:
    """Why a line of `first`..`last` could not be decoded ("" if all could); forgets them."""
    reasons = [f"line {n}: {lines.bad.pop(n)}" for n in sorted(lines.bad) if first <= n <= last]
    return reasons[0] if reasons else ""


def _lines(first: int, last: int) -> str:
    return f"line {first}" if first >= last else f"lines {first}-{last}"


def cnipa_csv(path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
    yield from _csv_items(path, options, ("申请号",), _cnipa_row)


def _cpc_row(row: dict[str, str]) -> Patent:
    return Patent(
        application_number="",
        office="CN",
        publication_number=row["publication_number"],
        title=row["title"],
        abstract=row.get("abstract", ""),
        ipc_codes=_ipc_like(_split(row.get("cpc_labels"), ";,|")),
    )


def cpc_csv(path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
    """Title/abstract/CPC-label CSV keyed by publication number (no application number)."""
    yield from _csv_items(path, options, ("publication_number", "title"), _cpc_row)


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


_PPUBS_COLUMNS = (
    "guid",
    "publicationReferenceDocumentNumber",
    "kindCode",
    "datePublished",
    "applicationNumber",
    "applicationFilingDate",
    "inventionTitle",
)


def uspto_ppubs_csv(path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
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

    yield from _csv_items(path, options, _PPUBS_COLUMNS, build)


def _json_elements(path: Path, options: ReadOptions, key: str | None) -> Iterator[tuple[str, Any]]:
    """Elements of a JSON array (optionally under `key`), or of a JSON Lines file."""
    if path.suffix in (".jsonl", ".ndjson"):
        for n, line, error in DecodedLines(path, options).numbered():
            if error:
                yield f"line {n}", UnicodeError(error)
            elif line.strip():
                try:
                    yield f"line {n}", json.loads(line)
                except json.JSONDecodeError as exc:
                    yield f"line {n}", exc
        return
    try:
        document = json.loads(read_text(path, options))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON (truncated?): {exc}") from None
    shape = f"a JSON array of records or an object with a {key!r} array" if key else "an array"
    if isinstance(document, dict) and key:
        if key not in document:
            keys = ", ".join(list(document)[:8])
            raise ValueError(f"expected {shape}; found an object with {keys or 'no keys'}")
        document = document[key]
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise ValueError(f"expected {shape}; found {type(document).__name__}")
    for n, element in enumerate(document):
        yield f"[{n}]", element


def _json_items(
    path: Path,
    options: ReadOptions | None,
    key: str | None,
    build: Callable[[dict[str, Any]], Record],
) -> Iterator[Item]:
    for position, element in _json_elements(path, options or ReadOptions(), key):
        if isinstance(element, UnicodeError):
            yield Item(position, error=str(element))
            continue
        if isinstance(element, Exception):
            yield Item(position, error=f"not JSON: {element}")
            continue
        if not isinstance(element, dict):
            yield Item(position, error="not a JSON object", raw=_raw(element))
            continue
        try:
            yield Item(position, build(element), raw=_raw(element))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            yield Item(
                position,
                error=f"cannot read record: {exc!r}",
                raw=_raw(element),
                data_set=domain.TRADEMARKS if "RegNo" in element else "",
            )


def uspto_ppubs_json(path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
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

    yield from _json_items(path, options, "patents", build)


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


def qichacha_json(path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
    """Qichacha API responses: patents (ApplicationNumber…) or trademarks (RegNo…)."""

    def build(element: dict[str, Any]) -> Record:
        if "RegNo" in element:
            return _qichacha_trademark(element)
        return _qichacha_patent(element)

    yield from _json_items(path, options, "Result", build)


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


def euipo_json(path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
    yield from _json_items(path, options, "trademarks", _euipo)


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


def gi_json(path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
    """Our own format (no official GI file exists to follow): a JSON array (or JSON Lines)
    of objects named like the `GeographicalIndication` message's fields."""
    yield from _json_items(path, options, "geographical_indications", _gi)


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


def ic_layout_json(path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
    """As `gi_json`, objects named like the `IcLayout` message's fields."""
    yield from _json_items(path, options, "ic_layouts", _ic_layout)


READERS: dict[str, Callable[[Path, ReadOptions], Iterator[Item]]] = {
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
FORMATS = tuple(READERS)
DATA_SETS = {  # what a format's records are, for a quarantined row that never became one
    "euipo-json": domain.TRADEMARKS,
    "gi-json": domain.GEOGRAPHICAL_INDICATIONS,
    "ic-layout-json": domain.IC_LAYOUTS,
}


def data_set_of(format_name: str) -> str:
    return DATA_SETS.get(format_name, domain.PATENTS)


def read(format_name: str, path: Path, options: ReadOptions | None = None) -> Iterator[Item]:
    try:
        reader = READERS[format_name]
    except KeyError:
        raise ValueError(f"unknown format {format_name!r}; one of {', '.join(FORMATS)}") from None
    return reader(path, options or ReadOptions())
