"""One validation layer for every request, driven by the message descriptors.

The server interceptor runs `check_request` on every decoded request before the handler:
it walks the message recursively and refuses, with a field path per violation
(`ratings[3].rated_at`, `labels["k"]`), what no handler could store or compute with:

- strings with NUL or another C0 control character (tab, CR and LF are text), or longer
  than `MAX_STRING_CHARS`; bytes longer than `MAX_BYTES`;
- a google.protobuf.Timestamp outside 0001-01-01..9999-12-31 or with nanos outside
  [0, 1e9); a google.protobuf.Duration outside the protobuf range;
- a uint64 / fixed64 value beyond int64 (what PostgreSQL and SQLite store);
- an enum value the schema does not define (proto3 keeps unknown numbers);
- a repeated or map field with more than `MAX_REPEATED` entries.

Range problems raise `OutOfRange` (reason FIELD_OUT_OF_RANGE); anything else among them
makes it `InvalidArgument` (FIELD_INVALID). Services keep their own business rules
(lengths of names, required fields); this layer only guarantees the types are sane.
Text that reaches SQL from elsewhere than a request field (a page token's cursor) is
checked with `check_text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from puhui.kit.errors import FieldViolation, InvalidArgument, OutOfRange
from puhui.kit.times import timestamp_in_range

MAX_STRING_CHARS = 65_536
MAX_BYTES = 1 << 20
MAX_REPEATED = 1_000
INT64_MAX = (1 << 63) - 1
DURATION_MAX_SECONDS = 315_576_000_000
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# How each field is checked (a small int: compared on every set field of every request).
_STRING, _BYTES, _UINT64, _ENUM, _TIMESTAMP, _DURATION, _MESSAGE, _MAP = range(8)
_WELL_KNOWN = {"google.protobuf.Timestamp": _TIMESTAMP, "google.protobuf.Duration": _DURATION}
_UNSIGNED_64 = (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64)


@dataclass(frozen=True)
class _Field:
    name: str
    kind: int
    repeated: bool
    enum_values: frozenset[int] = frozenset()
    value_kind: int = -1  # a map's value: checked like a field of that kind
    value_enum: frozenset[int] = frozenset()


# Built once per message type (keyed by its descriptor: no name lookups per request).
_plans: dict[Any, dict[int, _Field | None]] = {}


def _kind(field: FieldDescriptor) -> int:
    if field.type == FieldDescriptor.TYPE_STRING:
        return _STRING
    if field.type == FieldDescriptor.TYPE_BYTES:
        return _BYTES
    if field.type in _UNSIGNED_64:
        return _UINT64
    if field.type == FieldDescriptor.TYPE_ENUM:
        return _ENUM
    message_type = field.message_type
    if field.type == FieldDescriptor.TYPE_MESSAGE and message_type is not None:
        name = message_type.full_name
        if name == "google.protobuf.Timestamp":
            return _TIMESTAMP
        if name == "google.protobuf.Duration":
            return _DURATION
        if message_type.GetOptions().map_entry:
            return _MAP
        return _MESSAGE
    return -1  # bool, signed and 32-bit integers, floats: every value is storable


def _enum_values(enum: EnumDescriptor | None) -> frozenset[int]:
    return frozenset(v.number for v in enum.values) if enum is not None else frozenset()


def _plan(descriptor: Descriptor) -> dict[int, _Field | None]:
    plan = _plans.get(descriptor)
    if plan is not None:
        return plan
    plan = {}
    for field in descriptor.fields:
        kind = _kind(field)
        if kind < 0:
            plan[field.number] = None
            continue
        spec = _Field(
            field.name,
            kind,
            field.is_repeated,
            _enum_values(field.enum_type),
        )
        if kind == _MAP:
            value = field.message_type.fields_by_name["value"]  # type: ignore[union-attr]
            spec = _Field(
                field.name,
                kind,
                True,
                value_kind=_kind(value),
                value_enum=_enum_values(value.enum_type),
            )
        plan[field.number] = spec
    _plans[descriptor] = plan
    return plan


class _Collector:
    __slots__ = ("invalid", "items")

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []
        self.invalid = False  # a violation other than a range

    def add(self, path: str, description: str, *, out_of_range: bool = False) -> None:
        self.items.append(FieldViolation(path, description))
        if not out_of_range:
            self.invalid = True


def text_problem(value: str, max_chars: int = MAX_STRING_CHARS) -> str | None:
    """Why `value` cannot be stored as text (None when it can)."""
    if len(value) > max_chars:
        return f"at most {max_chars} characters"
    if _CONTROL.search(value) is not None:
        return "must not contain NUL or other control characters (tab, CR and LF are allowed)"
    return None


def check_text(value: str, field_path: str) -> None:
    """Raise InvalidArgument when text from outside the request's fields is not storable."""
    problem = text_problem(value)
    if problem is not None:
        raise InvalidArgument.field(field_path, problem)


