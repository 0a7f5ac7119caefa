"""Federation rules as pure functions: what a valid join is, what a node's key set must
hold, how national figures are computed. No SQL, no proto, no Kafka here."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from puhui.kit.config import HUB_NODE_ID
from puhui.kit.errors import Violations
from puhui.kit.tokens import parse_jwks
from puhui.refdata import divisions

SERVICES = ("identity", "catalog", "data", "feedback", "federation")
ADDRESS_RE = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")
STATUS_ACTIVE = "active"
STATUS_REMOVED = "removed"
MAX_KEYS = 10


@dataclass(frozen=True)
class JoinRequest:
    node_id: str
    name: str
    endpoints: Sequence[tuple[str, str]]
    jwks_json: str
    join_code: str = ""


@dataclass(frozen=True)
class ValidJoin:
    node_id: str
    name: str
    endpoints: tuple[tuple[str, str], ...]
    jwks: dict[str, Any]


def province_name(node_id: str) -> str | None:
    """Name of the province with this GB/T 2260 code, or None if it is not a province."""
    if node_id == HUB_NODE_ID:
        return "国家知识产权公共服务网络枢纽"
    division = divisions.get(node_id) if re.fullmatch(r"\d{6}", node_id or "") else None
    if division is None or division.level != "province" or division.code != node_id:
        return None
    return division.name


def check_node_id(node_id: str, v: Violations, path: str = "node_id") -> None:
    if not v.require(node_id, path):
        return
    if node_id == HUB_NODE_ID:
        v.add(path, "000000 is the hub itself, not a joining node")
    elif not re.fullmatch(r"\d{6}", node_id):
        v.add(path, "a node id is a 6-digit GB/T 2260 province code, e.g. 440000")
    elif province_name(node_id) is None:
        v.add(path, f"{node_id} is not a GB/T 2260 province-level code")


def check_jwks(jwks_json: str, v: Violations, path: str = "jwks_json") -> dict[str, Any] | None:
    """The node's public key set: valid JSON, 1..10 usable public signing keys, no private
    material, unique kids."""
    if not v.require(jwks_json, path):
        return None
    try:
        data = json.loads(jwks_json)
    except ValueError:
        v.add(path, "not valid JSON")
        return None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        v.add(path, 'a JWK Set is an object {"keys": [...]}')
        return None
    kids = [k.get("kid") for k in data["keys"] if isinstance(k, dict)]
    if len(kids) != len(set(kids)):
        v.add(path, "key ids (kid) must be unique")
        return None
    try:
        usable = parse_jwks(data)
    except ValueError as exc:  # private members
        v.add(path, str(exc))
        return None
    except (TypeError, KeyError, AttributeError):
        v.add(path, "malformed JWK")
        return None
    if not usable:
        v.add(path, "holds no usable public ES256 or EdDSA signing key")
        return None
    if len(usable) > MAX_KEYS:
        v.add(path, f"at most {MAX_KEYS} keys")
        return None
    if len(usable) != len(data["keys"]):
        v.add(path, "every key must be a usable public ES256 or EdDSA signing key")
        return None
    return {"keys": [k for k in data["keys"] if k.get("kid") in usable]}


def validate_join(request: JoinRequest) -> ValidJoin:
    """Raise InvalidArgument (with field violations) or return the normalised join."""
    v = Violations()
    check_node_id(request.node_id, v)
    name = request.name.strip()
    if len(name) > 200:
        v.add("name", "at most 200 characters")
    endpoints: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, (service, address) in enumerate(request.endpoints):
        if service not in SERVICES:
            v.add(f"endpoints[{i}].service", f"one of {', '.join(SERVICES)}")
        elif service in seen:
            v.add(f"endpoints[{i}].service", "listed twice")
        if not ADDRESS_RE.match(address or ""):
            v.add(f"endpoints[{i}].address", "host:port")
        seen.add(service)
        endpoints.append((service, address))
    jwks = check_jwks(request.jwks_json, v)
    v.raise_if_any()
    assert jwks is not None
    return ValidJoin(
        request.node_id,
        name or province_name(request.node_id) or request.node_id,
        tuple(endpoints),
        jwks,
    )


def hash_join_code(code: str) -> str:
    return hashlib.sha256(f"puhui-join:{code}".encode()).hexdigest()


def key_set_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    def kids(s: Mapping[str, Any]) -> list[tuple[str, str]]:
        return sorted((str(k.get("kid")), json.dumps(k, sort_keys=True)) for k in s.get("keys", ()))

    return kids(old) != kids(new)


def continues(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Does `new` keep at least one key of `old` (same kid and key material)?"""

    def keys(s: Mapping[str, Any]) -> set[str]:
        return {json.dumps(k, sort_keys=True) for k in s.get("keys", ())}

    return bool(keys(old) & keys(new))


# -- national figures ---------------------------------------------------------------------
def rating_score(level: int) -> int:
    """RatingLevel 1 (very satisfied) .. 5 (very dissatisfied) → score 5 .. 1 (0: none)."""
    return 6 - level if 1 <= level <= 5 else 0


@dataclass
class Figures:
    node_id: str
    approved_institutions: int = 0
    institutions: int = 0
    current_service_items: int = 0
    service_cases: int = 0
    ratings: int = 0
    score_sum: int = 0
    tickets_opened: int = 0
    tickets_closed: int = 0
    tickets_breached: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def satisfaction(self) -> float:
        """Mean score as a percentage (100 = everyone very satisfied); 0 without ratings."""
        return round(self.score_sum / self.ratings / 5 * 100, 2) if self.ratings else 0.0


COUNTED = (
    "approved_institutions",
    "institutions",
    "current_service_items",
    "service_cases",
    "ratings",
    "score_sum",
    "tickets_opened",
    "tickets_closed",
    "tickets_breached",
)


def national_total(provinces: Iterable[Figures]) -> Figures:
    """The nation: the sum of the provinces (the satisfaction index is then derived from the
    sums, so it is the rating-weighted mean of the provinces' indices)."""
    total = Figures(HUB_NODE_ID)
    for p in provinces:
        for name in COUNTED:
            setattr(total, name, getattr(total, name) + getattr(p, name))
    return total
