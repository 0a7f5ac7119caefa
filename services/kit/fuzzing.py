"""Requests generated from message descriptors, for fuzzing every RPC of a service.

`RequestFactory(seed).message(RequestClass)` fills a request field by field from its
descriptor: every scalar type at its extremes, strings with NUL and other control
characters, CJK, astral-plane text, SQL and LIKE metacharacters and oversized text,
enums with undefined numbers, Timestamps and Durations at and beyond their ranges, nested
messages, repeated fields (sometimes past the kit's size limit), maps and oneofs.
`undecodable()` gives bytes that are not a protobuf message. Deterministic per seed.

`rpcs(file_descriptor)` enumerates every method of every service in a proto file, so a new
RPC is fuzzed without being named anywhere.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import (
    Descriptor,
    FieldDescriptor,
    FileDescriptor,
    MethodDescriptor,
)
from google.protobuf.message import Message

from puhui.kit.times import TIMESTAMP_MAX_SECONDS, TIMESTAMP_MIN_SECONDS
from puhui.kit.validation import DURATION_MAX_SECONDS, MAX_REPEATED

INT32 = (0, 1, -1, 2, 50, 500, 501, 5000, 2**31 - 1, -(2**31))
INT64 = (*INT32, 2**53, 2**63 - 1, -(2**63))
UINT32 = (0, 1, 2, 100, 2**31 - 1, 2**31, 2**32 - 1)
UINT64 = (*UINT32, 2**63 - 1, 2**63, 2**64 - 1)
INF = float("inf")
FLOATS = (0.0, -0.0, 1.0, -1.0, 0.5, 1e308, -1e308, 5e-324, INF, -INF, float("nan"))
TEXT = (
    "",
    " ",
    "a",
    "440000",
    "440100",
    "000000",
    "110000",
    "440000-000001",
    "440000:person-1",
    "person@example.cn",
    "知识产权",
    "专利检索与分析服务",
    "广东省知识产权保护中心",
    "G06F 16/30",
    "CN202410000001.X",
    "1",
    "-1",
    "99999999999999999999",
    "²³",
    "%",
    "_",
    "\\",
    "' OR '1'='1",
    "a%b_c\\d",
    "\t\r\n",
    "x\x00y",
    "\x00",
    "\x01\x1f\x7f",
    "\u200b\u202e\ufeff",
    "𠀀𪚥😀",
    "é\u0301",
    "Ａ１　全角",
    "null",
    "true",
    "{}",
    "<script>",
    "../../etc/passwd",
)
NANOS = (0, 1, 999, 1000, 999_999, 999_999_999, 10**9, -1, 2**31 - 1, -(2**31))
_CONTROL = frozenset(chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F))
CLEAN_TEXT = tuple(t for t in TEXT if not _CONTROL.intersection(t))


@dataclass(frozen=True)
class Rpc:
    """One method of one service: its gRPC path and message classes."""

    service: str  # full name, e.g. puhui.catalog.v1.CatalogService
    name: str
    request: type[Message]
    response: type[Message]
    server_streaming: bool

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.name}"


def _message_class(descriptor: Descriptor) -> type[Message]:
    return message_factory.GetMessageClass(descriptor)


def rpcs(file_descriptor: FileDescriptor) -> Iterator[Rpc]:
    """Every RPC of every service declared in `file_descriptor`."""
    for service in file_descriptor.services_by_name.values():
        method: MethodDescriptor
        for method in service.methods:
            yield Rpc(
                service.full_name,
                method.name,
                _message_class(method.input_type),  # type: ignore[arg-type]
                _message_class(method.output_type),  # type: ignore[arg-type]
                bool(method.server_streaming),
            )


class RequestFactory:
    """Random requests for any message type; `seed` makes the sequence repeatable.

    A share (`hostile`, 0.3 by default) of requests carry values the kit's validation layer
    must refuse (control characters, out-of-range times and integers, undefined enums,
    oversized fields); the others hold only values of the right shape, extremes included
    (year 1 and 9999, int64 limits, astral-plane text), so they reach the handlers."""

    def __init__(
        self,
        seed: int = 0,
        *,
        max_depth: int = 4,
        hostile: float = 0.3,
        vocabulary: tuple[str, ...] = (),
    ) -> None:
        self.rng = random.Random(seed)
        self.max_depth = max_depth
        self.hostile_share = hostile
        self.hostile = False
        # Words worth trying (the node's region codes, ids seen in answers): requests that
        # name things which exist get past NOT_FOUND into the handlers' deeper paths.
        self.known: list[str] = list(vocabulary)
        self._base = len(self.known)

    def learn(self, message: Message, depth: int = 0) -> None:
        """Remember the short strings of an answer (ids, codes) for later requests."""
        for field, value in message.ListFields():
            if field.type == FieldDescriptor.TYPE_STRING:
                values = value if field.is_repeated else (value,)
                for text in values:
                    if 0 < len(text) <= 80 and text not in self.known:
                        self._remember(text)
            elif field.type == FieldDescriptor.TYPE_MESSAGE and depth < 3:
                if field.message_type is not None and field.message_type.GetOptions().map_entry:
                    continue
                for item in value if field.is_repeated else (value,):
                    self.learn(item, depth + 1)

    def _remember(self, text: str) -> None:
        if len(self.known) - self._base < 2_000:
            self.known.append(text)
        else:  # keep the vocabulary, replace a learned word
            self.known[self.rng.randrange(self._base, len(self.known))] = text

    # -- scalars ---------------------------------------------------------------------------
    def text(self) -> str:
        rng = self.rng
        roll = rng.random()
        hostile = self.hostile
        if roll < 0.3 and self.known:
            return rng.choice(self.known)
        if roll < 0.55:
            return rng.choice(TEXT if hostile else CLEAN_TEXT)
        if roll < 0.75:  # printable and not: every code point below U+0080 and some above
            alphabet = [chr(c) for c in range(0, 0x80)] + list("中国知识产权服务评价ÀßЖ")
            if not hostile:
                alphabet = [c for c in alphabet if c not in _CONTROL]
            return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        if roll < 0.85:  # random code points from every plane (no surrogates: not UTF-8)
            points = [rng.randint(0x20, 0x10FFFF) for _ in range(rng.randint(1, 20))]
            return "".join(chr(p) for p in points if not 0xD800 <= p <= 0xDFFF and p != 0x7F)
        if roll < 0.93:
            return rng.choice(CLEAN_TEXT[6:14]) * rng.randint(20, 200)  # long but plausible
        if roll < 0.97 or not hostile:
            return "界" * rng.choice((101, 255, 256, 1001, 5001, 65_536))
        return "x" * rng.choice((65_537, 200_000))  # beyond the kit's limit

    def _int(self, field: FieldDescriptor) -> int:
        rng = self.rng
        t = field.type
        if t in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
            pool: tuple[int, ...] = UINT64 if self.hostile else UINT64[:-2]
            low, high = 0, 2**64 - 1 if self.hostile else 2**63 - 1
        elif t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
            pool, low, high = UINT32, 0, 2**32 - 1
        elif t in (
            FieldDescriptor.TYPE_INT64,
            FieldDescriptor.TYPE_SINT64,
            FieldDescriptor.TYPE_SFIXED64,
        ):
            pool, low, high = INT64, -(2**63), 2**63 - 1
        else:
            pool, low, high = INT32, -(2**31), 2**31 - 1
        if rng.random() < 0.8:
            return rng.choice(pool)
        return rng.randint(max(low, -1000), min(high, 100_000))

    def _enum(self, field: FieldDescriptor) -> int:
        numbers = [v.number for v in field.enum_type.values]  # type: ignore[union-attr]
        if self.rng.random() < 0.8 or not self.hostile:
            return self.rng.choice(numbers)
        return self.rng.choice((max(numbers) + 1, 99, -1, 2**31 - 1, -(2**31)))

    def _timestamp(self, target: Any) -> None:
        rng = self.rng
        seconds = rng.choice(
            (
                0,
                -1,
                1_765_000_000,  # late 2025
                1_796_600_000,  # late 2026
                1_900_000_000,
                TIMESTAMP_MIN_SECONDS,
                TIMESTAMP_MAX_SECONDS,
                rng.randint(TIMESTAMP_MIN_SECONDS, TIMESTAMP_MAX_SECONDS),
                *(
                    (TIMESTAMP_MIN_SECONDS - 1, TIMESTAMP_MAX_SECONDS + 1, 2**63 - 1, -(2**63))
                    if self.hostile
                    else ()
                ),
            )
        )
        target.seconds = seconds
        nanos = NANOS if self.hostile else NANOS[:6]
        target.nanos = rng.choice(nanos) if rng.random() < 0.7 else 0

    def _duration(self, target: Any) -> None:
        rng = self.rng
        target.seconds = rng.choice((0, 1, 60, 86_400, DURATION_MAX_SECONDS, 2**63 - 1))
        target.nanos = rng.choice(NANOS[:6])
        if not self.hostile:
            target.seconds = min(target.seconds, DURATION_MAX_SECONDS)
        elif rng.random() < 0.3:
            target.seconds, target.nanos = -target.seconds, rng.choice(NANOS)

    def _scalar(self, field: FieldDescriptor) -> Any:
        t = field.type
        if t == FieldDescriptor.TYPE_STRING:
            return self.text()
        if t == FieldDescriptor.TYPE_BYTES:
            return self.rng.randbytes(self.rng.choice((0, 1, 16, 300)))
        if t == FieldDescriptor.TYPE_BOOL:
            return self.rng.random() < 0.5
        if t in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
            value = self.rng.choice(FLOATS)
            if t == FieldDescriptor.TYPE_FLOAT and abs(value) > 3.4e38 and value == value:
                return float("inf") if value > 0 else float("-inf")
            return value
        if t == FieldDescriptor.TYPE_ENUM:
            return self._enum(field)
        return self._int(field)

    # -- messages --------------------------------------------------------------------------
    def message(self, cls: type[Message]) -> Message:
        self.hostile = self.rng.random() < self.hostile_share
        msg = cls()
        self._fill(msg, 0)
        return msg

    def _count(self) -> int:
        roll = self.rng.random()
        if roll < 0.5:
            return self.rng.randint(1, 3)
        if roll < 0.97 or not self.hostile:
            return self.rng.randint(4, 60)
        return MAX_REPEATED + 1

    def _fill(self, msg: Message, depth: int) -> None:
        rng = self.rng
        descriptor = msg.DESCRIPTOR
        chance = 0.7 if depth == 0 else 0.5
        for field in descriptor.fields:
            if rng.random() > chance:
                continue
            self._set(msg, field, depth)  # type: ignore[arg-type]

    def _set(self, msg: Message, field: FieldDescriptor, depth: int) -> None:
        container: Any = getattr(msg, field.name)
        kind = field.message_type.full_name if field.message_type is not None else ""
        is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
        if field.is_repeated and not is_map:
            count = self._count() if depth < self.max_depth else 1
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                if count > MAX_REPEATED:  # over the limit: cheap empty entries
                    for _ in range(count):
                        container.add()
                    return
                for _ in range(count):
                    self._message_value(container.add(), kind, depth + 1)
            elif count > MAX_REPEATED:  # over the limit: cheap values
                item = "x" if field.type == FieldDescriptor.TYPE_STRING else self._scalar(field)
                container.extend([item] * count)
            else:
                container.extend(self._scalar(field) for _ in range(count))
            return
        if is_map:
            value_field = field.message_type.fields_by_name["value"]  # type: ignore[union-attr]
            for _ in range(self.rng.randint(1, 3)):
                key = self.text()[:64]
                value_type = value_field.message_type
                if value_type is not None:
                    self._message_value(container[key], value_type.full_name, depth + 1)
                else:
                    container[key] = self._scalar(value_field)
            return
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if depth < self.max_depth:
                self._message_value(container, kind, depth + 1)
            return
        setattr(msg, field.name, self._scalar(field))

    def _message_value(self, target: Any, kind: str, depth: int) -> None:
        if kind == "google.protobuf.Timestamp":
            self._timestamp(target)
        elif kind == "google.protobuf.Duration":
            self._duration(target)
        else:
            target.SetInParent()
            self._fill(target, depth)

    # -- raw payloads ----------------------------------------------------------------------
    def undecodable(self) -> bytes:
        """Bytes no protobuf message parses (a truncated varint / length, a bad wire type,
        a string that is not UTF-8), with random bytes after them."""
        heads = (
            b"\x08\xff",  # field 1 varint, truncated
            b"\x0a\x05ab",  # field 1 length 5, two bytes present
            b"\x0f",  # wire type 7 does not exist
            b"\x0a\x02\xff\xfe",  # field 1 (a string in most requests): not UTF-8
            b"\x00",  # field number 0
        )
        head = self.rng.choice(heads)
        if self.rng.random() < 0.5:
            return head
        return head[:1] + self.rng.randbytes(self.rng.randint(1, 64)) + head
