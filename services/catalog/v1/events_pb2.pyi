from puhui.catalog.v1 import catalog_pb2 as _catalog_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InstitutionChanged(_message.Message):
    __slots__ = ("change", "institution")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_FIELD_NUMBER: _ClassVar[int]
    change: str
    institution: _catalog_pb2.Institution
    def __init__(self, change: _Optional[str] = ..., institution: _Optional[_Union[_catalog_pb2.Institution, _Mapping]] = ...) -> None: ...

class ServiceItemChanged(_message.Message):
    __slots__ = ("change", "item")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    change: str
    item: _catalog_pb2.ServiceItem
    def __init__(self, change: _Optional[str] = ..., item: _Optional[_Union[_catalog_pb2.ServiceItem, _Mapping]] = ...) -> None: ...
