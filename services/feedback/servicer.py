"""FeedbackService gRPC servicer: proto ↔ domain only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from sqlalchemy.orm import Session

from puhui.common.v1 import common_pb2
from puhui.feedback import domain, metrics
from puhui.feedback.v1 import events_pb2, feedback_pb2, feedback_pb2_grpc
from puhui.kit.auth import current_principal
from puhui.kit.outbox import Outbox
from puhui.kit.pagination import page_request
from puhui.kit.times import from_timestamp, to_timestamp

_ts = to_timestamp


def _when(ts: timestamp_pb2.Timestamp, present: bool) -> datetime | None:
    return from_timestamp(ts) if present else None


def _e(value: int) -> Any:
    """A domain IntEnum as the proto enum it mirrors (same numbers)."""
    return int(value)


def case_to_proto(c: domain.ServiceCase) -> feedback_pb2.ServiceCase:
    msg = feedback_pb2.ServiceCase(
        case_id=c.case_id,
        institution_id=c.institution_id,
        service_item_id=c.service_item_id,
        person_id=c.person_id,
        node_id=c.node_id,
        rated_stages=[_e(s) for s in c.rated_stages],
        completed=c.completed,
        recorded_at=_ts(c.recorded_at),
    )
    if c.completed_at is not None:
        msg.completed_at.CopyFrom(_ts(c.completed_at))
    if c.invitation_expires_at is not None:
        msg.invitation_expires_at.CopyFrom(_ts(c.invitation_expires_at))
    return msg


def rating_to_proto(r: domain.Rating) -> feedback_pb2.Rating:
    return feedback_pb2.Rating(
        rating_id=r.rating_id,
        case_id=r.case_id,
        stage=_e(r.stage),
        channel=_e(r.channel),
        level=_e(r.level),
        indicators=[
            feedback_pb2.IndicatorScore(indicator=name, level=_e(level))
            for name, level in r.indicators
        ],
        comment=r.comment,
        real_name=r.real_name,
        late=r.late,
        flagged_for_review=r.flagged,
        excluded=r.excluded,
        rated_at=_ts(r.rated_at),
        ticket_id=r.ticket_id,
        institution_id=r.institution_id,
        service_item_id=r.service_item_id,
        node_id=r.node_id,
        kiosk_id=r.kiosk_id,
        client_rating_id=r.client_rating_id,
    )


def ticket_to_proto(t: domain.Ticket) -> feedback_pb2.RectificationTicket:
    return feedback_pb2.RectificationTicket(
        ticket_id=t.ticket_id,
        rating_id=t.rating_id,
        institution_id=t.institution_id,
        node_id=t.node_id,
        state=_e(t.state),
        opened_at=_ts(t.opened_at),
        due_date=t.due_date.isoformat(),
        breached=t.breached,
        history=[
            feedback_pb2.TicketTransition(
                to=_e(h.to_state),
                stamp=common_pb2.ActorStamp(actor=h.actor, time=_ts(h.at)),
                note=h.note,
                **{"from": int(h.from_state) if h.from_state is not None else 0},
            )
            for h in t.history
        ],
        service_item_id=t.service_item_id,
        real_name=t.real_name,
        deadline_working_days=t.deadline_working_days,
    )


def appeal_to_proto(a: domain.Appeal) -> feedback_pb2.Appeal:
    msg = feedback_pb2.Appeal(
        appeal_id=a.appeal_id,
        rating_id=a.rating_id,
        grounds=a.grounds,
        statement=a.statement,
        decision=_e(a.decision),
        filed=common_pb2.ActorStamp(actor=a.filed_by, time=_ts(a.filed_at)),
    )
    if a.decided_at is not None:
        msg.decided.CopyFrom(common_pb2.ActorStamp(actor=a.decided_by, time=_ts(a.decided_at)))
    return msg


def report_to_proto(r: domain.Report) -> feedback_pb2.Report:
    return feedback_pb2.Report(
        report_id=r.report_id,
        kind=_e(r.kind),
        source=_e(r.source),
        category=r.category,
        region_code=r.region_code,
        text=r.text,
        group_id=r.group_id,
        received_at=_ts(r.received_at),
        point_id=r.point_id,
    )


def new_rating(src: feedback_pb2.SubmitRatingRequest) -> domain.NewRating:
    return domain.NewRating(
        token=src.rating_token,
        stage=src.stage,
        channel=src.channel,
        level=src.level,
        indicators=tuple((i.indicator, i.level) for i in src.indicators),
        comment=src.comment,
        real_name=src.real_name,
        device_id=src.device_id,
    )


def kiosk_rating(src: feedback_pb2.KioskRating) -> domain.KioskRating:
    return domain.KioskRating(
        client_rating_id=src.client_rating_id,
        rated_at=_when(src.rated_at, src.HasField("rated_at")),
        rating=new_rating(src.rating),
    )


def group_to_proto(g: domain.ReportGroup) -> feedback_pb2.ReportGroup:
    return feedback_pb2.ReportGroup(
        group_id=g.group_id,
        representative_text=g.representative_text,
        size=g.size,
        category=g.category,
        region_code=g.region_code,
        kind=_e(g.kind),
    )


class OutboxEvents:
    """The domain's EventSink, writing to the outbox in the same transaction."""

    def __init__(self, outbox: Outbox, session: Session) -> None:
        self.outbox = outbox
        self.session = session

    def case_recorded(self, case: domain.ServiceCase) -> None:
        self.outbox.record(
            self.session,
            events_pb2.ServiceCaseRecorded(service_case=case_to_proto(case)),
            subject=f"case/{case.case_id}",
        )

    def rating_submitted(self, rating: domain.Rating) -> None:
        self.outbox.record(
            self.session,
            events_pb2.RatingSubmitted(
                rating=rating_to_proto(rating),
                institution_id=rating.institution_id,
                service_item_id=rating.service_item_id,
                node_id=rating.node_id,
            ),
            subject=f"rating/{rating.rating_id}",
        )

    def ticket_changed(self, ticket: domain.Ticket) -> None:
        self.outbox.record(
            self.session,
            events_pb2.TicketChanged(ticket=ticket_to_proto(ticket)),
            subject=f"ticket/{ticket.ticket_id}",
        )

    def ticket_breached(self, ticket: domain.Ticket) -> None:
        self.outbox.record(
            self.session,
            events_pb2.TicketDeadlineBreached(ticket=ticket_to_proto(ticket)),
            subject=f"ticket/{ticket.ticket_id}",
        )

    def appeal_changed(self, appeal: domain.Appeal, rating: domain.Rating) -> None:
        self.outbox.record(
            self.session,
            events_pb2.AppealChanged(
                appeal=appeal_to_proto(appeal),
                institution_id=rating.institution_id,
                rating=rating_to_proto(rating),
            ),
            subject=f"rating/{rating.rating_id}",
        )

    def report_submitted(self, report: domain.Report) -> None:
        self.outbox.record(
            self.session,
            events_pb2.ReportSubmitted(report=report_to_proto(report)),
            subject=f"report/{report.report_id}",
        )


