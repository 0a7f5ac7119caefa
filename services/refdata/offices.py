"""Two-letter codes of industrial property offices (WIPO Standard ST.3).

ST.3 uses the ISO 3166-1 alpha-2 code of each state (read from ``data/admin_divisions_gbt2260/
country.csv``), codes for the regional and international organisations, and the codes of
former states whose documents are still in the offices' collections (EPO DocDB holds DD,
SU, CS and YU documents). ``country.csv`` has no rows for 台湾, 香港 and 澳门; their codes
TW, HK and MO are added. Data is read on first use; importing does no I/O.
"""

from __future__ import annotations

from functools import cache

from ._data import read_csv

__all__ = ["FORMER", "ORGANISATIONS", "codes", "is_office"]

ORGANISATIONS = {
    "AP": "African Regional Intellectual Property Organization (ARIPO)",
    "BX": "Benelux Office for Intellectual Property (BOIP)",
    "EA": "Eurasian Patent Organization (EAPO)",
    "EM": "European Union Intellectual Property Office (EUIPO)",
    "EP": "European Patent Office (EPO)",
    "GC": "Patent Office of the Cooperation Council for the Arab States of the Gulf (GCC)",
    "IB": "International Bureau of WIPO",
    "OA": "African Intellectual Property Organization (OAPI)",
    "QZ": "Community Plant Variety Office (CPVO)",
    "WO": "World Intellectual Property Organization (PCT publications)",
    "XN": "Nordic Patent Institute (NPI)",
    "XU": "International Union for the Protection of New Varieties of Plants (UPOV)",
    "XV": "Visegrad Patent Institute (VPI)",
}
FORMER = {
    "CS": "Czechoslovakia",
    "DD": "German Democratic Republic",
    "SU": "Soviet Union",
    "YU": "Yugoslavia",
}
_ADDED = ("TW", "HK", "MO")


@cache
def codes() -> frozenset[str]:
    """Every office code: states, organisations and former states."""
    states = {row["alpha2"] for row in read_csv("admin_divisions_gbt2260/country.csv")}
    return frozenset(states | set(_ADDED) | set(ORGANISATIONS) | set(FORMER))


def is_office(code: str) -> bool:
    """True for an ST.3 office code such as ``CN``, ``CA``, ``EP``, ``WO`` or ``SU``."""
    return code in codes()
