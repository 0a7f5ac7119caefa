"""FeedbackService gRPC servicer: proto ↔ domain only."""

from __future__ import annotations

from datetime import datetime

import grpc
from google.protobuf import timestamp_pb2
from sqlalchemy.exc import IntegrityError

from puhui.feedback import domain
from puhui.feedback.adapters.db import SqlRepository
from puhui.feedback.v1 import events_pb2, feedback_pb2, feedback_pb2_grpc
from puhui.kit.auth import current_principal
from puhui.kit.db import Database
from puhui.kit.ids import new_id
from puhui.kit.outbox import Outbox, to_timestamp, utcnow


def _ts(moment: datetime) -> timestamp_pb2.Timestamp:
    return to_timestamp(moment)


def _when(ts: timestamp_pb2.Timestamp, present: bool) -> datetime | None:
    return ts.ToDatetime(tzinfo=domain.CHINA).astimezone(domain.CHINA) if present else None


def case_to_proto(c: domain.ServiceCase) -> feedback_pb2.ServiceCase:
    msg = feedback_pb2.ServiceCase(
        case_id=c.case_id,
        institution_id=c.institution_id,
        service_item_id=c.service_item_id,
        person_id=c.person_id,
        node_id=c.node_id,
        rated_stages=[int(s) for s in c.rated_stages],
        completed=c.completed,
        recorded_at=_ts(c.recorded_at),
    )
    if c.completed_at is not None:
        msg.completed_at.CopyFrom(_ts(c.completed_at))
    if c.invitation_expires_at is not None:
        msg.invitation_expires_at.CopyFrom(_ts(c.invitation_expires_at))
    return msg


class OutboxEvents:
    """The domain's EventSink, writing to the outbox in the same transaction."""

    def __init__(self, outbox: Outbox, session) -> None:  # type: ignore[no-untyped-def]
        self.outbox = outbox
        self.session = session

    def case_recorded(self, case: domain.ServiceCase) -> None:
        self.outbox.record(
            self.session,
            events_pb2.ServiceCaseRecorded(service_case=case_to_proto(case)),
            subject=f"case/{case.case_id}",
        )


class FeedbackServicer(feedback_pb2_grpc.FeedbackServiceServicer):
    def __init__(self, feedback: domain.Feedback, db: Database, outbox: Outbox) -> None:
        self.feedback = feedback
        self.db = db
        self.outbox = outbox

    # -- cases ------------------------------------------------------------------------------
    def RecordServiceCase(
        self, request: feedback_pb2.RecordServiceCaseRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.RecordServiceCaseResponse:
        now = utcnow()
        new = domain.NewCase(
            institution_id=request.institution_id,
            service_item_id=request.service_item_id,
            person_id=request.person_id,
            completed_at=_when(request.completed_at, request.HasField("completed_at")),
            request_id=request.request_id,
            in_progress=request.in_progress,
        )
        self.feedback.validate_case(new, now)  # reject before opening a transaction
        principal = current_principal()
        for attempt in range(2):
            try:
                with self.db.transaction() as session:
                    case, token = self.feedback.record_case(
                        SqlRepository(session),
                        OutboxEvents(self.outbox, session),
                        principal,
                        new,
                        new_id(),
                        now,
                    )
                break
            except IntegrityError:
                # A concurrent replay of the same request_id won: the retry returns its case.
                if attempt:
                    raise
        return feedback_pb2.RecordServiceCaseResponse(
            service_case=case_to_proto(case), rating_token=token
        )

    def GetServiceCase(
        self, request: feedback_pb2.GetServiceCaseRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.ServiceCase:
        with self.db.transaction() as session:
            case = self.feedback.get_case(
                SqlRepository(session), current_principal(), request.case_id
            )
        return case_to_proto(case)

    def CompleteServiceCase(
        self, request: feedback_pb2.CompleteServiceCaseRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.ServiceCase:
        now = utcnow()
        with self.db.transaction() as session:
            case = self.feedback.complete_case(
                SqlRepository(session),
                OutboxEvents(self.outbox, session),
                current_principal(),
                request.case_id,
                _when(request.completed_at, request.HasField("completed_at")),
                now,
            )
        return case_to_proto(case)
