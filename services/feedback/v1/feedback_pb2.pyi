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

class RatingLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RATING_LEVEL_UNSPECIFIED: _ClassVar[RatingLevel]
    RATING_LEVEL_VERY_SATISFIED: _ClassVar[RatingLevel]
    RATING_LEVEL_SATISFIED: _ClassVar[RatingLevel]
    RATING_LEVEL_BASICALLY_SATISFIED: _ClassVar[RatingLevel]
    RATING_LEVEL_DISSATISFIED: _ClassVar[RatingLevel]
    RATING_LEVEL_VERY_DISSATISFIED: _ClassVar[RatingLevel]

class RatingChannel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RATING_CHANNEL_UNSPECIFIED: _ClassVar[RatingChannel]
    RATING_CHANNEL_ONLINE: _ClassVar[RatingChannel]
    RATING_CHANNEL_ON_SITE: _ClassVar[RatingChannel]
    RATING_CHANNEL_PHONE_SMS: _ClassVar[RatingChannel]

class CaseStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CASE_STAGE_UNSPECIFIED: _ClassVar[CaseStage]
    CASE_STAGE_ACCEPTANCE: _ClassVar[CaseStage]
    CASE_STAGE_HANDLING: _ClassVar[CaseStage]
    CASE_STAGE_COMPLETION: _ClassVar[CaseStage]

class TicketState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TICKET_STATE_UNSPECIFIED: _ClassVar[TicketState]
    TICKET_STATE_OPEN: _ClassVar[TicketState]
    TICKET_STATE_VERIFYING: _ClassVar[TicketState]
    TICKET_STATE_RECTIFYING: _ClassVar[TicketState]
    TICKET_STATE_RECTIFIED: _ClassVar[TicketState]
    TICKET_STATE_FOLLOWED_UP: _ClassVar[TicketState]
    TICKET_STATE_CLOSED: _ClassVar[TicketState]
    TICKET_STATE_VOIDED: _ClassVar[TicketState]

class AppealDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPEAL_DECISION_UNSPECIFIED: _ClassVar[AppealDecision]
    APPEAL_DECISION_PENDING: _ClassVar[AppealDecision]
    APPEAL_DECISION_UPHELD: _ClassVar[AppealDecision]
    APPEAL_DECISION_REJECTED: _ClassVar[AppealDecision]

class ReportKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_KIND_UNSPECIFIED: _ClassVar[ReportKind]
    REPORT_KIND_COMPLAINT: _ClassVar[ReportKind]
    REPORT_KIND_SUGGESTION: _ClassVar[ReportKind]
    REPORT_KIND_NEED: _ClassVar[ReportKind]

