"""Normalisation of what offices write: patent numbers, dates, IPC symbols (pure functions).

Numbers
-------
Canonical application and publication numbers are the office code followed by the number
without check digit, kind code, separators or zero padding where an office adds it:

* CN applications carry a check digit (ISO 7064-like, weights 2..9,2..5, mod 11, ``X`` =
  10): ``CN202121635235.X``, ``202121635235.X``, ``ZL202121635235.X`` and
  ``202121635235X`` are all ``CN202121635235``; a wrong check digit is an error.
  Old 8-digit numbers (``CN98123456.6``) work the same way.
* Publication numbers: ``CN218751475U``, ``US 7,272,630 B2``, ``US07272630B2``,
  ``EP.3082535.A1`` (DocDB), ``EP 3 082 535 A1``, ``WO 2014/059282 A2`` → office + digits and
  the kind code apart (``US7272630`` + ``B2``).
* US application numbers ``10/123,456`` → ``US10123456``; PCT ``PCT/CN2014/000123`` →
  ``WOCN2014000123``.

Dates
-----
``iso_date`` accepts ``20150304``, ``2015-03-04``, ``2015-03-04T00:00:00Z``,
``2015-03-04T00:00:00``, ``2015/3/4 0:00:00``, ``2015/3/4``, ``2015.03.04`` and the integer
``20150304``; ``0``, ``""``, ``null`` mean missing and give ``""``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from puhui.refdata import ipc

CN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
OFFICE_RE = re.compile(r"^[A-Z]{2}$")
_SEPARATORS = re.compile(r"[\s,_\-]+")
_CN_APP_RE = re.compile(r"^(?P<digits>\d{12}|\d{8})(?:\.?(?P<check>[0-9X]))?$")
_PUB_RE = re.compile(r"^(?P<office>[A-Z]{2})?0*(?P<digits>\d{4,12})(?P<kind>[A-Z]\d?)?$")
_PCT_RE = re.compile(r"^PCT/?(?P<cc>[A-Z]{2})(?P<year>\d{2}|\d{4})/?(?P<serial>\d{5,6})$")
_US_APP_RE = re.compile(r"^(?:US)?(?P<series>\d{2})/?(?P<serial>\d{6})$")
_GENERIC_APP_RE = re.compile(
    r"^(?P<office>[A-Z]{2})(?P<body>[0-9A-Z]{4,16})(?:\.(?P<check>[0-9X]))?$"
)
CN_KINDS = frozenset({"A", "B", "C", "U", "Y", "S", "B1", "B2", "C1", "C2", "U1", "U2"})


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().upper()


@dataclass(frozen=True)
class PatentNumber:
    office: str
    number: str
    kind: str = ""

    @property
    def canonical(self) -> str:
        return f"{self.office}{self.number}"


def cn_check_digit(digits: str) -> str:
    """Check digit of a CN application number (8 or 12 digits without the check digit)."""
    if not digits.isdigit() or len(digits) not in (8, 12):
        raise ValueError(f"CN application numbers have 8 or 12 digits, not {digits!r}")
    remainder = sum(int(d) * w for d, w in zip(digits, CN_WEIGHTS, strict=False)) % 11
    return "X" if remainder == 10 else str(remainder)


def application_number(text: str, office: str = "") -> PatentNumber:
    """Canonical application number; raises ValueError naming what is wrong."""
    raw = _clean(text)
    if not raw:
        raise ValueError("is empty")
    compact = _SEPARATORS.sub("", raw)
    if compact.startswith("ZL"):  # granted CN patents are written ZL<application number>
        compact = compact[2:]
    pct = _PCT_RE.match(compact)
    if pct:
        year = pct["year"] if len(pct["year"]) == 4 else "20" + pct["year"]
        return PatentNumber("WO", f"{pct['cc']}{year}{pct['serial'].zfill(6)}")
    hinted = _clean(office)
    if compact[:2].isalpha():
        hinted, compact = compact[:2], compact[2:]
    if hinted in ("", "CN"):
        match = _CN_APP_RE.match(compact)
        if match:
            digits, check = match["digits"], match["check"]
            if check is not None and check != cn_check_digit(digits):
                raise ValueError(
                    f"check digit {check} does not match (expected {cn_check_digit(digits)})"
                )
            return PatentNumber("CN", digits)
        if hinted == "CN":
            raise ValueError("not a CN application number (12 or 8 digits and a check digit)")
    if hinted == "US" or not hinted:
        match = _US_APP_RE.match(compact.replace(",", ""))
        if match:
            return PatentNumber("US", match["series"] + match["serial"])
        raise ValueError("not an application number of a known form")
    generic = _GENERIC_APP_RE.match(hinted + compact)
    if generic is None or not OFFICE_RE.match(hinted):
        raise ValueError("not an application number of a known form")
    return PatentNumber(hinted, generic["body"])


def publication_number(text: str, office: str = "") -> PatentNumber:
    """Canonical publication (or grant) number and its kind code; raises ValueError."""
    raw = _clean(text)
    if not raw:
        raise ValueError("is empty")
    compact = re.sub(r"[\s,./_\-]+", "", raw)
    match = _PUB_RE.match(compact)
    if match is None:
        raise ValueError("not a publication number of a known form")
    found = match["office"] or _clean(office)
    digits, kind = match["digits"], match["kind"] or ""
    if not found:
        if len(digits) == 9 and (kind in CN_KINDS or not kind):
            found = "CN"
        elif len(digits) in (6, 7, 8):
            found = "US"
        else:
            raise ValueError("say which office published it (e.g. CN, US, EP, WO)")
    if found == "EP":
        digits = digits.zfill(7)
    return PatentNumber(found, digits, kind)


def lookup_keys(text: str) -> list[str]:
    """Keys under which a number written in any common form may be stored.

    ``app:CN202121635235`` for applications, ``pub:US7272630`` for publications/grants.
    Raises ValueError if the text is no number at all.
    """
    keys: list[str] = []
    errors: list[str] = []
    for kind, parse in (("app", application_number), ("pub", publication_number)):
        try:
            keys.append(f"{kind}:{parse(text).canonical}")
        except ValueError as exc:
            errors.append(str(exc))
    if not keys:
        raise ValueError(errors[0])
    return keys


# -- dates ---------------------------------------------------------------------------------

_MISSING = {"", "0", "NULL", "NONE", "NAN", "00000000"}
_DATE_RES = (
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"),
    re.compile(
        r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
        r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
    ),
)


def iso_date(value: object) -> str:
    """``YYYY-MM-DD`` for any date form the sources write; ``""`` when missing."""
    if value is None:
        return ""
    text = _clean(str(value))
    if text in _MISSING:
        return ""
    for pattern in _DATE_RES:
        match = pattern.match(text)
        if match:
            try:
                parsed = date(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                raise ValueError(f"{value!r} is not a calendar date") from None
            if not 1800 <= parsed.year <= 2200:
                raise ValueError(f"{value!r} is out of range")
            return parsed.isoformat()
    raise ValueError(f"{value!r} is not a date in a known form")


# -- IPC -----------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def ipc_code(symbol: str) -> str:
    """The canonical IPC symbol, validated against the IPC scheme in puhui.refdata.

    The symbol must be well formed and its class must exist. Subclasses and groups created
    by an edition newer than the shipped scheme (e.g. ``B64U`` of 2023) are accepted once
    their class exists, because real records are classified with the edition of their day.
    """
    canonical = ipc.normalise(symbol)
    if ipc.is_valid(canonical):
        return canonical
    if not ipc.is_valid(canonical[:3]):
        raise ValueError(f"{symbol!r}: IPC class {canonical[:3]} does not exist")
    return canonical


def is_known_ipc(symbol: str) -> bool:
    """True if the symbol (or its subclass) is in the shipped edition of the scheme."""
    return ipc.is_valid(symbol) or ipc.is_valid(symbol[:4])
