import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from puhui.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataSet(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATA_SET_UNSPECIFIED: _ClassVar[DataSet]
    DATA_SET_PATENTS: _ClassVar[DataSet]
    DATA_SET_TRADEMARKS: _ClassVar[DataSet]
    DATA_SET_GEOGRAPHICAL_INDICATIONS: _ClassVar[DataSet]
    DATA_SET_IC_LAYOUTS: _ClassVar[DataSet]
DATA_SET_UNSPECIFIED: DataSet
DATA_SET_PATENTS: DataSet
DATA_SET_TRADEMARKS: DataSet
DATA_SET_GEOGRAPHICAL_INDICATIONS: DataSet
DATA_SET_IC_LAYOUTS: DataSet

class Party(_message.Message):
    __slots__ = ("name", "region_code", "country")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    name: str
    region_code: str
    country: str
    def __init__(self, name: _Optional[str] = ..., region_code: _Optional[str] = ..., country: _Optional[str] = ...) -> None: ...

class Patent(_message.Message):
    __slots__ = ("application_number", "publication_number", "kind", "office", "title", "abstract", "applicants", "inventors", "ipc_codes", "filing_date", "publication_date", "grant_date", "legal_status", "content_hash", "updated_at", "record_id", "inventors_withheld")
    APPLICATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PUBLICATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OFFICE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    ABSTRACT_FIELD_NUMBER: _ClassVar[int]
    APPLICANTS_FIELD_NUMBER: _ClassVar[int]
    INVENTORS_FIELD_NUMBER: _ClassVar[int]
    IPC_CODES_FIELD_NUMBER: _ClassVar[int]
    FILING_DATE_FIELD_NUMBER: _ClassVar[int]
    PUBLICATION_DATE_FIELD_NUMBER: _ClassVar[int]
    GRANT_DATE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_STATUS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    INVENTORS_WITHHELD_FIELD_NUMBER: _ClassVar[int]
    application_number: str
    publication_number: str
    kind: str
    office: str
    title: str
    abstract: str
    applicants: _containers.RepeatedCompositeFieldContainer[Party]
    inventors: _containers.RepeatedScalarFieldContainer[str]
    ipc_codes: _containers.RepeatedScalarFieldContainer[str]
    filing_date: str
    publication_date: str
    grant_date: str
    legal_status: str
    content_hash: str
    updated_at: _timestamp_pb2.Timestamp
    record_id: str
    inventors_withheld: bool
    def __init__(self, application_number: _Optional[str] = ..., publication_number: _Optional[str] = ..., kind: _Optional[str] = ..., office: _Optional[str] = ..., title: _Optional[str] = ..., abstract: _Optional[str] = ..., applicants: _Optional[_Iterable[_Union[Party, _Mapping]]] = ..., inventors: _Optional[_Iterable[str]] = ..., ipc_codes: _Optional[_Iterable[str]] = ..., filing_date: _Optional[str] = ..., publication_date: _Optional[str] = ..., grant_date: _Optional[str] = ..., legal_status: _Optional[str] = ..., content_hash: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., record_id: _Optional[str] = ..., inventors_withheld: _Optional[bool] = ...) -> None: ...

class Trademark(_message.Message):
    __slots__ = ("application_number", "registration_number", "mark_text", "nice_classes", "similar_groups", "owner", "filing_date", "registration_date", "expiry_date", "status", "office", "content_hash", "record_id")
    APPLICATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    MARK_TEXT_FIELD_NUMBER: _ClassVar[int]
    NICE_CLASSES_FIELD_NUMBER: _ClassVar[int]
    SIMILAR_GROUPS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    FILING_DATE_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_DATE_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_DATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OFFICE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    application_number: str
    registration_number: str
    mark_text: str
    nice_classes: _containers.RepeatedScalarFieldContainer[int]
    similar_groups: _containers.RepeatedScalarFieldContainer[str]
    owner: Party
    filing_date: str
    registration_date: str
    expiry_date: str
    status: str
    office: str
    content_hash: str
    record_id: str
    def __init__(self, application_number: _Optional[str] = ..., registration_number: _Optional[str] = ..., mark_text: _Optional[str] = ..., nice_classes: _Optional[_Iterable[int]] = ..., similar_groups: _Optional[_Iterable[str]] = ..., owner: _Optional[_Union[Party, _Mapping]] = ..., filing_date: _Optional[str] = ..., registration_date: _Optional[str] = ..., expiry_date: _Optional[str] = ..., status: _Optional[str] = ..., office: _Optional[str] = ..., content_hash: _Optional[str] = ..., record_id: _Optional[str] = ...) -> None: ...

class GeographicalIndication(_message.Message):
    __slots__ = ("gi_id", "name", "product", "region_code", "protection_type", "application_date", "approval_date", "content_hash", "updated_at")
    GI_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    PROTECTION_TYPE_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_DATE_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_DATE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    gi_id: str
    name: str
    product: str
    region_code: str
    protection_type: str
    application_date: str
    approval_date: str
    content_hash: str
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, gi_id: _Optional[str] = ..., name: _Optional[str] = ..., product: _Optional[str] = ..., region_code: _Optional[str] = ..., protection_type: _Optional[str] = ..., application_date: _Optional[str] = ..., approval_date: _Optional[str] = ..., content_hash: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IcLayout(_message.Message):
    __slots__ = ("registration_number", "name", "owner", "creation_date", "filing_date", "content_hash", "updated_at")
    REGISTRATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    FILING_DATE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    registration_number: str
    name: str
    owner: Party
    creation_date: str
    filing_date: str
    content_hash: str
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, registration_number: _Optional[str] = ..., name: _Optional[str] = ..., owner: _Optional[_Union[Party, _Mapping]] = ..., creation_date: _Optional[str] = ..., filing_date: _Optional[str] = ..., content_hash: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetPatentRequest(_message.Message):
    __slots__ = ("number",)
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    number: str
    def __init__(self, number: _Optional[str] = ...) -> None: ...

class SearchPatentsRequest(_message.Message):
    __slots__ = ("query", "applicant", "ipc_prefix", "region_code", "filing_date", "publication_date", "office", "legal_status", "page_size", "page_token", "facets")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    APPLICANT_FIELD_NUMBER: _ClassVar[int]
    IPC_PREFIX_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    FILING_DATE_FIELD_NUMBER: _ClassVar[int]
    PUBLICATION_DATE_FIELD_NUMBER: _ClassVar[int]
    OFFICE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FACETS_FIELD_NUMBER: _ClassVar[int]
    query: str
    applicant: str
    ipc_prefix: str
    region_code: str
    filing_date: _common_pb2.DateRange
    publication_date: _common_pb2.DateRange
    office: str
    legal_status: str
    page_size: int
    page_token: str
    facets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, query: _Optional[str] = ..., applicant: _Optional[str] = ..., ipc_prefix: _Optional[str] = ..., region_code: _Optional[str] = ..., filing_date: _Optional[_Union[_common_pb2.DateRange, _Mapping]] = ..., publication_date: _Optional[_Union[_common_pb2.DateRange, _Mapping]] = ..., office: _Optional[str] = ..., legal_status: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., facets: _Optional[_Iterable[str]] = ...) -> None: ...