class CollectionPoint(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COLLECTION_POINT_UNSPECIFIED: _ClassVar[CollectionPoint]
    COLLECTION_POINT_ONLINE_FORM: _ClassVar[CollectionPoint]
    COLLECTION_POINT_WINDOW: _ClassVar[CollectionPoint]
    COLLECTION_POINT_HOTLINE: _ClassVar[CollectionPoint]
    COLLECTION_POINT_SURVEY: _ClassVar[CollectionPoint]
RATING_LEVEL_UNSPECIFIED: RatingLevel
RATING_LEVEL_VERY_SATISFIED: RatingLevel
RATING_LEVEL_SATISFIED: RatingLevel
RATING_LEVEL_BASICALLY_SATISFIED: RatingLevel
RATING_LEVEL_DISSATISFIED: RatingLevel
RATING_LEVEL_VERY_DISSATISFIED: RatingLevel
RATING_CHANNEL_UNSPECIFIED: RatingChannel
RATING_CHANNEL_ONLINE: RatingChannel
RATING_CHANNEL_ON_SITE: RatingChannel
RATING_CHANNEL_PHONE_SMS: RatingChannel
CASE_STAGE_UNSPECIFIED: CaseStage
CASE_STAGE_ACCEPTANCE: CaseStage
CASE_STAGE_HANDLING: CaseStage
CASE_STAGE_COMPLETION: CaseStage
TICKET_STATE_UNSPECIFIED: TicketState
TICKET_STATE_OPEN: TicketState
TICKET_STATE_VERIFYING: TicketState
TICKET_STATE_RECTIFYING: TicketState
TICKET_STATE_RECTIFIED: TicketState
TICKET_STATE_FOLLOWED_UP: TicketState
TICKET_STATE_CLOSED: TicketState
TICKET_STATE_VOIDED: TicketState
APPEAL_DECISION_UNSPECIFIED: AppealDecision
APPEAL_DECISION_PENDING: AppealDecision
APPEAL_DECISION_UPHELD: AppealDecision
APPEAL_DECISION_REJECTED: AppealDecision
REPORT_KIND_UNSPECIFIED: ReportKind
REPORT_KIND_COMPLAINT: ReportKind
REPORT_KIND_SUGGESTION: ReportKind
REPORT_KIND_NEED: ReportKind
COLLECTION_POINT_UNSPECIFIED: CollectionPoint
COLLECTION_POINT_ONLINE_FORM: CollectionPoint
COLLECTION_POINT_WINDOW: CollectionPoint
COLLECTION_POINT_HOTLINE: CollectionPoint
COLLECTION_POINT_SURVEY: CollectionPoint

class ServiceCase(_message.Message):
    __slots__ = ("case_id", "institution_id", "service_item_id", "person_id", "node_id", "completed_at", "invitation_expires_at", "rated_stages", "completed", "recorded_at")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    INVITATION_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    RATED_STAGES_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    institution_id: str
    service_item_id: str
    person_id: str
    node_id: str
    completed_at: _timestamp_pb2.Timestamp
    invitation_expires_at: _timestamp_pb2.Timestamp
    rated_stages: _containers.RepeatedScalarFieldContainer[CaseStage]
    completed: bool
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, case_id: _Optional[str] = ..., institution_id: _Optional[str] = ..., service_item_id: _Optional[str] = ..., person_id: _Optional[str] = ..., node_id: _Optional[str] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., invitation_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rated_stages: _Optional[_Iterable[_Union[CaseStage, str]]] = ..., completed: _Optional[bool] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordServiceCaseRequest(_message.Message):
    __slots__ = ("institution_id", "service_item_id", "person_id", "completed_at", "request_id", "in_progress")
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    institution_id: str
    service_item_id: str
    person_id: str
    completed_at: _timestamp_pb2.Timestamp
    request_id: str
    in_progress: bool
    def __init__(self, institution_id: _Optional[str] = ..., service_item_id: _Optional[str] = ..., person_id: _Optional[str] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., in_progress: _Optional[bool] = ...) -> None: ...

class CompleteServiceCaseRequest(_message.Message):
    __slots__ = ("case_id", "completed_at")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    completed_at: _timestamp_pb2.Timestamp
    def __init__(self, case_id: _Optional[str] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordServiceCaseResponse(_message.Message):
    __slots__ = ("service_case", "rating_token")
    SERVICE_CASE_FIELD_NUMBER: _ClassVar[int]
    RATING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    service_case: ServiceCase
    rating_token: str
    def __init__(self, service_case: _Optional[_Union[ServiceCase, _Mapping]] = ..., rating_token: _Optional[str] = ...) -> None: ...

class GetServiceCaseRequest(_message.Message):
    __slots__ = ("case_id",)
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    def __init__(self, case_id: _Optional[str] = ...) -> None: ...

class IndicatorScore(_message.Message):
    __slots__ = ("indicator", "level")
    INDICATOR_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    indicator: str
    level: RatingLevel
    def __init__(self, indicator: _Optional[str] = ..., level: _Optional[_Union[RatingLevel, str]] = ...) -> None: ...

class Rating(_message.Message):
    __slots__ = ("rating_id", "case_id", "stage", "channel", "level", "indicators", "comment", "real_name", "late", "flagged_for_review", "excluded", "rated_at", "ticket_id", "institution_id", "service_item_id", "node_id", "kiosk_id", "client_rating_id")
    RATING_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    INDICATORS_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    REAL_NAME_FIELD_NUMBER: _ClassVar[int]
    LATE_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_FOR_REVIEW_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_FIELD_NUMBER: _ClassVar[int]
    RATED_AT_FIELD_NUMBER: _ClassVar[int]
    TICKET_ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_RATING_ID_FIELD_NUMBER: _ClassVar[int]
    rating_id: str
    case_id: str
    stage: CaseStage
    channel: RatingChannel
    level: RatingLevel
    indicators: _containers.RepeatedCompositeFieldContainer[IndicatorScore]
    comment: str
    real_name: bool
    late: bool
    flagged_for_review: bool
    excluded: bool
    rated_at: _timestamp_pb2.Timestamp
    ticket_id: str
    institution_id: str
    service_item_id: str
    node_id: str
    kiosk_id: str
    client_rating_id: str
    def __init__(self, rating_id: _Optional[str] = ..., case_id: _Optional[str] = ..., stage: _Optional[_Union[CaseStage, str]] = ..., channel: _Optional[_Union[RatingChannel, str]] = ..., level: _Optional[_Union[RatingLevel, str]] = ..., indicators: _Optional[_Iterable[_Union[IndicatorScore, _Mapping]]] = ..., comment: _Optional[str] = ..., real_name: _Optional[bool] = ..., late: _Optional[bool] = ..., flagged_for_review: _Optional[bool] = ..., excluded: _Optional[bool] = ..., rated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ticket_id: _Optional[str] = ..., institution_id: _Optional[str] = ..., service_item_id: _Optional[str] = ..., node_id: _Optional[str] = ..., kiosk_id: _Optional[str] = ..., client_rating_id: _Optional[str] = ...) -> None: ...

class SubmitRatingRequest(_message.Message):
    __slots__ = ("rating_token", "stage", "channel", "level", "indicators", "comment", "real_name", "device_id")
    RATING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    INDICATORS_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    REAL_NAME_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    rating_token: str
    stage: CaseStage
    channel: RatingChannel
    level: RatingLevel
    indicators: _containers.RepeatedCompositeFieldContainer[IndicatorScore]
    comment: str
    real_name: bool
    device_id: str
    def __init__(self, rating_token: _Optional[str] = ..., stage: _Optional[_Union[CaseStage, str]] = ..., channel: _Optional[_Union[RatingChannel, str]] = ..., level: _Optional[_Union[RatingLevel, str]] = ..., indicators: _Optional[_Iterable[_Union[IndicatorScore, _Mapping]]] = ..., comment: _Optional[str] = ..., real_name: _Optional[bool] = ..., device_id: _Optional[str] = ...) -> None: ...

class KioskRating(_message.Message):
    __slots__ = ("client_rating_id", "rating", "rated_at")
    CLIENT_RATING_ID_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    RATED_AT_FIELD_NUMBER: _ClassVar[int]
    client_rating_id: str
    rating: SubmitRatingRequest
    rated_at: _timestamp_pb2.Timestamp
    def __init__(self, client_rating_id: _Optional[str] = ..., rating: _Optional[_Union[SubmitRatingRequest, _Mapping]] = ..., rated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SyncKioskRatingsRequest(_message.Message):
    __slots__ = ("kiosk_id", "ratings")
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    RATINGS_FIELD_NUMBER: _ClassVar[int]
    kiosk_id: str
    ratings: _containers.RepeatedCompositeFieldContainer[KioskRating]
    def __init__(self, kiosk_id: _Optional[str] = ..., ratings: _Optional[_Iterable[_Union[KioskRating, _Mapping]]] = ...) -> None: ...

class SyncKioskRatingsResponse(_message.Message):
    __slots__ = ("accepted", "duplicates", "rejected")
    class RejectedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicates: int
    rejected: _containers.ScalarMap[str, str]
    def __init__(self, accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., rejected: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GetRatingRequest(_message.Message):
    __slots__ = ("rating_id",)
    RATING_ID_FIELD_NUMBER: _ClassVar[int]
    rating_id: str
    def __init__(self, rating_id: _Optional[str] = ...) -> None: ...

class ListRatingsRequest(_message.Message):
    __slots__ = ("institution_id", "flagged_only", "bad_only", "page_size", "page_token")
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_ONLY_FIELD_NUMBER: _ClassVar[int]
    BAD_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    institution_id: str
    flagged_only: bool
    bad_only: bool
    page_size: int
    page_token: str
    def __init__(self, institution_id: _Optional[str] = ..., flagged_only: _Optional[bool] = ..., bad_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRatingsResponse(_message.Message):
    __slots__ = ("ratings", "next_page_token", "total_size")
    RATINGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    ratings: _containers.RepeatedCompositeFieldContainer[Rating]
    next_page_token: str
    total_size: int
    def __init__(self, ratings: _Optional[_Iterable[_Union[Rating, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class TicketTransition(_message.Message):
    __slots__ = ("to", "stamp", "note")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    STAMP_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    to: TicketState
    stamp: _common_pb2.ActorStamp
    note: str
    def __init__(self, to: _Optional[_Union[TicketState, str]] = ..., stamp: _Optional[_Union[_common_pb2.ActorStamp, _Mapping]] = ..., note: _Optional[str] = ..., **kwargs) -> None: ...

class RectificationTicket(_message.Message):
    __slots__ = ("ticket_id", "rating_id", "institution_id", "node_id", "state", "opened_at", "due_date", "breached", "history", "service_item_id", "real_name", "deadline_working_days")
    TICKET_ID_FIELD_NUMBER: _ClassVar[int]
    RATING_ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    BREACHED_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    REAL_NAME_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_WORKING_DAYS_FIELD_NUMBER: _ClassVar[int]
    ticket_id: str
    rating_id: str
    institution_id: str
    node_id: str
    state: TicketState
    opened_at: _timestamp_pb2.Timestamp
    due_date: str
    breached: bool
    history: _containers.RepeatedCompositeFieldContainer[TicketTransition]
    service_item_id: str
    real_name: bool
    deadline_working_days: int
    def __init__(self, ticket_id: _Optional[str] = ..., rating_id: _Optional[str] = ..., institution_id: _Optional[str] = ..., node_id: _Optional[str] = ..., state: _Optional[_Union[TicketState, str]] = ..., opened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., due_date: _Optional[str] = ..., breached: _Optional[bool] = ..., history: _Optional[_Iterable[_Union[TicketTransition, _Mapping]]] = ..., service_item_id: _Optional[str] = ..., real_name: _Optional[bool] = ..., deadline_working_days: _Optional[int] = ...) -> None: ...

class GetTicketRequest(_message.Message):
    __slots__ = ("ticket_id",)
    TICKET_ID_FIELD_NUMBER: _ClassVar[int]
    ticket_id: str
    def __init__(self, ticket_id: _Optional[str] = ...) -> None: ...

class ListTicketsRequest(_message.Message):
    __slots__ = ("institution_id", "states", "breached_only", "page_size", "page_token")
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    BREACHED_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    institution_id: str
    states: _containers.RepeatedScalarFieldContainer[TicketState]
    breached_only: bool
    page_size: int
    page_token: str
    def __init__(self, institution_id: _Optional[str] = ..., states: _Optional[_Iterable[_Union[TicketState, str]]] = ..., breached_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTicketsResponse(_message.Message):
    __slots__ = ("tickets", "next_page_token", "total_size")
    TICKETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    tickets: _containers.RepeatedCompositeFieldContainer[RectificationTicket]
    next_page_token: str
    total_size: int
    def __init__(self, tickets: _Optional[_Iterable[_Union[RectificationTicket, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class TransitionTicketRequest(_message.Message):
    __slots__ = ("ticket_id", "to", "note")
    TICKET_ID_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    ticket_id: str
    to: TicketState
    note: str
    def __init__(self, ticket_id: _Optional[str] = ..., to: _Optional[_Union[TicketState, str]] = ..., note: _Optional[str] = ...) -> None: ...

class Appeal(_message.Message):
    __slots__ = ("appeal_id", "rating_id", "grounds", "statement", "decision", "filed", "decided")
    APPEAL_ID_FIELD_NUMBER: _ClassVar[int]
    RATING_ID_FIELD_NUMBER: _ClassVar[int]
    GROUNDS_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    FILED_FIELD_NUMBER: _ClassVar[int]
    DECIDED_FIELD_NUMBER: _ClassVar[int]
    appeal_id: str
    rating_id: str
    grounds: str
    statement: str
    decision: AppealDecision
    filed: _common_pb2.ActorStamp
    decided: _common_pb2.ActorStamp
    def __init__(self, appeal_id: _Optional[str] = ..., rating_id: _Optional[str] = ..., grounds: _Optional[str] = ..., statement: _Optional[str] = ..., decision: _Optional[_Union[AppealDecision, str]] = ..., filed: _Optional[_Union[_common_pb2.ActorStamp, _Mapping]] = ..., decided: _Optional[_Union[_common_pb2.ActorStamp, _Mapping]] = ...) -> None: ...

class FileAppealRequest(_message.Message):
    __slots__ = ("rating_id", "grounds", "statement")
    RATING_ID_FIELD_NUMBER: _ClassVar[int]
    GROUNDS_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    rating_id: str
    grounds: str
    statement: str
    def __init__(self, rating_id: _Optional[str] = ..., grounds: _Optional[str] = ..., statement: _Optional[str] = ...) -> None: ...

class DecideAppealRequest(_message.Message):
    __slots__ = ("appeal_id", "decision", "reason")
    APPEAL_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    appeal_id: str
    decision: AppealDecision
    reason: str
    def __init__(self, appeal_id: _Optional[str] = ..., decision: _Optional[_Union[AppealDecision, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class Report(_message.Message):
    __slots__ = ("report_id", "kind", "source", "category", "region_code", "text", "group_id", "received_at", "point_id")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    POINT_ID_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    kind: ReportKind
    source: CollectionPoint
    category: str
    region_code: str
    text: str
    group_id: str
    received_at: _timestamp_pb2.Timestamp
    point_id: str
    def __init__(self, report_id: _Optional[str] = ..., kind: _Optional[_Union[ReportKind, str]] = ..., source: _Optional[_Union[CollectionPoint, str]] = ..., category: _Optional[str] = ..., region_code: _Optional[str] = ..., text: _Optional[str] = ..., group_id: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., point_id: _Optional[str] = ...) -> None: ...

class SubmitReportRequest(_message.Message):
    __slots__ = ("kind", "source", "category", "region_code", "text", "point_id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    POINT_ID_FIELD_NUMBER: _ClassVar[int]
    kind: ReportKind
    source: CollectionPoint
    category: str
    region_code: str
    text: str
    point_id: str
    def __init__(self, kind: _Optional[_Union[ReportKind, str]] = ..., source: _Optional[_Union[CollectionPoint, str]] = ..., category: _Optional[str] = ..., region_code: _Optional[str] = ..., text: _Optional[str] = ..., point_id: _Optional[str] = ...) -> None: ...

class ReportGroup(_message.Message):
    __slots__ = ("group_id", "representative_text", "size", "category", "region_code", "kind")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    REPRESENTATIVE_TEXT_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    representative_text: str
    size: int
    category: str
    region_code: str
    kind: ReportKind
    def __init__(self, group_id: _Optional[str] = ..., representative_text: _Optional[str] = ..., size: _Optional[int] = ..., category: _Optional[str] = ..., region_code: _Optional[str] = ..., kind: _Optional[_Union[ReportKind, str]] = ...) -> None: ...

class ListReportGroupsRequest(_message.Message):
    __slots__ = ("kind", "region_code", "page_size", "page_token")
    KIND_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    kind: ReportKind
    region_code: str
    page_size: int
    page_token: str
    def __init__(self, kind: _Optional[_Union[ReportKind, str]] = ..., region_code: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReportGroupsResponse(_message.Message):
    __slots__ = ("groups", "next_page_token", "total_size")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[ReportGroup]
    next_page_token: str
    total_size: int
    def __init__(self, groups: _Optional[_Iterable[_Union[ReportGroup, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetDemandWithoutSupplyRequest(_message.Message):
    __slots__ = ("region_code",)
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    region_code: str
    def __init__(self, region_code: _Optional[str] = ...) -> None: ...

class UnmetDemand(_message.Message):
    __slots__ = ("category", "region_code", "need_count", "supplying_items")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    NEED_COUNT_FIELD_NUMBER: _ClassVar[int]
    SUPPLYING_ITEMS_FIELD_NUMBER: _ClassVar[int]
    category: str
    region_code: str
    need_count: int
    supplying_items: int
    def __init__(self, category: _Optional[str] = ..., region_code: _Optional[str] = ..., need_count: _Optional[int] = ..., supplying_items: _Optional[int] = ...) -> None: ...

class GetDemandWithoutSupplyResponse(_message.Message):
    __slots__ = ("unmet",)
    UNMET_FIELD_NUMBER: _ClassVar[int]
    unmet: _containers.RepeatedCompositeFieldContainer[UnmetDemand]
    def __init__(self, unmet: _Optional[_Iterable[_Union[UnmetDemand, _Mapping]]] = ...) -> None: ...

class GetSatisfactionIndexRequest(_message.Message):
    __slots__ = ("institution_id", "service_item_id", "node_id", "period")
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    institution_id: str
    service_item_id: str
    node_id: str
    period: str
    def __init__(self, institution_id: _Optional[str] = ..., service_item_id: _Optional[str] = ..., node_id: _Optional[str] = ..., period: _Optional[str] = ...) -> None: ...

class SatisfactionIndex(_message.Message):
    __slots__ = ("scope", "period", "rating_count", "satisfied_share", "bad_review_rate", "rectification_on_time_rate", "follow_up_rate", "appeal_rate", "satisfied_count", "bad_review_count", "tickets_closed_on_time", "tickets_breached", "follow_ups", "appeals_filed", "appeals_upheld")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    RATING_COUNT_FIELD_NUMBER: _ClassVar[int]
    SATISFIED_SHARE_FIELD_NUMBER: _ClassVar[int]
    BAD_REVIEW_RATE_FIELD_NUMBER: _ClassVar[int]
    RECTIFICATION_ON_TIME_RATE_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_UP_RATE_FIELD_NUMBER: _ClassVar[int]
    APPEAL_RATE_FIELD_NUMBER: _ClassVar[int]
    SATISFIED_COUNT_FIELD_NUMBER: _ClassVar[int]
    BAD_REVIEW_COUNT_FIELD_NUMBER: _ClassVar[int]
    TICKETS_CLOSED_ON_TIME_FIELD_NUMBER: _ClassVar[int]
    TICKETS_BREACHED_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_UPS_FIELD_NUMBER: _ClassVar[int]
    APPEALS_FILED_FIELD_NUMBER: _ClassVar[int]
    APPEALS_UPHELD_FIELD_NUMBER: _ClassVar[int]
    scope: str
    period: str
    rating_count: int
    satisfied_share: float
    bad_review_rate: float
    rectification_on_time_rate: float
    follow_up_rate: float
    appeal_rate: float
    satisfied_count: int
    bad_review_count: int
    tickets_closed_on_time: int
    tickets_breached: int
    follow_ups: int
    appeals_filed: int
    appeals_upheld: int
    def __init__(self, scope: _Optional[str] = ..., period: _Optional[str] = ..., rating_count: _Optional[int] = ..., satisfied_share: _Optional[float] = ..., bad_review_rate: _Optional[float] = ..., rectification_on_time_rate: _Optional[float] = ..., follow_up_rate: _Optional[float] = ..., appeal_rate: _Optional[float] = ..., satisfied_count: _Optional[int] = ..., bad_review_count: _Optional[int] = ..., tickets_closed_on_time: _Optional[int] = ..., tickets_breached: _Optional[int] = ..., follow_ups: _Optional[int] = ..., appeals_filed: _Optional[int] = ..., appeals_upheld: _Optional[int] = ...) -> None: ...
