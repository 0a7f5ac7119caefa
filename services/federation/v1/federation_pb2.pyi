import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from puhui.catalog.v1 import catalog_pb2 as _catalog_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NodeStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_STATUS_UNSPECIFIED: _ClassVar[NodeStatus]
    NODE_STATUS_ACTIVE: _ClassVar[NodeStatus]
    NODE_STATUS_REMOVED: _ClassVar[NodeStatus]
NODE_STATUS_UNSPECIFIED: NodeStatus
NODE_STATUS_ACTIVE: NodeStatus
NODE_STATUS_REMOVED: NodeStatus

class Endpoint(_message.Message):
    __slots__ = ("service", "address")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    service: str
    address: str
    def __init__(self, service: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class Node(_message.Message):
    __slots__ = ("node_id", "name", "endpoints", "jwks_json", "status", "revision", "joined_at", "updated_at", "signed_key_set")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    JWKS_JSON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    JOINED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    SIGNED_KEY_SET_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    name: str
    endpoints: _containers.RepeatedCompositeFieldContainer[Endpoint]
    jwks_json: str
    status: NodeStatus
    revision: int
    joined_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    signed_key_set: str
    def __init__(self, node_id: _Optional[str] = ..., name: _Optional[str] = ..., endpoints: _Optional[_Iterable[_Union[Endpoint, _Mapping]]] = ..., jwks_json: _Optional[str] = ..., status: _Optional[_Union[NodeStatus, str]] = ..., revision: _Optional[int] = ..., joined_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., signed_key_set: _Optional[str] = ...) -> None: ...

class JoinNodeRequest(_message.Message):
    __slots__ = ("node_id", "name", "endpoints", "jwks_json", "join_code")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    JWKS_JSON_FIELD_NUMBER: _ClassVar[int]
    JOIN_CODE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    name: str
    endpoints: _containers.RepeatedCompositeFieldContainer[Endpoint]
    jwks_json: str
    join_code: str
    def __init__(self, node_id: _Optional[str] = ..., name: _Optional[str] = ..., endpoints: _Optional[_Iterable[_Union[Endpoint, _Mapping]]] = ..., jwks_json: _Optional[str] = ..., join_code: _Optional[str] = ...) -> None: ...

class GetNodeRequest(_message.Message):
    __slots__ = ("node_id",)
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    def __init__(self, node_id: _Optional[str] = ...) -> None: ...

class ListNodesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "show_removed")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SHOW_REMOVED_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    show_removed: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., show_removed: _Optional[bool] = ...) -> None: ...

