"""Page tokens (AIP-158): opaque to clients, bound to the filters they were issued for.

A token is base64url(cursor bytes + tag), the tag the first 16 bytes of HMAC-SHA256 over
the cursor bytes under the process's page token key (PUHUI_PAGE_TOKEN_KEY, given once at
start through `configure`; random per process when empty or never given, so replicas of
one service must share it). A token whose tag does not verify is refused before its cursor
is parsed, so a forged sort key never reaches a service's int() or fromisoformat()."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from google.protobuf.message import DecodeError

from puhui.common.v1 import common_pb2
from puhui.kit import validation
from puhui.kit.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
CURSOR_VERSION = 1
TAG_BYTES = 16
NOT_ISSUED = "is not a page token issued by this API"

T = TypeVar("T")

_key: bytes | None = None
_process_key: bytes | None = None
_key_lock = threading.Lock()


def _random_key() -> bytes:
    """This process's random key, made once (hosts started in one process, as in tests,
    keep each other's tokens valid)."""
    global _process_key
    with _key_lock:
        if _process_key is None:
            _process_key = secrets.token_bytes(32)
        return _process_key


def configure(key: bytes | str) -> None:
    """Set the key page tokens are signed with (once, at start); empty = the process's
    random key."""
    global _key
    raw = key.encode() if isinstance(key, str) else key
    _key = raw or _random_key()


def _signing_key() -> bytes:
    return _key if _key is not None else _random_key()


def _tag(cursor: bytes) -> bytes:
    return hmac.new(_signing_key(), cursor, hashlib.sha256).digest()[:TAG_BYTES]


def _verified_cursor(raw: bytes) -> bytes | None:
    """The cursor bytes of a signed token, or None when its tag does not verify."""
    cursor, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if len(raw) <= TAG_BYTES or not hmac.compare_digest(tag, _tag(cursor)):
        return None
    return cursor


def filter_hash(filters: Mapping[str, Any]) -> str:
    canonical = json.dumps(filters, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Page:
    size: int
    after: str  # sort key of the last item of the previous page; "" for the first page
    filters_hash: str

    def next_token(self, last_sort_key: str) -> str:
        cursor = common_pb2.PageCursor(
            after=last_sort_key, filter_hash=self.filters_hash, version=CURSOR_VERSION
        )
        raw = cursor.SerializeToString()
        return base64.urlsafe_b64encode(raw + _tag(raw)).decode().rstrip("=")

    def token_after(self, items: Sequence[T], sort_key: Callable[[T], str]) -> str:
        """The next page's token after `items` (this page's results), or "" when this is
        the last page: a page shorter than `size` is the last one."""
        if len(items) < self.size or not items:
            return ""
        return self.next_token(sort_key(items[-1]))


def page_request(
    page_size: int,
    page_token: str,
    filters: Mapping[str, Any],
    *,
    default: int = DEFAULT_PAGE_SIZE,
    maximum: int = MAX_PAGE_SIZE,
    size_field: str = "page_size",
    token_field: str = "page_token",  # noqa: S107 (a field name, not a secret)
    numeric: bool = False,
) -> Page:
    """Validate page size and token; raise InvalidArgument naming the field.

    A token whose tag does not verify is refused before its cursor is parsed. A verified
    cursor is still checked like request text (defence in depth, should the key leak):
    each NUL-separated part of its sort key storable (no control characters), and with
    `numeric` the key a non-negative int64."""
    if page_size < 0:
        raise InvalidArgument.field(size_field, "must not be negative")
    size = min(page_size or default, maximum)
    digest = filter_hash(filters)
    if not page_token:
        return Page(size=size, after="", filters_hash=digest)
    try:
        signed = _verified_cursor(
            base64.urlsafe_b64decode(page_token + "=" * (-len(page_token) % 4))
        )
        cursor = None if signed is None else common_pb2.PageCursor.FromString(signed)
    except (ValueError, DecodeError):
        cursor = None
    if cursor is None:
        raise InvalidArgument.field(token_field, NOT_ISSUED)
    if (
        cursor.version != CURSOR_VERSION
        or not cursor.after
        or any(validation.text_problem(part) for part in cursor.after.split("\x00"))
        or (numeric and validation.int64_text(cursor.after) is None)
    ):
        raise InvalidArgument.field(token_field, NOT_ISSUED)
    if cursor.filter_hash != digest:
        raise InvalidArgument.field(
            token_field, "was issued for different filters; repeat the first request"
        )
    return Page(size=size, after=cursor.after, filters_hash=digest)
