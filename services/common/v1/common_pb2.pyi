import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    FIELD_INVALID: _ClassVar[ErrorReason]
    NOT_FOUND: _ClassVar[ErrorReason]
    ALREADY_EXISTS: _ClassVar[ErrorReason]
    UNAUTHENTICATED: _ClassVar[ErrorReason]
    PERMISSION_DENIED: _ClassVar[ErrorReason]
    FAILED_PRECONDITION: _ClassVar[ErrorReason]
    QUOTA_EXHAUSTED: _ClassVar[ErrorReason]
    DEPENDENCY_UNAVAILABLE: _ClassVar[ErrorReason]
ERROR_REASON_UNSPECIFIED: ErrorReason
FIELD_INVALID: ErrorReason
NOT_FOUND: ErrorReason
ALREADY_EXISTS: ErrorReason
UNAUTHENTICATED: ErrorReason
PERMISSION_DENIED: ErrorReason
FAILED_PRECONDITION: ErrorReason
QUOTA_EXHAUSTED: ErrorReason
DEPENDENCY_UNAVAILABLE: ErrorReason

class PageCursor(_message.Message):
    __slots__ = ("after", "filter_hash", "version")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    FILTER_HASH_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    after: str
    filter_hash: str
    version: int
    def __init__(self, after: _Optional[str] = ..., filter_hash: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class DateRange(_message.Message):
    __slots__ = ("to",)
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    to: str
    def __init__(self, to: _Optional[str] = ..., **kwargs) -> None: ...

class ActorStamp(_message.Message):
    __slots__ = ("actor", "time")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    actor: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, actor: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
