"""Requests whose text holds NUL (U+0000) are the caller's mistake, for every service at once.

PostgreSQL text cannot hold NUL: such a value reached a query as a database error and the
caller got INTERNAL (the gateway's API fuzz found it in three services). The interceptor
checks every string of a request, nested messages, lists and maps included, before the
servicer runs, and answers INVALID_ARGUMENT with one field violation per such string.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from puhui.kit.errors import FieldViolation, InvalidArgument

NUL = "\x00"
DESCRIPTION = "must not contain NUL (U+0000)"


def _scalar(field: FieldDescriptor, path: str, value: Any, out: list[FieldViolation]) -> None:
    if field.type == FieldDescriptor.TYPE_STRING:
        if NUL in value:
            out.append(FieldViolation(path, DESCRIPTION))
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        violations(value, f"{path}.", out)


def violations(
    message: Any, prefix: str = "", out: list[FieldViolation] | None = None
) -> list[FieldViolation]:
    """Every string field of `message` (recursively) that contains NUL, by request path."""
    found: list[FieldViolation] = [] if out is None else out
    for field, value in message.ListFields():
        path = f"{prefix}{field.name}"
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            for key, item in value.items():
                if isinstance(key, str) and NUL in key:
                    found.append(FieldViolation(path, f"keys {DESCRIPTION}"))
                _scalar(value_field, f"{path}[{key!r}]", item, found)
        elif field.is_repeated:
            for i, item in enumerate(value):
                _scalar(field, f"{path}[{i}]", item, found)
        else:
            _scalar(field, path, value, found)
    return found


def reject_nul(request: Any) -> None:
    """Raise InvalidArgument naming every string of `request` that contains NUL (a request
    that is no message, e.g. raw bytes of a generic handler, is left alone)."""
    if not isinstance(request, Message):
        return
    found = violations(request)
    if found:
        raise InvalidArgument(found)
