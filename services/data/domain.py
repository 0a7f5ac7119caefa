"""Data domain: patent (and trademark) records, their validation, content hashes and the
rules of upserting and mirroring them. No proto, no SQL here."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from puhui.data import normalise
from puhui.data.errors import ReadOnlyMirror, RecordNotFound
from puhui.kit.errors import InvalidArgument, Violations
from puhui.refdata import divisions, nice

PATENTS = "patents"
TRADEMARKS = "trademarks"
GEOGRAPHICAL_INDICATIONS = "gis"
IC_LAYOUTS = "ic_layouts"
DATA_SETS = (PATENTS, TRADEMARKS, GEOGRAPHICAL_INDICATIONS, IC_LAYOUTS)
HASH_MODULUS = 2**256
MAX_TITLE = 1000
MAX_ABSTRACT = 20000
MAX_PARTIES = 200
INSERTED, UPDATED, UNCHANGED = "inserted", "updated", "unchanged"
OFFICES = frozenset({"CN", "US", "EP", "WO", "JP", "KR", "DE", "GB", "FR", "EM", "HK", "MO", "TW"})


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
    if region:
        division = divisions.get(region)
        if division is None:
            v.add(f"{path}.region_code", f"{region!r} is not a GB/T 2260 division code")
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
    v.check(not office or office in OFFICES, f"{prefix}.office", f"unknown office {office!r}")
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
    inventors = tuple(dict.fromkeys(n for n in (" ".join(i.split()) for i in raw.inventors) if n))
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
    v.check(office in OFFICES, f"{prefix}.office", f"unknown office {office!r}")
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
            v.add(f"{prefix}.region_code", f"{region!r} is not a GB/T 2260 division code")
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


@dataclass(frozen=True)
class Change:
    data_set: str
    record_id: str
    change: str
    content_hash: str
    previous_hash: str = ""
    sequence: int = 0
    changed_at: datetime | None = None
    source: str = ""


class RecordRepository(Protocol):
    """Storage of one data set."""

    def hashes(self, record_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """record id → (content hash, sequence) for those that exist."""

    def save(self, inserted: Sequence[Any], updated: Sequence[Any]) -> None: ...

    def record_changes(self, changes: Sequence[Change]) -> list[Change]:
        """Append to the change feed; return the changes with their sequence numbers."""


class PatentRepository(RecordRepository, Protocol):
    def get(self, record_id: str) -> Patent | None: ...

    def resolve(self, keys: Sequence[str]) -> str | None:
        """The record id stored under any of the lookup keys."""


class TrademarkRepository(RecordRepository, Protocol):
    def find(self, office: str, number: str) -> Trademark | None: ...


class EventSink(Protocol):
    def records_changed(self, changes: Sequence[tuple[Change, Record]], *, announce: bool) -> None:
        """Publish to the mirror topic (always) and the events topic (if `announce`)."""


@dataclass
class Outcome:
    record: Any
    outcome: str

    @property
    def patent(self) -> Patent:
        assert isinstance(self.record, Patent)
        return self.record


@dataclass
class Counts:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class DataSets:
    """The use cases: upsert records (hub), apply mirrored changes (province), get."""

    def __init__(self, node: str, *, mirror: bool = False) -> None:
        self.node = node
        self.mirror = mirror

    def require_writable(self) -> None:
        if self.mirror:
            raise ReadOnlyMirror(self.node)

    def upsert(
        self,
        repo: RecordRepository,
        events: EventSink,
        records: Sequence[Record],
        now: datetime,
        *,
        source: str = "api",
        announce: bool = False,
    ) -> list[Outcome]:
        """Insert new, update changed, skip unchanged records (already normalised, one data
        set). Every insert and update is appended to the change feed, counted into the
        data-set hash and published to the mirror topic in the same transaction."""
        if not records:
            return []
        data_set = data_set_of(records[0])
        latest: dict[str, Record] = {}
        for r in records:  # the last version of a record within one batch wins
            latest[r.record_id] = r
        existing = repo.hashes(list(latest))
        inserted: list[str] = []
        updated: list[str] = []
        removed: list[str] = []
        changes: list[Change] = []
        results: dict[str, Outcome] = {}
        for record_id, r in latest.items():
            before = existing.get(record_id)
            if before is not None and before[0] == r.content_hash:
                results[record_id] = Outcome(replace(r, sequence=before[1]), UNCHANGED)
                continue
            if before is None:
                inserted.append(record_id)
                kind = INSERTED
            else:
                updated.append(record_id)
                removed.append(before[0])
                kind = UPDATED
            changes.append(
                Change(
                    data_set,
                    record_id,
                    kind,
                    r.content_hash,
                    before[0] if before else "",
                    0,
                    now,
                    source,
                )
            )
            results[record_id] = Outcome(replace(r, updated_at=now), kind)
        if changes:
            recorded = repo.record_changes(changes)
            for change in recorded:
                result = results[change.record_id]
                result.record = replace(result.record, sequence=change.sequence)
            repo.save([results[i].record for i in inserted], [results[i].record for i in updated])
            events.records_changed(
                [(change, results[change.record_id].record) for change in recorded],
                announce=announce,
            )
        return [results[r.record_id] for r in records]

    def upsert_patents(
        self,
        repo: PatentRepository,
        events: EventSink,
        patents: Sequence[Patent],
        now: datetime,
        **kw: Any,
    ) -> list[Outcome]:
        return self.upsert(repo, events, patents, now, **kw)

    def apply_mirrored(self, repo: RecordRepository, record: Record, now: datetime) -> str:
        """Apply a change published by the hub; older or equal versions are ignored."""
        self.check_mirrored(record)
        data_set = data_set_of(record)
        before = repo.hashes([record.record_id]).get(record.record_id)
        if before is not None and (
            before[1] >= record.sequence or before[0] == record.content_hash
        ):
            return UNCHANGED
        stamped = replace(record, updated_at=now)
        kind = INSERTED if before is None else UPDATED
        repo.save([stamped] if before is None else [], [stamped] if before is not None else [])
        repo.record_changes(
            [
                Change(
                    data_set,
                    record.record_id,
                    kind,
                    record.content_hash,
                    before[0] if before else "",
                    0,
                    now,
                    "mirror",
                )
            ]
        )
        return kind

    def apply_mirrored_many(
        self, repo: RecordRepository, records: Sequence[Record], now: datetime
    ) -> list[str]:
        """`apply_mirrored` for a batch of one data set, in order, with one read of the stored
        versions, one save and one change-feed insert. The records' content hashes must have
        been checked (`check_mirrored`). The same record twice in the batch is applied as
        one after the other would be: the later version is stored, both changes recorded."""
        if not records:
            return []
        data_set = data_set_of(records[0])
        stored = repo.hashes(list(dict.fromkeys(r.record_id for r in records)))
        state: dict[str, tuple[str, int]] = dict(stored)
        final: dict[str, Record] = {}
        outcomes: list[str] = []
        changes: list[Change] = []
        for record in records:
            before = state.get(record.record_id)
            if before is not None and (
                before[1] >= record.sequence or before[0] == record.content_hash
            ):
                outcomes.append(UNCHANGED)
                continue
            kind = INSERTED if before is None else UPDATED
            state[record.record_id] = (record.content_hash, record.sequence)
            final[record.record_id] = replace(record, updated_at=now)
            changes.append(
                Change(
                    data_set,
                    record.record_id,
                    kind,
                    record.content_hash,
                    before[0] if before else "",
                    0,
                    now,
                    "mirror",
                )
            )
            outcomes.append(kind)
        repo.save(
            [r for i, r in final.items() if i not in stored],
            [r for i, r in final.items() if i in stored],
        )
        if changes:
            repo.record_changes(changes)
        return outcomes

    @staticmethod
    def check_mirrored(record: Record) -> None:
        """A mirrored record must carry the hash of its content (else it is never applied)."""
        if content_hash(record) != record.content_hash:
            raise InvalidArgument.field("content_hash", "does not match the record's content")

    def get_patent(self, repo: PatentRepository, number: str) -> Patent:
        keys = lookup_keys_or_invalid(number, "number")
        record_id = repo.resolve(keys)
        found = repo.get(record_id) if record_id else None
        if found is None:
            raise RecordNotFound("patent", number)
        return found

    def get_trademark(self, repo: TrademarkRepository, number: str) -> Trademark:
        text = "".join(number.split()).upper()
        if not text:
            raise InvalidArgument.field("number", "is required")
        if len(text) > 30 or not text.isalnum():
            raise InvalidArgument.field(
                "number", "letters and digits, e.g. CN16435657 or EM000274084"
            )
        office, digits = (text[:2], text[2:]) if text[:2].isalpha() else ("", text)
        found = repo.find(office, digits)
        if found is None:
            raise RecordNotFound("trademark", number)
        return found


def lookup_keys_or_invalid(number: str, field_path: str) -> list[str]:
    if not number.strip():
        raise InvalidArgument.field(field_path, "is required")
    if len(number) > 64:
        raise InvalidArgument.field(field_path, "at most 64 characters")
    try:
        return normalise.lookup_keys(number)
    except ValueError as exc:
        raise InvalidArgument.field(field_path, str(exc)) from None


# -- queries -------------------------------------------------------------------------------

FACETS = ("ipc_section", "year", "province")
MAX_EXPORT_CHUNK = 5000


@dataclass(frozen=True)
class PatentQuery:
    text: str = ""
    applicant: str = ""
    ipc_prefix: str = ""
    region_code: str = ""
    filing_from: str = ""
    filing_to: str = ""
    published_from: str = ""
    published_to: str = ""
    office: str = ""
    legal_status: str = ""

    def filters(self) -> dict[str, str]:
        # vars(), not asdict(): the fields are strings, and asdict's deep copy was a tenth
        # of a search's own CPU.
        return {k: v for k, v in vars(self).items() if v}


def region_prefix(code: str) -> str:
    """440000 → "44", 440300 → "4403", 440305 → "440305": codes under a division share it."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def ipc_prefix(text: str) -> str:
    """A canonical IPC prefix: ``g`` → ``G``, ``G06F16`` → ``G06F 16/``, ``G06F 16/3`` kept."""
    compact = "".join(text.split()).upper()
    match = re.fullmatch(r"([A-H](?:\d{2}(?:[A-Z])?)?)(?:(\d{1,4})(?:/(\d{0,6}))?)?", compact)
    if match is None:
        raise ValueError(f"{text!r} is not an IPC symbol or prefix")
    head, main, sub = match.groups()
    if main is None:
        return head
    if len(head) != 4:
        raise ValueError(f"{text!r}: a group needs a full subclass (e.g. G06F 16/)")
    return f"{head} {int(main)}/{sub or ''}"


