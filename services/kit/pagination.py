"""Page tokens (AIP-158): opaque to clients, bound to the filters they were issued for."""

from __future__ import annotations

import base64
import hashlib
import json
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

T = TypeVar("T")


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
        return base64.urlsafe_b64encode(cursor.SerializeToString()).decode().rstrip("=")

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

    Tokens are not signed, so a decoded cursor is checked like request text: each
    NUL-separated part of its sort key storable (no control characters), and with
    `numeric` the key a non-negative int64 (a forged key once reached SQL or int())."""
    if page_size < 0:
        raise InvalidArgument.field(size_field, "must not be negative")
    size = min(page_size or default, maximum)
    digest = filter_hash(filters)
    if not page_token:
        return Page(size=size, after="", filters_hash=digest)
    try:
        raw = base64.urlsafe_b64decode(page_token + "=" * (-len(page_token) % 4))
        cursor = common_pb2.PageCursor.FromString(raw)
    except (ValueError, DecodeError):
        raise InvalidArgument.field(token_field, "is not a page token issued by this API") from None
    if (
        cursor.version != CURSOR_VERSION
        or not cursor.after
        or any(validation.text_problem(part) for part in cursor.after.split("\x00"))
        or (numeric and validation.int64_text(cursor.after) is None)
    ):
        raise InvalidArgument.field(token_field, "is not a page token issued by this API")
    if cursor.filter_hash != digest:
        raise InvalidArgument.field(
            token_field, "was issued for different filters; repeat the first request"
        )
    return Page(size=size, after=cursor.after, filters_hash=digest)