class FeedbackServicer(feedback_pb2_grpc.FeedbackServiceServicer):
    def __init__(self, feedback: domain.Feedback, node: str) -> None:
        self.feedback = feedback
        self.node = node

    # -- cases ------------------------------------------------------------------------------
    def RecordServiceCase(
        self, request: feedback_pb2.RecordServiceCaseRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.RecordServiceCaseResponse:
        new = domain.NewCase(
            institution_id=request.institution_id,
            service_item_id=request.service_item_id,
            person_id=request.person_id,
            completed_at=_when(request.completed_at, request.HasField("completed_at")),
            request_id=request.request_id,
            in_progress=request.in_progress,
        )
        case, token = self.feedback.record_case(current_principal(), new)
        return feedback_pb2.RecordServiceCaseResponse(
            service_case=case_to_proto(case), rating_token=token
        )

    def GetServiceCase(
        self, request: feedback_pb2.GetServiceCaseRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.ServiceCase:
        return case_to_proto(self.feedback.get_case(current_principal(), request.case_id))

    def CompleteServiceCase(
        self, request: feedback_pb2.CompleteServiceCaseRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.ServiceCase:
        case = self.feedback.complete_case(
            current_principal(),
            request.case_id,
            _when(request.completed_at, request.HasField("completed_at")),
        )
        return case_to_proto(case)

    # -- ratings ----------------------------------------------------------------------------
    def _count(self, rating: domain.Rating) -> None:
        labels = {"node": self.node, "channel": rating.channel.name.lower()}
        metrics.RATINGS_ACCEPTED.labels(
            level=rating.level.name.lower(), bad=str(rating.level.is_bad).lower(), **labels
        ).inc()
        if rating.flagged:
            metrics.RATINGS_FLAGGED.labels(node=self.node).inc()
        if rating.ticket_id:
            metrics.TICKETS_OPENED.labels(node=self.node).inc()

    def SubmitRating(
        self, request: feedback_pb2.SubmitRatingRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.Rating:
        rating = self.feedback.submit_rating(current_principal(), new_rating(request))
        self._count(rating)
        return rating_to_proto(rating)

    def SyncKioskRatings(
        self, request: feedback_pb2.SyncKioskRatingsRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.SyncKioskRatingsResponse:
        result = self.feedback.sync_kiosk(
            current_principal(), request.kiosk_id, [kiosk_rating(r) for r in request.ratings]
        )
        for rating in result.accepted:
            self._count(rating)
        if result.known:
            metrics.KIOSK_DUPLICATES.labels(node=self.node).inc(result.known)
        return feedback_pb2.SyncKioskRatingsResponse(
            accepted=len(result.accepted), duplicates=result.duplicates, rejected=result.rejected
        )

    def GetRating(
        self, request: feedback_pb2.GetRatingRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.Rating:
        return rating_to_proto(self.feedback.get_rating(current_principal(), request.rating_id))

    def ListRatings(
        self, request: feedback_pb2.ListRatingsRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.ListRatingsResponse:
        query = domain.RatingQuery(
            institution_id=request.institution_id,
            node=self.node,
            flagged_only=request.flagged_only,
            bad_only=request.bad_only,
        )
        page = page_request(request.page_size, request.page_token, query.filters())
        items, total = self.feedback.list_ratings(current_principal(), query, page.size, page.after)
        return feedback_pb2.ListRatingsResponse(
            ratings=[rating_to_proto(r) for r in items],
            next_page_token=page.token_after(items, domain.rating_sort_key),
            total_size=total,
        )

    # -- tickets ----------------------------------------------------------------------------
    def GetTicket(
        self, request: feedback_pb2.GetTicketRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.RectificationTicket:
        return ticket_to_proto(self.feedback.get_ticket(current_principal(), request.ticket_id))

    def ListTickets(
        self, request: feedback_pb2.ListTicketsRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.ListTicketsResponse:
        query = domain.TicketQuery(
            institution_id=request.institution_id,
            node=self.node,
            states=tuple(request.states),
            breached_only=request.breached_only,
        )
        page = page_request(request.page_size, request.page_token, query.filters())
        items, total = self.feedback.list_tickets(current_principal(), query, page.size, page.after)
        next_token = page.token_after(items, lambda t: t.ticket_id)
        return feedback_pb2.ListTicketsResponse(
            tickets=[ticket_to_proto(t) for t in items],
            next_page_token=next_token,
            total_size=total,
        )

    def TransitionTicket(
        self, request: feedback_pb2.TransitionTicketRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.RectificationTicket:
        ticket = self.feedback.transition_ticket(
            current_principal(), request.ticket_id, request.to, request.note
        )
        return ticket_to_proto(ticket)

    def FileAppeal(
        self, request: feedback_pb2.FileAppealRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.Appeal:
        appeal = self.feedback.file_appeal(
            current_principal(), request.rating_id, request.grounds, request.statement
        )
        return appeal_to_proto(appeal)

    def DecideAppeal(
        self, request: feedback_pb2.DecideAppealRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.Appeal:
        appeal = self.feedback.decide_appeal(
            current_principal(), request.appeal_id, request.decision, request.reason
        )
        metrics.APPEALS_DECIDED.labels(node=self.node, decision=appeal.decision.name.lower()).inc()
        return appeal_to_proto(appeal)

    # -- reports ----------------------------------------------------------------------------
    def SubmitReport(
        self, request: feedback_pb2.SubmitReportRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.Report:
        report, joined = self.feedback.submit_report(
            domain.NewReport(
                kind=request.kind,
                source=request.source,
                category=request.category,
                region_code=request.region_code,
                text=request.text,
                point_id=request.point_id,
            )
        )
        metrics.REPORTS_RECEIVED.labels(
            node=self.node, kind=report.kind.name.lower(), grouped=str(joined).lower()
        ).inc()
        return report_to_proto(report)

    def ListReportGroups(
        self, request: feedback_pb2.ListReportGroupsRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.ListReportGroupsResponse:
        groups, total, next_token = self.feedback.list_report_groups(
            current_principal(),
            request.kind,
            request.region_code,
            request.page_size,
            request.page_token,
        )
        return feedback_pb2.ListReportGroupsResponse(
            groups=[group_to_proto(g) for g in groups],
            next_page_token=next_token,
            total_size=total,
        )

    def GetDemandWithoutSupply(
        self, request: feedback_pb2.GetDemandWithoutSupplyRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.GetDemandWithoutSupplyResponse:
        unmet = self.feedback.demand_without_supply(current_principal(), request.region_code)
        return feedback_pb2.GetDemandWithoutSupplyResponse(
            unmet=[
                feedback_pb2.UnmetDemand(
                    category=u.category,
                    region_code=u.region_code,
                    need_count=u.need_count,
                    supplying_items=u.supplying_items,
                )
                for u in unmet
            ]
        )

    # -- indices ----------------------------------------------------------------------------
    def GetSatisfactionIndex(
        self, request: feedback_pb2.GetSatisfactionIndexRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.SatisfactionIndex:
        scope, counts = self.feedback.satisfaction_index(
            request.institution_id, request.service_item_id, request.node_id, request.period
        )
        return feedback_pb2.SatisfactionIndex(
            scope=scope,
            period=request.period,
            rating_count=counts.rating_count,
            satisfied_count=counts.satisfied_count,
            bad_review_count=counts.bad_count,
            tickets_closed_on_time=counts.tickets_on_time,
            tickets_breached=counts.tickets_breached,
            follow_ups=counts.follow_ups,
            appeals_filed=counts.appeals_filed,
            appeals_upheld=counts.appeals_upheld,
            **counts.rates(),
        )