class ListNodesResponse(_message.Message):
    __slots__ = ("nodes", "next_page_token", "total_size")
    NODES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[Node]
    next_page_token: str
    total_size: int
    def __init__(self, nodes: _Optional[_Iterable[_Union[Node, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class RemoveNodeRequest(_message.Message):
    __slots__ = ("node_id", "reason")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    reason: str
    def __init__(self, node_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CreateJoinCodeRequest(_message.Message):
    __slots__ = ("node_id", "valid_hours")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    VALID_HOURS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    valid_hours: int
    def __init__(self, node_id: _Optional[str] = ..., valid_hours: _Optional[int] = ...) -> None: ...

class CreateJoinCodeResponse(_message.Message):
    __slots__ = ("node_id", "join_code", "expires_at")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    JOIN_CODE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    join_code: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, node_id: _Optional[str] = ..., join_code: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetTrustAnchorRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetTrustAnchorResponse(_message.Message):
    __slots__ = ("jwks_json", "keys_topic")
    JWKS_JSON_FIELD_NUMBER: _ClassVar[int]
    KEYS_TOPIC_FIELD_NUMBER: _ClassVar[int]
    jwks_json: str
    keys_topic: str
    def __init__(self, jwks_json: _Optional[str] = ..., keys_topic: _Optional[str] = ...) -> None: ...

class SearchNationalCatalogRequest(_message.Message):
    __slots__ = ("query", "region_code", "node_ids", "ipc_prefix", "include_unapproved", "page_size", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    IPC_PREFIX_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_UNAPPROVED_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    region_code: str
    node_ids: _containers.RepeatedScalarFieldContainer[str]
    ipc_prefix: str
    include_unapproved: bool
    page_size: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., region_code: _Optional[str] = ..., node_ids: _Optional[_Iterable[str]] = ..., ipc_prefix: _Optional[str] = ..., include_unapproved: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchNationalCatalogResponse(_message.Message):
    __slots__ = ("institutions", "next_page_token", "total_size")
    INSTITUTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    institutions: _containers.RepeatedCompositeFieldContainer[_catalog_pb2.Institution]
    next_page_token: str
    total_size: int
    def __init__(self, institutions: _Optional[_Iterable[_Union[_catalog_pb2.Institution, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetNationalStatisticsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProvinceStatistics(_message.Message):
    __slots__ = ("node_id", "approved_institutions", "institutions", "current_service_items", "service_cases", "ratings", "rating_level_sum", "satisfaction", "tickets_opened", "tickets_closed", "tickets_breached")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVED_INSTITUTIONS_FIELD_NUMBER: _ClassVar[int]
    INSTITUTIONS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_SERVICE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    SERVICE_CASES_FIELD_NUMBER: _ClassVar[int]
    RATINGS_FIELD_NUMBER: _ClassVar[int]
    RATING_LEVEL_SUM_FIELD_NUMBER: _ClassVar[int]
    SATISFACTION_FIELD_NUMBER: _ClassVar[int]
    TICKETS_OPENED_FIELD_NUMBER: _ClassVar[int]
    TICKETS_CLOSED_FIELD_NUMBER: _ClassVar[int]
    TICKETS_BREACHED_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    approved_institutions: int
    institutions: int
    current_service_items: int
    service_cases: int
    ratings: int
    rating_level_sum: int
    satisfaction: float
    tickets_opened: int
    tickets_closed: int
    tickets_breached: int
    def __init__(self, node_id: _Optional[str] = ..., approved_institutions: _Optional[int] = ..., institutions: _Optional[int] = ..., current_service_items: _Optional[int] = ..., service_cases: _Optional[int] = ..., ratings: _Optional[int] = ..., rating_level_sum: _Optional[int] = ..., satisfaction: _Optional[float] = ..., tickets_opened: _Optional[int] = ..., tickets_closed: _Optional[int] = ..., tickets_breached: _Optional[int] = ...) -> None: ...

class NationalStatistics(_message.Message):
    __slots__ = ("national", "provinces")
    NATIONAL_FIELD_NUMBER: _ClassVar[int]
    PROVINCES_FIELD_NUMBER: _ClassVar[int]
    national: ProvinceStatistics
    provinces: _containers.RepeatedCompositeFieldContainer[ProvinceStatistics]
    def __init__(self, national: _Optional[_Union[ProvinceStatistics, _Mapping]] = ..., provinces: _Optional[_Iterable[_Union[ProvinceStatistics, _Mapping]]] = ...) -> None: ...

class GetFederationStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProvinceStatus(_message.Message):
    __slots__ = ("node_id", "name", "status", "events_applied", "last_event_at", "last_lag_seconds", "mirror_completeness", "mirror_records", "mirror_in_sync")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_APPLIED_FIELD_NUMBER: _ClassVar[int]
    LAST_EVENT_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_LAG_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MIRROR_COMPLETENESS_FIELD_NUMBER: _ClassVar[int]
    MIRROR_RECORDS_FIELD_NUMBER: _ClassVar[int]
    MIRROR_IN_SYNC_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    name: str
    status: NodeStatus
    events_applied: int
    last_event_at: _timestamp_pb2.Timestamp
    last_lag_seconds: float
    mirror_completeness: float
    mirror_records: int
    mirror_in_sync: bool
    def __init__(self, node_id: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[_Union[NodeStatus, str]] = ..., events_applied: _Optional[int] = ..., last_event_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_lag_seconds: _Optional[float] = ..., mirror_completeness: _Optional[float] = ..., mirror_records: _Optional[int] = ..., mirror_in_sync: _Optional[bool] = ...) -> None: ...

class FederationStatus(_message.Message):
    __slots__ = ("provinces", "hub_data_records")
    PROVINCES_FIELD_NUMBER: _ClassVar[int]
    HUB_DATA_RECORDS_FIELD_NUMBER: _ClassVar[int]
    provinces: _containers.RepeatedCompositeFieldContainer[ProvinceStatus]
    hub_data_records: int
    def __init__(self, provinces: _Optional[_Iterable[_Union[ProvinceStatus, _Mapping]]] = ..., hub_data_records: _Optional[int] = ...) -> None: ...
