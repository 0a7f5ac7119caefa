"""The read side: search and export queries (their shape and validation) and the read model
that answers them (`ReadModel`, a port: `adapters.reads` implements it). Pure: no proto, no
SQL. `domain` re-exports the queries' public names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from puhui.data.records import GeographicalIndication, IcLayout, Trademark, _date
from puhui.kit.errors import Violations
from puhui.refdata import divisions, nice, offices

if TYPE_CHECKING:
    from puhui.data.domain import Change

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
        division = divisions.resolve(region_code.strip(), statistical_codes=True)
        if division is None:
            v.add(f"{prefix}region_code", divisions.explain(region_code))
        else:
            region = division.code
    f_from, f_to = _range(v, f"{prefix}filing_date", filing)
    p_from, p_to = _range(v, f"{prefix}publication_date", published)
    office = office.strip().upper()
    known = not office or offices.is_office(office)
    v.check(known, f"{prefix}office", f"unknown office {office!r}")
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
    v.check(not office or offices.is_office(office), "office", f"unknown office {office!r}")
    low, high = _range(v, "filing_date", filing)
    v.raise_if_any()
    return TrademarkQuery(
        text, owner, tuple(sorted(set(classes))), group, office, " ".join(status.split()), low, high
    )


# -- geographical indications and IC layout designs ---------------------------------------


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
            v.add("region_code", divisions.explain(region_code))
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


# -- the read model --------------------------------------------------------------------------

# A patent as a Patent message's fields, by the message's field names ("record_id" among
# them): the search's and export's hot loop builds these straight from the database's rows,
# with no record object in between (see `adapters.search.patent_fields`).
PatentFields = dict[str, Any]
# Facet name → (value, count), largest first.
Facets = dict[str, list[tuple[str, int]]]
T = TypeVar("T")


@dataclass(frozen=True)
class PatentPage:
    """A page of a patent search: `total` is exact when facets were asked or when at most
    the exact-count limit match; the limit + 1 means "more"."""

    patents: list[PatentFields]
    facets: Facets
    total: int


@dataclass(frozen=True)
class RecordPage(Generic[T]):
    """A page of records in record id order, and how many match in all."""

    items: list[T]
    total: int


@dataclass(frozen=True)
class DataSetStatus:
    """A data set as stored: record count, order-independent content hash, position in the
    change feed (on a mirror, the hub's) and the time of the last change."""

    data_set: str
    record_count: int
    content_hash: str
    position: int
    updated_at: datetime | None


class ReadModel(Protocol):
    """What the service's read RPCs ask. Reads only: the implementation chooses where each
    runs (search connections, walk connections) and stops searches at their time limit
    (`errors.SearchTimedOut`)."""

    def search_patents(
        self, q: PatentQuery, facets: Sequence[str], after: str, size: int
    ) -> PatentPage:
        """Up to `size` matches after record id `after`, the named facets and the total."""

    def export_patents(self, q: PatentQuery, after: str, size: int) -> list[PatentFields]:
        """The next `size` matches after record id `after` (one export chunk)."""

    def search_trademarks(
        self, q: TrademarkQuery, after: str, size: int
    ) -> RecordPage[Trademark]: ...

    def search_gis(
        self, q: GiQuery, after: str, size: int
    ) -> RecordPage[GeographicalIndication]: ...

    def search_ic_layouts(
        self, q: IcLayoutQuery, after: str, size: int
    ) -> RecordPage[IcLayout]: ...

    def list_changes(self, data_set: str, after: int, size: int) -> list[Change]:
        """Changes after sequence `after` in order, of one data set ("": of all)."""

    def data_set_status(self) -> list[DataSetStatus]:
        """Every data set's status, computed from its records."""
