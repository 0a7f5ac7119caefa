"""FeedbackService gRPC servicer: proto ↔ domain only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from sqlalchemy.exc import IntegrityError

from puhui.common.v1 import common_pb2
from puhui.feedback import domain, errors, metrics
from puhui.feedback.adapters.db import SqlRepository
from puhui.feedback.adapters.indices import read_index
from puhui.feedback.v1 import events_pb2, feedback_pb2, feedback_pb2_grpc
from puhui.kit.auth import Principal, current_principal
from puhui.kit.db import Database
from puhui.kit.errors import InvalidArgument, PuhuiError, Violations
from puhui.kit.ids import new_id
from puhui.kit.outbox import Outbox
from puhui.kit.pagination import page_request
from puhui.kit.times import from_timestamp, to_timestamp, utcnow
from puhui.refdata import divisions

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


class Ids:
    def new(self) -> str:
        return new_id()


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
    def __init__(
        self,
        feedback: domain.Feedback,
        db: Database,
        outbox: Outbox,
        bursts: domain.BurstCounter,
        node: str,
    ) -> None:
        self.feedback = feedback
        self.db = db
        self.outbox = outbox
        self.bursts = bursts
        self.node = node
        self.ids = Ids()

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
        with self.db.read() as session:
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

    # -- ratings ----------------------------------------------------------------------------
    def _submit(self, new: domain.NewRating, principal: Principal, **kw: Any) -> domain.Rating:
        now = utcnow()
        try:
            with self.db.transaction() as session:
                rating = self.feedback.submit_rating(
                    SqlRepository(session),
                    OutboxEvents(self.outbox, session),
                    self.bursts,
                    principal,
                    new,
                    self.ids,
                    now,
                    **kw,
                )
        except IntegrityError:
            # A concurrent rating of the same case and stage (or kiosk rating) won the race.
            raise errors.TokenAlreadyUsed(
                "the rating token was already used for this stage"
            ) from None
        labels = {"node": self.node, "channel": rating.channel.name.lower()}
        metrics.RATINGS_ACCEPTED.labels(
            level=rating.level.name.lower(), bad=str(rating.level.is_bad).lower(), **labels
        ).inc()
        if rating.flagged:
            metrics.RATINGS_FLAGGED.labels(node=self.node).inc()
        if rating.ticket_id:
            metrics.TICKETS_OPENED.labels(node=self.node).inc()
        return rating

    def SubmitRating(
        self, request: feedback_pb2.SubmitRatingRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.Rating:
        new = self.feedback.validate_rating(new_rating(request))
        return rating_to_proto(self._submit(new, current_principal()))

    def SyncKioskRatings(
        self, request: feedback_pb2.SyncKioskRatingsRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.SyncKioskRatingsResponse:
        v = Violations()
        kiosk = request.kiosk_id.strip()
        if v.require(kiosk, "kiosk_id"):
            v.check(len(kiosk) <= domain.MAX_ID, "kiosk_id", f"at most {domain.MAX_ID} characters")
        v.check(len(request.ratings) <= MAX_SYNC, "ratings", f"at most {MAX_SYNC} per call")
        seen: set[str] = set()
        for i, item in enumerate(request.ratings):
            cid = item.client_rating_id.strip()
            if v.require(cid, f"ratings[{i}].client_rating_id"):
                v.check(len(cid) <= domain.MAX_ID, f"ratings[{i}].client_rating_id", "too long")
            v.check(cid not in seen, f"ratings[{i}].client_rating_id", "is repeated in this call")
            seen.add(cid)
            v.check(item.HasField("rated_at"), f"ratings[{i}].rated_at", "is required")
        v.raise_if_any()
        principal = current_principal()
        response = feedback_pb2.SyncKioskRatingsResponse()
        now = utcnow()
        for item in request.ratings:
            cid = item.client_rating_id.strip()
            with self.db.read() as session:
                known = SqlRepository(session).rating_by_client(kiosk, cid)
            if known is not None:
                response.duplicates += 1
                metrics.KIOSK_DUPLICATES.labels(node=self.node).inc()
                continue
            rated_at = from_timestamp(item.rated_at)
            src = feedback_pb2.SubmitRatingRequest()
            src.CopyFrom(item.rating)
            if src.channel == feedback_pb2.RATING_CHANNEL_UNSPECIFIED:
                src.channel = feedback_pb2.RATING_CHANNEL_ON_SITE
            try:
                if rated_at > now + timedelta(minutes=5):
                    raise InvalidArgument.field("rated_at", "must not be in the future")
                new = self.feedback.validate_rating(new_rating(src))
                self._submit(
                    new, principal, rated_at=rated_at, kiosk_id=kiosk, client_rating_id=cid
                )
                response.accepted += 1
            except errors.TokenAlreadyUsed as exc:
                with self.db.read() as session:
                    raced = SqlRepository(session).rating_by_client(kiosk, cid)
                if raced is not None:  # the same kiosk rating, synced concurrently
                    response.duplicates += 1
                else:
                    response.rejected[cid] = f"{exc.reason}: {exc.message}"
            except PuhuiError as exc:
                response.rejected[cid] = f"{exc.reason}: {exc.message}"
        return response

    def GetRating(
        self, request: feedback_pb2.GetRatingRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.Rating:
        with self.db.read() as session:
            rating = self.feedback.get_rating(
                SqlRepository(session), current_principal(), request.rating_id
            )
        return rating_to_proto(rating)

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
        with self.db.read() as session:
            items, total = self.feedback.list_ratings(
                SqlRepository(session), current_principal(), query, page.size, page.after
            )
        last = domain.rating_sort_key(items[-1]) if items else ""
        return feedback_pb2.ListRatingsResponse(
            ratings=[rating_to_proto(r) for r in items],
            next_page_token=page.next_token(last) if len(items) == page.size else "",
            total_size=total,
        )

    # -- tickets ----------------------------------------------------------------------------
    def GetTicket(
        self, request: feedback_pb2.GetTicketRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.RectificationTicket:
        with self.db.read() as session:
            ticket = self.feedback.get_ticket(
                SqlRepository(session), current_principal(), request.ticket_id
            )
        return ticket_to_proto(ticket)

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
        with self.db.read() as session:
            items, total = self.feedback.list_tickets(
                SqlRepository(session), current_principal(), query, page.size, page.after
            )
        next_token = page.next_token(items[-1].ticket_id) if len(items) == page.size else ""
        return feedback_pb2.ListTicketsResponse(
            tickets=[ticket_to_proto(t) for t in items],
            next_page_token=next_token,
            total_size=total,
        )

    def TransitionTicket(
        self, request: feedback_pb2.TransitionTicketRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.RectificationTicket:
        with self.db.transaction() as session:
            ticket = self.feedback.transition_ticket(
                SqlRepository(session),
                OutboxEvents(self.outbox, session),
                current_principal(),
                request.ticket_id,
                request.to,
                request.note,
                utcnow(),
            )
        return ticket_to_proto(ticket)

    def FileAppeal(
        self, request: feedback_pb2.FileAppealRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.Appeal:
        with self.db.transaction() as session:
            appeal = self.feedback.file_appeal(
                SqlRepository(session),
                OutboxEvents(self.outbox, session),
                current_principal(),
                request.rating_id,
                request.grounds,
                request.statement,
                new_id(),
                utcnow(),
            )
        return appeal_to_proto(appeal)

    def DecideAppeal(
        self, request: feedback_pb2.DecideAppealRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.Appeal:
        with self.db.transaction() as session:
            appeal = self.feedback.decide_appeal(
                SqlRepository(session),
                OutboxEvents(self.outbox, session),
                current_principal(),
                request.appeal_id,
                request.decision,
                request.reason,
                utcnow(),
            )
        metrics.APPEALS_DECIDED.labels(node=self.node, decision=appeal.decision.name.lower()).inc()
        return appeal_to_proto(appeal)

    # -- reports ----------------------------------------------------------------------------
    def SubmitReport(
        self, request: feedback_pb2.SubmitReportRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.Report:
        new = self.feedback.validate_report(
            domain.NewReport(
                kind=request.kind,
                source=request.source,
                category=request.category,
                region_code=request.region_code,
                text=request.text,
                point_id=request.point_id,
            )
        )
        with self.db.transaction() as session:
            report, joined = self.feedback.submit_report(
                SqlRepository(session), OutboxEvents(self.outbox, session), new, self.ids, utcnow()
            )
        metrics.REPORTS_RECEIVED.labels(
            node=self.node, kind=report.kind.name.lower(), grouped=str(joined).lower()
        ).inc()
        return report_to_proto(report)

    def ListReportGroups(
        self, request: feedback_pb2.ListReportGroupsRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.ListReportGroupsResponse:
        self.feedback.require_report_reader(current_principal())
        v = Violations()
        if request.kind:
            v.check(request.kind in domain.ReportKind.__members__.values(), "kind", "unknown kind")
        if request.region_code:
            v.check(
                divisions.is_valid(request.region_code), "region_code", "is not a GB/T 2260 code"
            )
        v.raise_if_any()
        filters = {"kind": request.kind, "region": request.region_code}
        page = page_request(request.page_size, request.page_token, filters)
        with self.db.read() as session:
            groups, total = SqlRepository(session).list_groups(
                request.kind, request.region_code, page.size, page.after
            )
        last = groups[-1] if groups else None
        next_token = (
            page.next_token(f"{last.size}:{last.group_id}")
            if last and len(groups) == page.size
            else ""
        )
        return feedback_pb2.ListReportGroupsResponse(
            groups=[
                feedback_pb2.ReportGroup(
                    group_id=g.group_id,
                    representative_text=g.representative_text,
                    size=g.size,
                    category=g.category,
                    region_code=g.region_code,
                    kind=_e(g.kind),
                )
                for g in groups
            ],
            next_page_token=next_token,
            total_size=total,
        )

    def GetDemandWithoutSupply(
        self, request: feedback_pb2.GetDemandWithoutSupplyRequest, context: grpc.ServicerContext
    ) -> feedback_pb2.GetDemandWithoutSupplyResponse:
        with self.db.read() as session:
            unmet = self.feedback.demand_without_supply(
                SqlRepository(session), current_principal(), request.region_code
            )
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
        scope = domain.index_scope(
            request.institution_id, request.service_item_id, request.node_id, self.node
        )
        if not domain.valid_period(request.period):
            raise InvalidArgument.field("period", "must be YYYY, YYYY-Qn or YYYY-MM")
        with self.db.read() as session:
            counts = read_index(session, scope, request.period)
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


MAX_SYNC = 500