class FacetCount(_message.Message):
    __slots__ = ("value", "count")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    value: str
    count: int
    def __init__(self, value: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class Facet(_message.Message):
    __slots__ = ("name", "counts")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    counts: _containers.RepeatedCompositeFieldContainer[FacetCount]
    def __init__(self, name: _Optional[str] = ..., counts: _Optional[_Iterable[_Union[FacetCount, _Mapping]]] = ...) -> None: ...

class SearchPatentsResponse(_message.Message):
    __slots__ = ("patents", "next_page_token", "total_size", "facets")
    PATENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    FACETS_FIELD_NUMBER: _ClassVar[int]
    patents: _containers.RepeatedCompositeFieldContainer[Patent]
    next_page_token: str
    total_size: int
    facets: _containers.RepeatedCompositeFieldContainer[Facet]
    def __init__(self, patents: _Optional[_Iterable[_Union[Patent, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ..., facets: _Optional[_Iterable[_Union[Facet, _Mapping]]] = ...) -> None: ...

class ExportPatentsRequest(_message.Message):
    __slots__ = ("search", "cursor", "chunk_size")
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    search: SearchPatentsRequest
    cursor: str
    chunk_size: int
    def __init__(self, search: _Optional[_Union[SearchPatentsRequest, _Mapping]] = ..., cursor: _Optional[str] = ..., chunk_size: _Optional[int] = ...) -> None: ...

class ExportPatentsChunk(_message.Message):
    __slots__ = ("patents", "cursor")
    PATENTS_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    patents: _containers.RepeatedCompositeFieldContainer[Patent]
    cursor: str
    def __init__(self, patents: _Optional[_Iterable[_Union[Patent, _Mapping]]] = ..., cursor: _Optional[str] = ...) -> None: ...

class PutPatentRequest(_message.Message):
    __slots__ = ("patent",)
    PATENT_FIELD_NUMBER: _ClassVar[int]
    patent: Patent
    def __init__(self, patent: _Optional[_Union[Patent, _Mapping]] = ...) -> None: ...

class PutPatentResponse(_message.Message):
    __slots__ = ("patent", "outcome")
    PATENT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    patent: Patent
    outcome: str
    def __init__(self, patent: _Optional[_Union[Patent, _Mapping]] = ..., outcome: _Optional[str] = ...) -> None: ...

class GetTrademarkRequest(_message.Message):
    __slots__ = ("number",)
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    number: str
    def __init__(self, number: _Optional[str] = ...) -> None: ...

class SearchTrademarksRequest(_message.Message):
    __slots__ = ("query", "owner", "nice_classes", "similar_group", "office", "status", "filing_date", "page_size", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    NICE_CLASSES_FIELD_NUMBER: _ClassVar[int]
    SIMILAR_GROUP_FIELD_NUMBER: _ClassVar[int]
    OFFICE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FILING_DATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    owner: str
    nice_classes: _containers.RepeatedScalarFieldContainer[int]
    similar_group: str
    office: str
    status: str
    filing_date: _common_pb2.DateRange
    page_size: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., owner: _Optional[str] = ..., nice_classes: _Optional[_Iterable[int]] = ..., similar_group: _Optional[str] = ..., office: _Optional[str] = ..., status: _Optional[str] = ..., filing_date: _Optional[_Union[_common_pb2.DateRange, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchTrademarksResponse(_message.Message):
    __slots__ = ("trademarks", "next_page_token", "total_size")
    TRADEMARKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    trademarks: _containers.RepeatedCompositeFieldContainer[Trademark]
    next_page_token: str
    total_size: int
    def __init__(self, trademarks: _Optional[_Iterable[_Union[Trademark, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetGeographicalIndicationRequest(_message.Message):
    __slots__ = ("gi_id",)
    GI_ID_FIELD_NUMBER: _ClassVar[int]
    gi_id: str
    def __init__(self, gi_id: _Optional[str] = ...) -> None: ...

class SearchGeographicalIndicationsRequest(_message.Message):
    __slots__ = ("query", "region_code", "page_size", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    region_code: str
    page_size: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., region_code: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchGeographicalIndicationsResponse(_message.Message):
    __slots__ = ("indications", "next_page_token", "total_size")
    INDICATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    indications: _containers.RepeatedCompositeFieldContainer[GeographicalIndication]
    next_page_token: str
    total_size: int
    def __init__(self, indications: _Optional[_Iterable[_Union[GeographicalIndication, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class PutGeographicalIndicationRequest(_message.Message):
    __slots__ = ("indication",)
    INDICATION_FIELD_NUMBER: _ClassVar[int]
    indication: GeographicalIndication
    def __init__(self, indication: _Optional[_Union[GeographicalIndication, _Mapping]] = ...) -> None: ...

class PutGeographicalIndicationResponse(_message.Message):
    __slots__ = ("indication", "outcome")
    INDICATION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    indication: GeographicalIndication
    outcome: str
    def __init__(self, indication: _Optional[_Union[GeographicalIndication, _Mapping]] = ..., outcome: _Optional[str] = ...) -> None: ...

class PutIcLayoutRequest(_message.Message):
    __slots__ = ("layout",)
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    layout: IcLayout
    def __init__(self, layout: _Optional[_Union[IcLayout, _Mapping]] = ...) -> None: ...

class PutIcLayoutResponse(_message.Message):
    __slots__ = ("layout", "outcome")
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    layout: IcLayout
    outcome: str
    def __init__(self, layout: _Optional[_Union[IcLayout, _Mapping]] = ..., outcome: _Optional[str] = ...) -> None: ...

class GetIcLayoutRequest(_message.Message):
    __slots__ = ("registration_number",)
    REGISTRATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    registration_number: str
    def __init__(self, registration_number: _Optional[str] = ...) -> None: ...

class SearchIcLayoutsRequest(_message.Message):
    __slots__ = ("query", "owner", "page_size", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    owner: str
    page_size: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., owner: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchIcLayoutsResponse(_message.Message):
    __slots__ = ("layouts", "next_page_token", "total_size")
    LAYOUTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    layouts: _containers.RepeatedCompositeFieldContainer[IcLayout]
    next_page_token: str
    total_size: int
    def __init__(self, layouts: _Optional[_Iterable[_Union[IcLayout, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class RecordChange(_message.Message):
    __slots__ = ("data_set", "record_id", "change", "content_hash", "changed_at", "cursor")
    DATA_SET_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    data_set: DataSet
    record_id: str
    change: str
    content_hash: str
    changed_at: _timestamp_pb2.Timestamp
    cursor: str
    def __init__(self, data_set: _Optional[_Union[DataSet, str]] = ..., record_id: _Optional[str] = ..., change: _Optional[str] = ..., content_hash: _Optional[str] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cursor: _Optional[str] = ...) -> None: ...

class ListChangesRequest(_message.Message):
    __slots__ = ("data_set", "cursor", "page_size")
    DATA_SET_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    data_set: DataSet
    cursor: str
    page_size: int
    def __init__(self, data_set: _Optional[_Union[DataSet, str]] = ..., cursor: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListChangesResponse(_message.Message):
    __slots__ = ("changes", "next_cursor")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[RecordChange]
    next_cursor: str
    def __init__(self, changes: _Optional[_Iterable[_Union[RecordChange, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class GetMirrorStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DataSetStatus(_message.Message):
    __slots__ = ("data_set", "record_count", "content_hash", "position", "updated_at")
    DATA_SET_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    data_set: DataSet
    record_count: int
    content_hash: str
    position: str
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, data_set: _Optional[_Union[DataSet, str]] = ..., record_count: _Optional[int] = ..., content_hash: _Optional[str] = ..., position: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MirrorStatus(_message.Message):
    __slots__ = ("node_id", "authoritative", "data_sets")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHORITATIVE_FIELD_NUMBER: _ClassVar[int]
    DATA_SETS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    authoritative: bool
    data_sets: _containers.RepeatedCompositeFieldContainer[DataSetStatus]
    def __init__(self, node_id: _Optional[str] = ..., authoritative: _Optional[bool] = ..., data_sets: _Optional[_Iterable[_Union[DataSetStatus, _Mapping]]] = ...) -> None: ...

class IpcEntry(_message.Message):
    __slots__ = ("symbol", "level", "title", "parent")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    level: str
    title: str
    parent: str
    def __init__(self, symbol: _Optional[str] = ..., level: _Optional[str] = ..., title: _Optional[str] = ..., parent: _Optional[str] = ...) -> None: ...

class GetIpcEntryRequest(_message.Message):
    __slots__ = ("symbol",)
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    def __init__(self, symbol: _Optional[str] = ...) -> None: ...

class ListIpcChildrenRequest(_message.Message):
    __slots__ = ("symbol", "page_size", "page_token")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    page_size: int
    page_token: str
    def __init__(self, symbol: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListIpcChildrenResponse(_message.Message):
    __slots__ = ("entries", "next_page_token", "total_size")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[IpcEntry]
    next_page_token: str
    total_size: int
    def __init__(self, entries: _Optional[_Iterable[_Union[IpcEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class NiceClass(_message.Message):
    __slots__ = ("number", "heading_en", "heading_zh")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    HEADING_EN_FIELD_NUMBER: _ClassVar[int]
    HEADING_ZH_FIELD_NUMBER: _ClassVar[int]
    number: int
    heading_en: str
    heading_zh: str
    def __init__(self, number: _Optional[int] = ..., heading_en: _Optional[str] = ..., heading_zh: _Optional[str] = ...) -> None: ...

class ListNiceClassesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListNiceClassesResponse(_message.Message):
    __slots__ = ("classes",)
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    classes: _containers.RepeatedCompositeFieldContainer[NiceClass]
    def __init__(self, classes: _Optional[_Iterable[_Union[NiceClass, _Mapping]]] = ...) -> None: ...

class SimilarGroup(_message.Message):
    __slots__ = ("code", "nice_class", "name")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NICE_CLASS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    code: str
    nice_class: int
    name: str
    def __init__(self, code: _Optional[str] = ..., nice_class: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class ListSimilarGroupsRequest(_message.Message):
    __slots__ = ("nice_class",)
    NICE_CLASS_FIELD_NUMBER: _ClassVar[int]
    nice_class: int
    def __init__(self, nice_class: _Optional[int] = ...) -> None: ...

class ListSimilarGroupsResponse(_message.Message):
    __slots__ = ("groups",)
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[SimilarGroup]
    def __init__(self, groups: _Optional[_Iterable[_Union[SimilarGroup, _Mapping]]] = ...) -> None: ...

class Division(_message.Message):
    __slots__ = ("code", "name", "level", "parent_code", "current", "valid_from", "valid_until", "successor_code")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    PARENT_CODE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_CODE_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    level: str
    parent_code: str
    current: bool
    valid_from: str
    valid_until: str
    successor_code: str
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., level: _Optional[str] = ..., parent_code: _Optional[str] = ..., current: _Optional[bool] = ..., valid_from: _Optional[str] = ..., valid_until: _Optional[str] = ..., successor_code: _Optional[str] = ...) -> None: ...

class GetDivisionRequest(_message.Message):
    __slots__ = ("code",)
    CODE_FIELD_NUMBER: _ClassVar[int]
    code: str
    def __init__(self, code: _Optional[str] = ...) -> None: ...

class ListDivisionsRequest(_message.Message):
    __slots__ = ("parent_code", "include_history")
    PARENT_CODE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_HISTORY_FIELD_NUMBER: _ClassVar[int]
    parent_code: str
    include_history: bool
    def __init__(self, parent_code: _Optional[str] = ..., include_history: _Optional[bool] = ...) -> None: ...

class ListDivisionsResponse(_message.Message):
    __slots__ = ("divisions",)
    DIVISIONS_FIELD_NUMBER: _ClassVar[int]
    divisions: _containers.RepeatedCompositeFieldContainer[Division]
    def __init__(self, divisions: _Optional[_Iterable[_Union[Division, _Mapping]]] = ...) -> None: ...
