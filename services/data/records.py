"""Data records — patents, trademarks, geographical indications, IC layouts: their shape,
validation and canonical form, and content hashes. Pure: no proto, no SQL. `domain`
re-exports every public name."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from puhui.data import normalise
from puhui.kit.errors import Violations
from puhui.refdata import divisions, nice, offices

PATENTS = "patents"
TRADEMARKS = "trademarks"
GEOGRAPHICAL_INDICATIONS = "gis"
IC_LAYOUTS = "ic_layouts"
DATA_SETS = (PATENTS, TRADEMARKS, GEOGRAPHICAL_INDICATIONS, IC_LAYOUTS)
HASH_MODULUS = 2**256
MAX_TITLE = 1000
MAX_ABSTRACT = 20000
MAX_PARTIES = 200
# What offices write in place of an inventor who asked not to be named (CNIPA).
WITHHELD_NAMES = frozenset({"请求不公布姓名", "请求不公开姓名", "不公告发明人"})
INSERTED, UPDATED, UNCHANGED = "inserted", "updated", "unchanged"


@dataclass(frozen=True)
class Party:
    name: str
    region_code: str = ""
    country: str = ""


@dataclass(frozen=True)
class Patent:
    """A patent record in canonical form (see `normalise_patent`)."""

    application_number: str
    office: str
    publication_number: str = ""
    kind: str = ""
    title: str = ""
    abstract: str = ""
    applicants: tuple[Party, ...] = ()
    inventors: tuple[str, ...] = ()
    ipc_codes: tuple[str, ...] = ()
    filing_date: str = ""
    publication_date: str = ""
    grant_date: str = ""
    legal_status: str = ""
    content_hash: str = ""
    updated_at: datetime | None = None
    # Position of the change that produced this version in the hub's change feed.
    sequence: int = 0
    # Inventors who asked not to be named: a fact about the record, never an inventor's name.
    inventors_withheld: bool = False

    @property
    def record_id(self) -> str:
        """The application number; the publication number when only that is known."""
        return self.application_number or self.publication_number

    @property
    def region_code(self) -> str:
        for party in self.applicants:
            if party.region_code:
                return party.region_code
        return ""

    @property
    def province_code(self) -> str:
        code = self.region_code
        province = divisions.province_of(code) if code else None
        return province.code if province is not None else ""

    def lookup_keys(self) -> list[str]:
        keys = [f"app:{self.application_number}"] if self.application_number else []
        if self.publication_number:
            keys.append(f"pub:{self.publication_number}")
        return keys


@dataclass(frozen=True)
class Trademark:
    """A trademark record in canonical form (see `normalise_trademark`)."""

    application_number: str
    office: str
    registration_number: str = ""
    mark_text: str = ""
    nice_classes: tuple[int, ...] = ()
    similar_groups: tuple[str, ...] = ()
    owner: Party = Party("")
    filing_date: str = ""
    registration_date: str = ""
    expiry_date: str = ""
    status: str = ""
    content_hash: str = ""
    updated_at: datetime | None = None
    sequence: int = 0

    @property
    def record_id(self) -> str:
        return f"{self.office}{self.application_number}"


@dataclass(frozen=True)
class GeographicalIndication:
    """A geographical indication in canonical form (see `normalise_gi`)."""

    gi_id: str
    name: str = ""
    product: str = ""
    region_code: str = ""
    protection_type: str = ""
    application_date: str = ""
    approval_date: str = ""
    content_hash: str = ""
    updated_at: datetime | None = None
    sequence: int = 0

    @property
    def record_id(self) -> str:
        return self.gi_id


@dataclass(frozen=True)
class IcLayout:
    """An integrated-circuit layout design registration (see `normalise_ic_layout`)."""

    registration_number: str
    name: str = ""
    owner: Party = Party("")
    creation_date: str = ""
    filing_date: str = ""
    content_hash: str = ""
    updated_at: datetime | None = None
    sequence: int = 0

    @property
    def record_id(self) -> str:
        return self.registration_number


Record = Patent | Trademark | GeographicalIndication | IcLayout


def canonical_content(record: Record) -> str:
    """The record's content as canonical JSON (what the content hash covers): every field
    except the content hash, the update time and the change sequence."""
    body: dict[str, Any]
    if isinstance(record, GeographicalIndication):
        g = record
        body = {
            "application_date": g.application_date,
            "approval_date": g.approval_date,
            "gi_id": g.gi_id,
            "name": g.name,
            "product": g.product,
            "protection_type": g.protection_type,
            "region_code": g.region_code,
        }
    elif isinstance(record, IcLayout):
        ic = record
        body = {
            "creation_date": ic.creation_date,
            "filing_date": ic.filing_date,
            "name": ic.name,
            "owner": [ic.owner.name, ic.owner.region_code, ic.owner.country],
            "registration_number": ic.registration_number,
        }
    elif isinstance(record, Patent):
        p = record
        body = {
            "abstract": p.abstract,
            "applicants": [[a.name, a.region_code, a.country] for a in p.applicants],
            "application_number": p.application_number,
            "filing_date": p.filing_date,
            "grant_date": p.grant_date,
            "inventors": list(p.inventors),
            "ipc_codes": list(p.ipc_codes),
            "kind": p.kind,
            "legal_status": p.legal_status,
            "office": p.office,
            "publication_date": p.publication_date,
            "publication_number": p.publication_number,
            "title": p.title,
        }
        if p.inventors_withheld:  # only when set: earlier records keep their hashes
            body["inventors_withheld"] = True
    else:
        t = record
        body = {
            "application_number": t.application_number,
            "expiry_date": t.expiry_date,
            "filing_date": t.filing_date,
            "mark_text": t.mark_text,
            "nice_classes": list(t.nice_classes),
            "office": t.office,
            "owner": [t.owner.name, t.owner.region_code, t.owner.country],
            "registration_date": t.registration_date,
            "registration_number": t.registration_number,
            "similar_groups": list(t.similar_groups),
            "status": t.status,
        }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_hash(record: Record) -> str:
    return hashlib.sha256(canonical_content(record).encode()).hexdigest()


def combine(total: int, added: Iterable[str] = (), removed: Iterable[str] = ()) -> int:
    """Order-independent data-set hash: sum of record hashes modulo 2^256."""
    for h in added:
        total = (total + int(h, 16)) % HASH_MODULUS
    for h in removed:
        total = (total - int(h, 16)) % HASH_MODULUS
    return total


def hash_hex(total: int) -> str:
    return f"{total:064x}"


# -- validation ----------------------------------------------------------------------------


def _party(p: Party, path: str, v: Violations) -> Party:
    name = " ".join(p.name.split())
    v.check(bool(name), f"{path}.name", "is required")
    v.check(len(name) <= 300, f"{path}.name", "at most 300 characters")
    region = p.region_code.strip()
    if region:  # an address: an NBS statistical code (a development zone) means its division
        division = divisions.resolve(region, statistical_codes=True)
        if division is None:
            v.add(f"{path}.region_code", divisions.explain(region))
        else:
            region = division.code
    country = p.country.strip().upper()
    v.check(
        not country or (len(country) == 2 and country.isalpha()),
        f"{path}.country",
        "ISO 3166 alpha-2 code",
    )
    if region and not country:
        country = "CN"
    return Party(name=name, region_code=region, country=country)


def _date(value: str, path: str, v: Violations) -> str:
    try:
        return normalise.iso_date(value)
    except ValueError as exc:
        v.add(path, str(exc))
        return ""


def normalise_patent(raw: Patent, prefix: str = "patent") -> Patent:
    """Validate and canonicalise a patent as submitted; raise InvalidArgument listing every
    bad field (paths under `prefix`)."""
    v = Violations()
    office = raw.office.strip().upper()
    application = ""
    if not raw.application_number.strip():
        v.check(
            bool(raw.publication_number.strip()),
            f"{prefix}.application_number",
            "is required (or at least a publication number)",
        )
    else:
        try:
            number = normalise.application_number(raw.application_number, office)
            application = number.canonical
            if office and number.office != office:
                v.add(f"{prefix}.office", f"the application number is of office {number.office}")
            office = number.office
        except ValueError as exc:
            v.add(f"{prefix}.application_number", str(exc))
    known = not office or offices.is_office(office)
    v.check(known, f"{prefix}.office", f"unknown office {office!r}")
    publication, kind = "", raw.kind.strip().upper()
    if raw.publication_number.strip():
        try:
            pub = normalise.publication_number(raw.publication_number, office)
            publication = pub.canonical
            kind = pub.kind or kind
            office = office or pub.office
            if office and pub.office != office and pub.office != "WO":
                v.add(f"{prefix}.publication_number", f"is of office {pub.office}, not {office}")
        except ValueError as exc:
            v.add(f"{prefix}.publication_number", str(exc))
    v.check(
        len(kind) <= 2 and (not kind or kind[0].isalpha()),
        f"{prefix}.kind",
        "a kind code such as A, U or B2",
    )
    title = " ".join(raw.title.split())
    v.check(bool(title), f"{prefix}.title", "is required")
    v.check(len(title) <= MAX_TITLE, f"{prefix}.title", f"at most {MAX_TITLE} characters")
    abstract = raw.abstract.strip()
    v.check(
        len(abstract) <= MAX_ABSTRACT, f"{prefix}.abstract", f"at most {MAX_ABSTRACT} characters"
    )
    v.check(len(raw.applicants) <= MAX_PARTIES, f"{prefix}.applicants", f"at most {MAX_PARTIES}")
    applicants = tuple(
        _party(p, f"{prefix}.applicants[{i}]", v) for i, p in enumerate(raw.applicants)
    )
    named = tuple(dict.fromkeys(n for n in (" ".join(i.split()) for i in raw.inventors) if n))
    inventors = tuple(n for n in named if n not in WITHHELD_NAMES)
    withheld = raw.inventors_withheld or len(inventors) < len(named)
    v.check(len(inventors) <= MAX_PARTIES, f"{prefix}.inventors", f"at most {MAX_PARTIES}")
    codes: list[str] = []
    for i, symbol in enumerate(raw.ipc_codes):
        try:
            codes.append(normalise.ipc_code(symbol))
        except ValueError as exc:
            v.add(f"{prefix}.ipc_codes[{i}]", str(exc))
    filing = _date(raw.filing_date, f"{prefix}.filing_date", v)
    published = _date(raw.publication_date, f"{prefix}.publication_date", v)
    granted = _date(raw.grant_date, f"{prefix}.grant_date", v)
    if filing and published:
        v.check(published >= filing, f"{prefix}.publication_date", "is before the filing date")
    if filing and granted:
        v.check(granted >= filing, f"{prefix}.grant_date", "is before the filing date")
    status = " ".join(raw.legal_status.split())
    v.check(len(status) <= 100, f"{prefix}.legal_status", "at most 100 characters")
    v.raise_if_any()
    patent = Patent(
        application_number=application,
        office=office,
        publication_number=publication,
        kind=kind,
        title=title,
        abstract=abstract,
        applicants=applicants,
        inventors=inventors,
        inventors_withheld=withheld,
        ipc_codes=tuple(dict.fromkeys(codes)),
        filing_date=filing,
        publication_date=published,
        grant_date=granted,
        legal_status=status,
    )
    return replace(patent, content_hash=content_hash(patent))


def normalise_trademark(raw: Trademark, prefix: str = "trademark") -> Trademark:
    """Validate and canonicalise a trademark; raise InvalidArgument listing every bad field."""
    v = Violations()
    office = raw.office.strip().upper()
    v.check(offices.is_office(office), f"{prefix}.office", f"unknown office {office!r}")
    number = "".join(raw.application_number.split()).upper()
    if office and number.startswith(office):
        number = number[len(office) :]
    v.check(bool(number), f"{prefix}.application_number", "is required")
    v.check(
        len(number) <= 20 and number.isalnum(),
        f"{prefix}.application_number",
        "letters and digits only",
    )
    registration = "".join(raw.registration_number.split()).upper()
    v.check(len(registration) <= 20, f"{prefix}.registration_number", "at most 20 characters")
    mark = " ".join(raw.mark_text.split())
    v.check(len(mark) <= 500, f"{prefix}.mark_text", "at most 500 characters")
    classes: list[int] = []
    for i, c in enumerate(raw.nice_classes):
        if nice.is_valid_class(c):
            classes.append(int(c))
        else:
            v.add(f"{prefix}.nice_classes[{i}]", f"{c!r} is not a Nice class (1-45)")
    groups: list[str] = []
    for i, g in enumerate(raw.similar_groups):
        code = g.strip()
        if nice.is_valid_group(code):
            groups.append(code)
        else:
            v.add(f"{prefix}.similar_groups[{i}]", f"{g!r} is not a CNIPA similar group")
    owner = _party(raw.owner, f"{prefix}.owner", v) if raw.owner.name.strip() else Party("")
    filing = _date(raw.filing_date, f"{prefix}.filing_date", v)
    registered = _date(raw.registration_date, f"{prefix}.registration_date", v)
    expiry = _date(raw.expiry_date, f"{prefix}.expiry_date", v)
    status = " ".join(raw.status.split())
    v.check(len(status) <= 100, f"{prefix}.status", "at most 100 characters")
    v.raise_if_any()
    trademark = Trademark(
        application_number=number,
        office=office,
        registration_number=registration,
        mark_text=mark,
        nice_classes=tuple(sorted(set(classes))),
        similar_groups=tuple(sorted(set(groups))),
        owner=owner,
        filing_date=filing,
        registration_date=registered,
        expiry_date=expiry,
        status=status,
    )
    return replace(trademark, content_hash=content_hash(trademark))


GI_PROTECTION_TYPES = (
    "geographical indication product",
    "collective mark",
    "certification mark",
    "agricultural product geographical indication",
)
_RECORD_ID = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,39}$")


def normalise_record_id(text: str, path: str, v: Violations, example: str) -> str:
    value = "".join(text.split()).upper()
    if not value:
        v.add(path, "is required")
    elif not _RECORD_ID.match(value):
        v.add(path, f"letters, digits, '-' and '.', at most 40, e.g. {example}")
    return value


def _text(value: str, path: str, v: Violations, limit: int, *, required: bool = False) -> str:
    text = " ".join(value.split())
    if required:
        v.check(bool(text), path, "is required")
    v.check(len(text) <= limit, path, f"at most {limit} characters")
    return text


def normalise_gi(raw: GeographicalIndication, prefix: str = "indication") -> GeographicalIndication:
    """Validate and canonicalise a geographical indication (region: a GB/T 2260 code)."""
    v = Violations()
    gi_id = normalise_record_id(raw.gi_id, f"{prefix}.gi_id", v, "AGI00001")
    name = _text(raw.name, f"{prefix}.name", v, 300, required=True)
    product = _text(raw.product, f"{prefix}.product", v, 300)
    region = raw.region_code.strip()
    if not region:
        v.add(f"{prefix}.region_code", "is required")
    else:
        division = divisions.get(region)
        if division is None:
            v.add(f"{prefix}.region_code", divisions.explain(region))
        else:
            region = division.code
    protection = " ".join(raw.protection_type.split()).lower()
    v.check(
        not protection or protection in GI_PROTECTION_TYPES,
        f"{prefix}.protection_type",
        "one of: " + ", ".join(GI_PROTECTION_TYPES),
    )
    applied = _date(raw.application_date, f"{prefix}.application_date", v)
    approved = _date(raw.approval_date, f"{prefix}.approval_date", v)
    if applied and approved and approved < applied:
        v.add(f"{prefix}.approval_date", "is before the application date")
    v.raise_if_any()
    gi = GeographicalIndication(
        gi_id=gi_id,
        name=name,
        product=product,
        region_code=region,
        protection_type=protection,
        application_date=applied,
        approval_date=approved,
    )
    return replace(gi, content_hash=content_hash(gi))


def normalise_ic_layout(raw: IcLayout, prefix: str = "layout") -> IcLayout:
    """Validate and canonicalise an IC layout design registration."""
    v = Violations()
    number = normalise_record_id(
        raw.registration_number, f"{prefix}.registration_number", v, "BS.245500012"
    )
    name = _text(raw.name, f"{prefix}.name", v, 300, required=True)
    owner = _party(raw.owner, f"{prefix}.owner", v) if raw.owner.name.strip() else Party("")
    created = _date(raw.creation_date, f"{prefix}.creation_date", v)
    filed = _date(raw.filing_date, f"{prefix}.filing_date", v)
    if created and filed and filed < created:
        v.add(f"{prefix}.filing_date", "is before the creation date")
    v.raise_if_any()
    layout = IcLayout(
        registration_number=number,
        name=name,
        owner=owner,
        creation_date=created,
        filing_date=filed,
    )
    return replace(layout, content_hash=content_hash(layout))


def normalise_record(record: Record, prefix: str) -> Record:
    """The data set's normaliser for `record`."""
    if isinstance(record, Patent):
        return normalise_patent(record, prefix)
    if isinstance(record, Trademark):
        return normalise_trademark(record, prefix)
    if isinstance(record, GeographicalIndication):
        return normalise_gi(record, prefix)
    return normalise_ic_layout(record, prefix)


def data_set_of(record: Record) -> str:
    if isinstance(record, Patent):
        return PATENTS
    if isinstance(record, Trademark):
        return TRADEMARKS
    if isinstance(record, GeographicalIndication):
        return GEOGRAPHICAL_INDICATIONS
    return IC_LAYOUTS


# -- ports ---------------------------------------------------------------------------------