def _range(v: Violations, path: str, rng: tuple[str, str]) -> tuple[str, str]:
    low = _date(rng[0], f"{path}.from", v)
    high = _date(rng[1], f"{path}.to", v)
    if low and high:
        v.check(low <= high, path, "from is after to")
    return low, high


def validate_query(
    text: str,
    applicant: str,
    ipc: str,
    region_code: str,
    filing: tuple[str, str],
    published: tuple[str, str],
    office: str,
    legal_status: str,
    *,
    max_length: int = 200,
    facets: Sequence[str] = (),
    prefix: str = "",
) -> PatentQuery:
    v = Violations()
    text = " ".join(text.split())
    applicant = " ".join(applicant.split())
    v.check(len(text) <= max_length, f"{prefix}query", f"at most {max_length} characters")
    v.check(len(applicant) <= max_length, f"{prefix}applicant", f"at most {max_length} characters")
    prefix_ipc = ""
    if ipc.strip():
        try:
            prefix_ipc = ipc_prefix(ipc)
        except ValueError as exc:
            v.add(f"{prefix}ipc_prefix", str(exc))
    region = ""
    if region_code.strip():
        division = divisions.get(region_code.strip())
        if division is None:
            v.add(f"{prefix}region_code", f"{region_code!r} is not a GB/T 2260 division code")
        else:
            region = division.code
    f_from, f_to = _range(v, f"{prefix}filing_date", filing)
    p_from, p_to = _range(v, f"{prefix}publication_date", published)
    office = office.strip().upper()
    v.check(not office or office in OFFICES, f"{prefix}office", f"unknown office {office!r}")
    status = " ".join(legal_status.split())
    v.check(len(status) <= 100, f"{prefix}legal_status", "at most 100 characters")
    for i, name in enumerate(facets):
        v.check(name in FACETS, f"{prefix}facets[{i}]", f"one of {', '.join(FACETS)}")
    v.raise_if_any()
    return PatentQuery(
        text, applicant, prefix_ipc, region, f_from, f_to, p_from, p_to, office, status
    )


