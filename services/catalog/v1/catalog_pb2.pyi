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

class InstitutionTier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTITUTION_TIER_UNSPECIFIED: _ClassVar[InstitutionTier]
    INSTITUTION_TIER_NATIONAL: _ClassVar[InstitutionTier]
    INSTITUTION_TIER_PROVINCIAL_BACKBONE: _ClassVar[InstitutionTier]
    INSTITUTION_TIER_PREFECTURE_CENTRE: _ClassVar[InstitutionTier]
    INSTITUTION_TIER_TISC: _ClassVar[InstitutionTier]
    INSTITUTION_TIER_UNIVERSITY_CENTRE: _ClassVar[InstitutionTier]
    INSTITUTION_TIER_KEY_NETWORK_OUTLET: _ClassVar[InstitutionTier]
    INSTITUTION_TIER_MARKET_PROVIDER: _ClassVar[InstitutionTier]

class InstitutionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTITUTION_STATUS_UNSPECIFIED: _ClassVar[InstitutionStatus]
    INSTITUTION_STATUS_PENDING: _ClassVar[InstitutionStatus]
    INSTITUTION_STATUS_APPROVED: _ClassVar[InstitutionStatus]
    INSTITUTION_STATUS_SUSPENDED: _ClassVar[InstitutionStatus]
    INSTITUTION_STATUS_RETIRED: _ClassVar[InstitutionStatus]

class ServiceCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SERVICE_CATEGORY_UNSPECIFIED: _ClassVar[ServiceCategory]
    SERVICE_CATEGORY_PATENT_SEARCH: _ClassVar[ServiceCategory]
    SERVICE_CATEGORY_PATENT_ANALYSIS: _ClassVar[ServiceCategory]
    SERVICE_CATEGORY_TRADEMARK_GI_CONSULTATION: _ClassVar[ServiceCategory]
    SERVICE_CATEGORY_RIGHTS_PROTECTION: _ClassVar[ServiceCategory]
    SERVICE_CATEGORY_IP_OPERATIONS: _ClassVar[ServiceCategory]
    SERVICE_CATEGORY_TRAINING: _ClassVar[ServiceCategory]
    SERVICE_CATEGORY_POLICY_CONSULTATION: _ClassVar[ServiceCategory]
    SERVICE_CATEGORY_IC_LAYOUT_CONSULTATION: _ClassVar[ServiceCategory]

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_ONLINE: _ClassVar[Channel]
    CHANNEL_ON_SITE: _ClassVar[Channel]
    CHANNEL_BOTH: _ClassVar[Channel]

class CostClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COST_CLASS_UNSPECIFIED: _ClassVar[CostClass]
    COST_CLASS_FREE: _ClassVar[CostClass]
    COST_CLASS_PUBLIC_INTEREST: _ClassVar[CostClass]
    COST_CLASS_PAID: _ClassVar[CostClass]

class InnovatorType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INNOVATOR_TYPE_UNSPECIFIED: _ClassVar[InnovatorType]
    INNOVATOR_TYPE_INDIVIDUAL: _ClassVar[InnovatorType]
    INNOVATOR_TYPE_ENTERPRISE: _ClassVar[InnovatorType]
    INNOVATOR_TYPE_UNIVERSITY: _ClassVar[InnovatorType]
    INNOVATOR_TYPE_RESEARCH_INSTITUTE: _ClassVar[InnovatorType]

