from puhui.data.v1 import data_pb2 as _data_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PatentChanged(_message.Message):
    __slots__ = ("change", "patent", "sequence", "previous_hash")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    PATENT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASH_FIELD_NUMBER: _ClassVar[int]
    change: str
    patent: _data_pb2.Patent
    sequence: int
    previous_hash: str
    def __init__(self, change: _Optional[str] = ..., patent: _Optional[_Union[_data_pb2.Patent, _Mapping]] = ..., sequence: _Optional[int] = ..., previous_hash: _Optional[str] = ...) -> None: ...

class TrademarkChanged(_message.Message):
    __slots__ = ("change", "trademark", "sequence", "previous_hash")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    TRADEMARK_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASH_FIELD_NUMBER: _ClassVar[int]
    change: str
    trademark: _data_pb2.Trademark
    sequence: int
    previous_hash: str
    def __init__(self, change: _Optional[str] = ..., trademark: _Optional[_Union[_data_pb2.Trademark, _Mapping]] = ..., sequence: _Optional[int] = ..., previous_hash: _Optional[str] = ...) -> None: ...

class GeographicalIndicationChanged(_message.Message):
    __slots__ = ("change", "indication", "sequence", "previous_hash")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    INDICATION_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASH_FIELD_NUMBER: _ClassVar[int]
    change: str
    indication: _data_pb2.GeographicalIndication
    sequence: int
    previous_hash: str
    def __init__(self, change: _Optional[str] = ..., indication: _Optional[_Union[_data_pb2.GeographicalIndication, _Mapping]] = ..., sequence: _Optional[int] = ..., previous_hash: _Optional[str] = ...) -> None: ...

class IcLayoutChanged(_message.Message):
    __slots__ = ("change", "layout", "sequence", "previous_hash")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASH_FIELD_NUMBER: _ClassVar[int]
    change: str
    layout: _data_pb2.IcLayout
    sequence: int
    previous_hash: str
    def __init__(self, change: _Optional[str] = ..., layout: _Optional[_Union[_data_pb2.IcLayout, _Mapping]] = ..., sequence: _Optional[int] = ..., previous_hash: _Optional[str] = ...) -> None: ...