@dataclass(frozen=True)
class TrademarkQuery:
    text: str = ""
    owner: str = ""
    nice_classes: tuple[int, ...] = ()
    similar_group: str = ""
    office: str = ""
    status: str = ""
    filing_from: str = ""
    filing_to: str = ""

    def filters(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v}


def validate_trademark_query(
    text: str,
    owner: str,
    classes: Sequence[int],
    group: str,
    office: str,
    status: str,
    filing: tuple[str, str],
    *,
    max_length: int = 200,
) -> TrademarkQuery:
    v = Violations()
    text, owner = " ".join(text.split()), " ".join(owner.split())
    v.check(len(text) <= max_length, "query", f"at most {max_length} characters")
    v.check(len(owner) <= max_length, "owner", f"at most {max_length} characters")
    for i, c in enumerate(classes):
        v.check(nice.is_valid_class(c), f"nice_classes[{i}]", f"{c} is not a Nice class (1-45)")
    group = group.strip()
    v.check(
        not group or nice.is_valid_group(group),
        "similar_group",
        f"{group!r} is not a CNIPA similar group",
    )
    office = office.strip().upper()
    v.check(not office or office in OFFICES, "office", f"unknown office {office!r}")
    low, high = _range(v, "filing_date", filing)
    v.raise_if_any()
    return TrademarkQuery(
        text, owner, tuple(sorted(set(classes))), group, office, " ".join(status.split()), low, high
    )