class EnterpriseSize(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENTERPRISE_SIZE_UNSPECIFIED: _ClassVar[EnterpriseSize]
    ENTERPRISE_SIZE_MICRO: _ClassVar[EnterpriseSize]
    ENTERPRISE_SIZE_SMALL: _ClassVar[EnterpriseSize]
    ENTERPRISE_SIZE_MEDIUM: _ClassVar[EnterpriseSize]
    ENTERPRISE_SIZE_LARGE: _ClassVar[EnterpriseSize]

class InnovationStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INNOVATION_STAGE_UNSPECIFIED: _ClassVar[InnovationStage]
    INNOVATION_STAGE_IDEA: _ClassVar[InnovationStage]
    INNOVATION_STAGE_RND: _ClassVar[InnovationStage]
    INNOVATION_STAGE_FILING: _ClassVar[InnovationStage]
    INNOVATION_STAGE_GRANTED: _ClassVar[InnovationStage]
    INNOVATION_STAGE_COMMERCIALISATION: _ClassVar[InnovationStage]
    INNOVATION_STAGE_DISPUTE: _ClassVar[InnovationStage]
INSTITUTION_TIER_UNSPECIFIED: InstitutionTier
INSTITUTION_TIER_NATIONAL: InstitutionTier
INSTITUTION_TIER_PROVINCIAL_BACKBONE: InstitutionTier
INSTITUTION_TIER_PREFECTURE_CENTRE: InstitutionTier
INSTITUTION_TIER_TISC: InstitutionTier
INSTITUTION_TIER_UNIVERSITY_CENTRE: InstitutionTier
INSTITUTION_TIER_KEY_NETWORK_OUTLET: InstitutionTier
INSTITUTION_TIER_MARKET_PROVIDER: InstitutionTier
INSTITUTION_STATUS_UNSPECIFIED: InstitutionStatus
INSTITUTION_STATUS_PENDING: InstitutionStatus
INSTITUTION_STATUS_APPROVED: InstitutionStatus
INSTITUTION_STATUS_SUSPENDED: InstitutionStatus
INSTITUTION_STATUS_RETIRED: InstitutionStatus
SERVICE_CATEGORY_UNSPECIFIED: ServiceCategory
SERVICE_CATEGORY_PATENT_SEARCH: ServiceCategory
SERVICE_CATEGORY_PATENT_ANALYSIS: ServiceCategory
SERVICE_CATEGORY_TRADEMARK_GI_CONSULTATION: ServiceCategory
SERVICE_CATEGORY_RIGHTS_PROTECTION: ServiceCategory
SERVICE_CATEGORY_IP_OPERATIONS: ServiceCategory
SERVICE_CATEGORY_TRAINING: ServiceCategory
SERVICE_CATEGORY_POLICY_CONSULTATION: ServiceCategory
SERVICE_CATEGORY_IC_LAYOUT_CONSULTATION: ServiceCategory
CHANNEL_UNSPECIFIED: Channel
CHANNEL_ONLINE: Channel
CHANNEL_ON_SITE: Channel
CHANNEL_BOTH: Channel
COST_CLASS_UNSPECIFIED: CostClass
COST_CLASS_FREE: CostClass
COST_CLASS_PUBLIC_INTEREST: CostClass
COST_CLASS_PAID: CostClass
INNOVATOR_TYPE_UNSPECIFIED: InnovatorType
INNOVATOR_TYPE_INDIVIDUAL: InnovatorType
INNOVATOR_TYPE_ENTERPRISE: InnovatorType
INNOVATOR_TYPE_UNIVERSITY: InnovatorType
INNOVATOR_TYPE_RESEARCH_INSTITUTE: InnovatorType
ENTERPRISE_SIZE_UNSPECIFIED: EnterpriseSize
ENTERPRISE_SIZE_MICRO: EnterpriseSize
ENTERPRISE_SIZE_SMALL: EnterpriseSize
ENTERPRISE_SIZE_MEDIUM: EnterpriseSize
ENTERPRISE_SIZE_LARGE: EnterpriseSize
INNOVATION_STAGE_UNSPECIFIED: InnovationStage
INNOVATION_STAGE_IDEA: InnovationStage
INNOVATION_STAGE_RND: InnovationStage
INNOVATION_STAGE_FILING: InnovationStage
INNOVATION_STAGE_GRANTED: InnovationStage
INNOVATION_STAGE_COMMERCIALISATION: InnovationStage
INNOVATION_STAGE_DISPUTE: InnovationStage

class Contact(_message.Message):
    __slots__ = ("name", "phone", "email", "address")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    name: str
    phone: str
    email: str
    address: str
    def __init__(self, name: _Optional[str] = ..., phone: _Optional[str] = ..., email: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class Institution(_message.Message):
    __slots__ = ("institution_id", "owning_node", "name", "description", "tier", "region_code", "service_area", "contacts", "ipc_fields", "monthly_capacity", "status", "approved", "created_at", "updated_at", "is_example", "revision", "status_changed", "status_reason")
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    OWNING_NODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_AREA_FIELD_NUMBER: _ClassVar[int]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    IPC_FIELDS_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    IS_EXAMPLE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    STATUS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    institution_id: str
    owning_node: str
    name: str
    description: str
    tier: InstitutionTier
    region_code: str
    service_area: _containers.RepeatedScalarFieldContainer[str]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    ipc_fields: _containers.RepeatedScalarFieldContainer[str]
    monthly_capacity: int
    status: InstitutionStatus
    approved: _common_pb2.ActorStamp
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    is_example: bool
    revision: int
    status_changed: _common_pb2.ActorStamp
    status_reason: str
    def __init__(self, institution_id: _Optional[str] = ..., owning_node: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., tier: _Optional[_Union[InstitutionTier, str]] = ..., region_code: _Optional[str] = ..., service_area: _Optional[_Iterable[str]] = ..., contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., ipc_fields: _Optional[_Iterable[str]] = ..., monthly_capacity: _Optional[int] = ..., status: _Optional[_Union[InstitutionStatus, str]] = ..., approved: _Optional[_Union[_common_pb2.ActorStamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., is_example: _Optional[bool] = ..., revision: _Optional[int] = ..., status_changed: _Optional[_Union[_common_pb2.ActorStamp, _Mapping]] = ..., status_reason: _Optional[str] = ...) -> None: ...

class CreateInstitutionRequest(_message.Message):
    __slots__ = ("institution",)
    INSTITUTION_FIELD_NUMBER: _ClassVar[int]
    institution: Institution
    def __init__(self, institution: _Optional[_Union[Institution, _Mapping]] = ...) -> None: ...

class GetInstitutionRequest(_message.Message):
    __slots__ = ("institution_id",)
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    institution_id: str
    def __init__(self, institution_id: _Optional[str] = ...) -> None: ...

class UpdateInstitutionRequest(_message.Message):
    __slots__ = ("institution", "expected_revision")
    INSTITUTION_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    institution: Institution
    expected_revision: int
    def __init__(self, institution: _Optional[_Union[Institution, _Mapping]] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class ChangeInstitutionStatusRequest(_message.Message):
    __slots__ = ("institution_id", "reason")
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    institution_id: str
    reason: str
    def __init__(self, institution_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SearchInstitutionsRequest(_message.Message):
    __slots__ = ("query", "region_code", "tiers", "statuses", "ipc_prefix", "category", "page_size", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    IPC_PREFIX_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    region_code: str
    tiers: _containers.RepeatedScalarFieldContainer[InstitutionTier]
    statuses: _containers.RepeatedScalarFieldContainer[InstitutionStatus]
    ipc_prefix: str
    category: ServiceCategory
    page_size: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., region_code: _Optional[str] = ..., tiers: _Optional[_Iterable[_Union[InstitutionTier, str]]] = ..., statuses: _Optional[_Iterable[_Union[InstitutionStatus, str]]] = ..., ipc_prefix: _Optional[str] = ..., category: _Optional[_Union[ServiceCategory, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchInstitutionsResponse(_message.Message):
    __slots__ = ("institutions", "next_page_token", "total_size")
    INSTITUTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    institutions: _containers.RepeatedCompositeFieldContainer[Institution]
    next_page_token: str
    total_size: int
    def __init__(self, institutions: _Optional[_Iterable[_Union[Institution, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class Eligibility(_message.Message):
    __slots__ = ("innovator_types", "enterprise_sizes", "stages")
    INNOVATOR_TYPES_FIELD_NUMBER: _ClassVar[int]
    ENTERPRISE_SIZES_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    innovator_types: _containers.RepeatedScalarFieldContainer[InnovatorType]
    enterprise_sizes: _containers.RepeatedScalarFieldContainer[EnterpriseSize]
    stages: _containers.RepeatedScalarFieldContainer[InnovationStage]
    def __init__(self, innovator_types: _Optional[_Iterable[_Union[InnovatorType, str]]] = ..., enterprise_sizes: _Optional[_Iterable[_Union[EnterpriseSize, str]]] = ..., stages: _Optional[_Iterable[_Union[InnovationStage, str]]] = ...) -> None: ...

class ServiceItem(_message.Message):
    __slots__ = ("item_id", "version", "institution_id", "service_code", "name", "description", "category", "channel", "eligibility", "cost_class", "processing_days", "required_materials", "is_example", "created_at", "owning_node", "is_current", "created_by", "institution_status")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    ELIGIBILITY_FIELD_NUMBER: _ClassVar[int]
    COST_CLASS_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_DAYS_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_MATERIALS_FIELD_NUMBER: _ClassVar[int]
    IS_EXAMPLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    OWNING_NODE_FIELD_NUMBER: _ClassVar[int]
    IS_CURRENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_STATUS_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    version: int
    institution_id: str
    service_code: str
    name: str
    description: str
    category: ServiceCategory
    channel: Channel
    eligibility: Eligibility
    cost_class: CostClass
    processing_days: int
    required_materials: _containers.RepeatedScalarFieldContainer[str]
    is_example: bool
    created_at: _timestamp_pb2.Timestamp
    owning_node: str
    is_current: bool
    created_by: str
    institution_status: InstitutionStatus
    def __init__(self, item_id: _Optional[str] = ..., version: _Optional[int] = ..., institution_id: _Optional[str] = ..., service_code: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., category: _Optional[_Union[ServiceCategory, str]] = ..., channel: _Optional[_Union[Channel, str]] = ..., eligibility: _Optional[_Union[Eligibility, _Mapping]] = ..., cost_class: _Optional[_Union[CostClass, str]] = ..., processing_days: _Optional[int] = ..., required_materials: _Optional[_Iterable[str]] = ..., is_example: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., owning_node: _Optional[str] = ..., is_current: _Optional[bool] = ..., created_by: _Optional[str] = ..., institution_status: _Optional[_Union[InstitutionStatus, str]] = ...) -> None: ...

class CreateServiceItemRequest(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: ServiceItem
    def __init__(self, item: _Optional[_Union[ServiceItem, _Mapping]] = ...) -> None: ...

class UpdateServiceItemRequest(_message.Message):
    __slots__ = ("item", "expected_version")
    ITEM_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    item: ServiceItem
    expected_version: int
    def __init__(self, item: _Optional[_Union[ServiceItem, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class GetServiceItemRequest(_message.Message):
    __slots__ = ("item_id", "version")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    version: int
    def __init__(self, item_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class ListServiceItemVersionsRequest(_message.Message):
    __slots__ = ("item_id", "page_size", "page_token")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    page_size: int
    page_token: str
    def __init__(self, item_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListServiceItemVersionsResponse(_message.Message):
    __slots__ = ("versions", "next_page_token", "total_size")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[ServiceItem]
    next_page_token: str
    total_size: int
    def __init__(self, versions: _Optional[_Iterable[_Union[ServiceItem, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class SearchServiceItemsRequest(_message.Message):
    __slots__ = ("query", "region_code", "categories", "institution_id", "channel", "cost_class", "page_size", "page_token", "ipc_prefix", "tiers", "service_code")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    COST_CLASS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    IPC_PREFIX_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    SERVICE_CODE_FIELD_NUMBER: _ClassVar[int]
    query: str
    region_code: str
    categories: _containers.RepeatedScalarFieldContainer[ServiceCategory]
    institution_id: str
    channel: Channel
    cost_class: CostClass
    page_size: int
    page_token: str
    ipc_prefix: str
    tiers: _containers.RepeatedScalarFieldContainer[InstitutionTier]
    service_code: str
    def __init__(self, query: _Optional[str] = ..., region_code: _Optional[str] = ..., categories: _Optional[_Iterable[_Union[ServiceCategory, str]]] = ..., institution_id: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., cost_class: _Optional[_Union[CostClass, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., ipc_prefix: _Optional[str] = ..., tiers: _Optional[_Iterable[_Union[InstitutionTier, str]]] = ..., service_code: _Optional[str] = ...) -> None: ...

class SearchServiceItemsResponse(_message.Message):
    __slots__ = ("items", "next_page_token", "total_size")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ServiceItem]
    next_page_token: str
    total_size: int
    def __init__(self, items: _Optional[_Iterable[_Union[ServiceItem, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class InnovatorProfile(_message.Message):
    __slots__ = ("region_code", "innovator_type", "enterprise_size", "stage", "ipc_fields", "needs", "needs_text")
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    INNOVATOR_TYPE_FIELD_NUMBER: _ClassVar[int]
    ENTERPRISE_SIZE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    IPC_FIELDS_FIELD_NUMBER: _ClassVar[int]
    NEEDS_FIELD_NUMBER: _ClassVar[int]
    NEEDS_TEXT_FIELD_NUMBER: _ClassVar[int]
    region_code: str
    innovator_type: InnovatorType
    enterprise_size: EnterpriseSize
    stage: InnovationStage
    ipc_fields: _containers.RepeatedScalarFieldContainer[str]
    needs: _containers.RepeatedScalarFieldContainer[ServiceCategory]
    needs_text: str
    def __init__(self, region_code: _Optional[str] = ..., innovator_type: _Optional[_Union[InnovatorType, str]] = ..., enterprise_size: _Optional[_Union[EnterpriseSize, str]] = ..., stage: _Optional[_Union[InnovationStage, str]] = ..., ipc_fields: _Optional[_Iterable[str]] = ..., needs: _Optional[_Iterable[_Union[ServiceCategory, str]]] = ..., needs_text: _Optional[str] = ...) -> None: ...

class MatchRequest(_message.Message):
    __slots__ = ("profile", "max_results")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    MAX_RESULTS_FIELD_NUMBER: _ClassVar[int]
    profile: InnovatorProfile
    max_results: int
    def __init__(self, profile: _Optional[_Union[InnovatorProfile, _Mapping]] = ..., max_results: _Optional[int] = ...) -> None: ...

class MatchedItem(_message.Message):
    __slots__ = ("item", "institution", "score", "reasons", "gaps")
    ITEM_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    GAPS_FIELD_NUMBER: _ClassVar[int]
    item: ServiceItem
    institution: Institution
    score: float
    reasons: _containers.RepeatedScalarFieldContainer[str]
    gaps: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, item: _Optional[_Union[ServiceItem, _Mapping]] = ..., institution: _Optional[_Union[Institution, _Mapping]] = ..., score: _Optional[float] = ..., reasons: _Optional[_Iterable[str]] = ..., gaps: _Optional[_Iterable[str]] = ...) -> None: ...

class MatchResponse(_message.Message):
    __slots__ = ("matches",)
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[MatchedItem]
    def __init__(self, matches: _Optional[_Iterable[_Union[MatchedItem, _Mapping]]] = ...) -> None: ...