def int64_text(value: str) -> int | None:
    """`value` as a non-negative int64 when it is ASCII digits within range, else None
    (`str.isdigit` accepts '²' and any length: int() then fails, or SQL overflows)."""
    if not value or len(value) > 19 or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if number <= INT64_MAX else None


def _check_value(
    kind: int, value: Any, path: str, enum_values: frozenset[int], out: _Collector
) -> None:
    if kind == _STRING:
        problem = text_problem(value)
        if problem is not None:
            out.add(path, problem, out_of_range=problem.startswith("at most"))
    elif kind == _BYTES:
        if len(value) > MAX_BYTES:
            out.add(path, f"at most {MAX_BYTES} bytes", out_of_range=True)
    elif kind == _UINT64:
        if value > INT64_MAX:
            out.add(path, f"at most {INT64_MAX}", out_of_range=True)
    elif kind == _ENUM:
        if value not in enum_values:
            out.add(path, f"{value} is not a defined value of this enum")
    elif kind == _TIMESTAMP:
        if not timestamp_in_range(value.seconds, value.nanos):
            out.add(
                path,
                "must be a time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z"
                " (nanos 0..999,999,999)",
                out_of_range=True,
            )
    elif kind == _DURATION:
        seconds, nanos = value.seconds, value.nanos
        if (
            abs(seconds) > DURATION_MAX_SECONDS
            or abs(nanos) >= 10**9
            or (seconds > 0 > nanos)
            or (seconds < 0 < nanos)
        ):
            out.add(path, "is not a valid duration", out_of_range=True)
    elif kind == _MESSAGE:
        _walk(value, f"{path}.", out)


def _walk(message: Message, prefix: str, out: _Collector) -> None:
    plan = _plan(message.DESCRIPTOR)  # type: ignore[arg-type]
    for descriptor, value in message.ListFields():
        spec = plan.get(descriptor.number)
        if spec is None:
            continue
        path = prefix + spec.name
        if not spec.repeated:
            _check_value(spec.kind, value, path, spec.enum_values, out)
            continue
        if len(value) > MAX_REPEATED:
            out.add(path, f"at most {MAX_REPEATED} entries", out_of_range=True)
            continue
        if spec.kind == _MAP:
            for key, item in value.items():
                key_path = f"{path}[{key}]"
                if isinstance(key, str):
                    problem = text_problem(key, 256)
                    if problem is not None:
                        out.add(f"{path} key", problem)
                        continue
                    key_path = f'{path}["{key}"]'
                if spec.value_kind >= 0:
                    _check_value(spec.value_kind, item, key_path, spec.value_enum, out)
            continue
        for index, item in enumerate(value):
            _check_value(spec.kind, item, f"{path}[{index}]", spec.enum_values, out)


def violations_of(message: Message) -> tuple[list[FieldViolation], bool]:
    """Every violation in `message` and whether all of them are range problems."""
    out = _Collector()
    kind = _WELL_KNOWN.get(message.DESCRIPTOR.full_name)
    if kind is not None:  # a Timestamp or Duration on its own
        _check_value(kind, message, "", frozenset(), out)
    else:
        _walk(message, "", out)
    return out.items, not out.invalid


def check_request(message: Message) -> None:
    """Raise OutOfRange / InvalidArgument listing every unusable field of `message`."""
    items, only_ranges = violations_of(message)
    if not items:
        return
    if only_ranges:
        raise OutOfRange(items)
    raise InvalidArgument(items)