# -- geographical indications and IC layout designs ---------------------------------------


class GiRepository(RecordRepository, Protocol):
    def get(self, record_id: str) -> GeographicalIndication | None: ...


class IcLayoutRepository(RecordRepository, Protocol):
    def get(self, record_id: str) -> IcLayout | None: ...


def get_gi(repo: GiRepository, gi_id: str) -> GeographicalIndication:
    v = Violations()
    key = normalise_record_id(gi_id, "gi_id", v, "AGI00001")
    v.raise_if_any()
    found = repo.get(key)
    if found is None:
        raise RecordNotFound("geographical indication", gi_id)
    return found


def get_ic_layout(repo: IcLayoutRepository, number: str) -> IcLayout:
    v = Violations()
    key = normalise_record_id(number, "registration_number", v, "BS.245500012")
    v.raise_if_any()
    found = repo.get(key)
    if found is None:
        raise RecordNotFound("IC layout design", number)
    return found


@dataclass(frozen=True)
class GiQuery:
    """Text in name or product; region: the division and everything under it."""

    text: str = ""
    region_code: str = ""

    def filters(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}


@dataclass(frozen=True)
class IcLayoutQuery:
    text: str = ""
    owner: str = ""

    def filters(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}


def validate_gi_query(text: str, region_code: str, *, max_length: int = 200) -> GiQuery:
    v = Violations()
    text = " ".join(text.split())
    v.check(len(text) <= max_length, "query", f"at most {max_length} characters")
    region = ""
    if region_code.strip():
        division = divisions.get(region_code.strip())
        if division is None:
            v.add("region_code", f"{region_code!r} is not a GB/T 2260 division code")
        else:
            region = division.code
    v.raise_if_any()
    return GiQuery(text, region)


def validate_ic_layout_query(text: str, owner: str, *, max_length: int = 200) -> IcLayoutQuery:
    v = Violations()
    text = " ".join(text.split())
    owner = " ".join(owner.split())
    v.check(len(text) <= max_length, "query", f"at most {max_length} characters")
    v.check(len(owner) <= max_length, "owner", f"at most {max_length} characters")
    v.raise_if_any()
    return IcLayoutQuery(text, owner)
