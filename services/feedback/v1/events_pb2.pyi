from puhui.feedback.v1 import feedback_pb2 as _feedback_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ServiceCaseRecorded(_message.Message):
    __slots__ = ("service_case",)
    SERVICE_CASE_FIELD_NUMBER: _ClassVar[int]
    service_case: _feedback_pb2.ServiceCase
    def __init__(self, service_case: _Optional[_Union[_feedback_pb2.ServiceCase, _Mapping]] = ...) -> None: ...

class RatingSubmitted(_message.Message):
    __slots__ = ("rating", "institution_id", "service_item_id", "node_id")
    RATING_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    rating: _feedback_pb2.Rating
    institution_id: str
    service_item_id: str
    node_id: str
    def __init__(self, rating: _Optional[_Union[_feedback_pb2.Rating, _Mapping]] = ..., institution_id: _Optional[str] = ..., service_item_id: _Optional[str] = ..., node_id: _Optional[str] = ...) -> None: ...

class TicketChanged(_message.Message):
    __slots__ = ("ticket",)
    TICKET_FIELD_NUMBER: _ClassVar[int]
    ticket: _feedback_pb2.RectificationTicket
    def __init__(self, ticket: _Optional[_Union[_feedback_pb2.RectificationTicket, _Mapping]] = ...) -> None: ...

class TicketDeadlineBreached(_message.Message):
    __slots__ = ("ticket",)
    TICKET_FIELD_NUMBER: _ClassVar[int]
    ticket: _feedback_pb2.RectificationTicket
    def __init__(self, ticket: _Optional[_Union[_feedback_pb2.RectificationTicket, _Mapping]] = ...) -> None: ...

class AppealChanged(_message.Message):
    __slots__ = ("appeal", "institution_id", "rating")
    APPEAL_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    appeal: _feedback_pb2.Appeal
    institution_id: str
    rating: _feedback_pb2.Rating
    def __init__(self, appeal: _Optional[_Union[_feedback_pb2.Appeal, _Mapping]] = ..., institution_id: _Optional[str] = ..., rating: _Optional[_Union[_feedback_pb2.Rating, _Mapping]] = ...) -> None: ...

class ReportSubmitted(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: _feedback_pb2.Report
    def __init__(self, report: _Optional[_Union[_feedback_pb2.Report, _Mapping]] = ...) -> None: ...
