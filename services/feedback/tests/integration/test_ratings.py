"""Ratings, tickets, appeals and indices against real PostgreSQL, Redis and Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import grpc
import pytest
from google.protobuf import timestamp_pb2
from sqlalchemy import func, select

from puhui.feedback.adapters.db import outbox, ratings, tickets
from puhui.feedback.tests.integration.conftest import eventually
from puhui.feedback.tests.support import (
    IT_INSTITUTION as INSTITUTION,
)
from puhui.feedback.tests.support import (
    IT_NODE as NODE,
)
from puhui.feedback.tests.support import (
    reason,
)
from puhui.feedback.v1 import events_pb2, feedback_pb2
from puhui.kit.testing import bearer, read_events, violations

pytestmark = pytest.mark.integration

fb = feedback_pb2
TOPIC = f"puhui.{NODE}.feedback.events"


def new_institution() -> str:
    # The test verifier scopes "staff" to this institution; items are unique per test instead.
    return INSTITUTION


def record(stub, item: str, **kw):
    fields = {
        "institution_id": new_institution(),
        "service_item_id": item,
        "person_id": f"{NODE}:person-1",
        "request_id": str(uuid.uuid4()),
    }
    fields.update(kw)
    return stub.RecordServiceCase(
        fb.RecordServiceCaseRequest(**fields), metadata=bearer("staff"), timeout=10
    )


def rating_request(token: str, level=fb.RATING_LEVEL_SATISFIED, **kw):
    fields = {
        "rating_token": token,
        "stage": fb.CASE_STAGE_COMPLETION,
        "channel": fb.RATING_CHANNEL_ONLINE,
        "level": level,
    }
    fields.update(kw)
    return fb.SubmitRatingRequest(**fields)


def index(stub, item: str, period: str | None = None):
    period = period or datetime.now(UTC).astimezone().strftime("%Y")
    return stub.GetSatisfactionIndex(
        fb.GetSatisfactionIndexRequest(service_item_id=item, period=period), timeout=10
    )


def count_rows(app, table, *where) -> int:
    with app.db.transaction() as s:
        return s.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_token_single_use_and_rating_event(module_app, kafka_bootstrap):
    app, stub = module_app
    item = f"item-{uuid.uuid4()}"
    token = record(stub, item).rating_token
    rating = stub.SubmitRating(
        rating_request(token, indicators=[fb.IndicatorScore(indicator="efficiency", level=1)]),
        timeout=10,
    )
    assert rating.level == fb.RATING_LEVEL_SATISFIED
    assert not rating.late

    before = count_rows(app, outbox)
    with pytest.raises(grpc.RpcError) as info:
        stub.SubmitRating(rating_request(token, level=fb.RATING_LEVEL_VERY_SATISFIED), timeout=10)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(info.value) == "RATING_TOKEN_USED"
    assert count_rows(app, ratings, ratings.c.service_item_id == item) == 1
    assert count_rows(app, outbox) == before

    with pytest.raises(grpc.RpcError) as info:
        stub.SubmitRating(rating_request("rt_not-a-token"), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(info.value)) == {"rating_token"}

    with pytest.raises(grpc.RpcError) as info:
        stub.SubmitRating(rating_request(token, level=0, stage=0), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(info.value)) == {"level", "stage"}

    # An undefined level is refused by the kit's validation layer, before the handler.
    with pytest.raises(grpc.RpcError) as info:
        stub.SubmitRating(rating_request(token, level=9), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(info.value)) == {"level"}

    events = read_events(
        kafka_bootstrap, TOPIC, lambda e: e.subject == f"rating/{rating.rating_id}"
    )
    assert events[0].type == "puhui.feedback.v1.RatingSubmitted"
    submitted = events_pb2.RatingSubmitted()
    events[0].payload.Unpack(submitted)
    assert submitted.service_item_id == item
    assert token.encode() not in events[0].SerializeToString()

    # Counted once in the index (built by the consumer of the events).
    assert eventually(lambda: index(stub, item).rating_count == 1)


def test_staff_cannot_rate_own_institution(module_app):
    _app, stub = module_app
    token = record(stub, f"item-{uuid.uuid4()}").rating_token
    with pytest.raises(grpc.RpcError) as info:
        stub.SubmitRating(rating_request(token), metadata=bearer("staff"), timeout=10)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_case_in_progress_cannot_rate_completion(module_app):
    _, stub = module_app
    created = record(stub, f"item-{uuid.uuid4()}", in_progress=True)
    with pytest.raises(grpc.RpcError) as info:
        stub.SubmitRating(rating_request(created.rating_token), timeout=10)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(info.value) == "CASE_NOT_COMPLETED"
    stub.SubmitRating(
        rating_request(created.rating_token, stage=fb.CASE_STAGE_ACCEPTANCE), timeout=10
    )


def ts(moment: datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(moment)
    return out


def test_offline_kiosk_sync_never_counts_twice(module_app):
    app, stub = module_app
    item = f"item-{uuid.uuid4()}"
    kiosk = f"kiosk-{uuid.uuid4()}"
    old = datetime.now(UTC) - timedelta(days=40)
    late_case = record(stub, item, completed_at=ts(old))
    tokens = [record(stub, item).rating_token for _ in range(2)]
    batch = fb.SyncKioskRatingsRequest(
        kiosk_id=kiosk,
        ratings=[
            fb.KioskRating(
                client_rating_id=f"c{i}",
                rating=rating_request(tok, channel=fb.RATING_CHANNEL_ON_SITE),
                rated_at=ts(datetime.now(UTC) - timedelta(hours=3)),
            )
            for i, tok in enumerate([*tokens, late_case.rating_token])
        ],
    )
    first = stub.SyncKioskRatings(batch, timeout=20)
    assert (first.accepted, first.duplicates, dict(first.rejected)) == (3, 0, {})
    # The kiosk lost the acknowledgement and syncs the same batch again, plus a bad one.
    batch.ratings.append(
        fb.KioskRating(client_rating_id="c9", rating=rating_request("rt_x"), rated_at=ts(old))
    )
    second = stub.SyncKioskRatings(batch, timeout=20)
    assert (second.accepted, second.duplicates) == (0, 3)
    assert list(second.rejected) == ["c9"]
    assert count_rows(app, ratings, ratings.c.kiosk_id == kiosk) == 3
    with app.db.transaction() as s:
        late = s.execute(
            select(ratings.c.late).where(ratings.c.case_id == late_case.service_case.case_id)
        ).scalar_one()
    assert late  # completed 40 days ago: accepted, marked late
    assert eventually(lambda: index(stub, item).rating_count == 3)
    assert index(stub, item).rating_count == 3


def test_burst_from_one_device_is_flagged_via_redis(module_app):
    _, stub = module_app
    item = f"item-{uuid.uuid4()}"
    device = f"phone-{uuid.uuid4()}"
    flags = [
        stub.SubmitRating(
            rating_request(record(stub, item).rating_token, device_id=device), timeout=10
        ).flagged_for_review
        for _ in range(5)
    ]
    assert flags == [False, False, False, True, True]

    # The institution's staff see the flagged ones in their review list.
    flagged = stub.ListRatings(
        fb.ListRatingsRequest(institution_id=INSTITUTION, flagged_only=True, page_size=500),
        metadata=bearer("staff"),
        timeout=10,
    )
    mine = [r for r in flagged.ratings if r.service_item_id == item]
    assert len(mine) == 2
    assert all(r.flagged_for_review for r in mine)
    with pytest.raises(grpc.RpcError) as info:
        stub.ListRatings(
            fb.ListRatingsRequest(institution_id=INSTITUTION),
            metadata=bearer("other-staff"),
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_bad_review_ticket_lifecycle_and_appeal_removes_it_from_the_index(
    module_app, kafka_bootstrap
):
    _app, stub = module_app
    item = f"item-{uuid.uuid4()}"
    good = stub.SubmitRating(rating_request(record(stub, item).rating_token), timeout=10)
    bad = stub.SubmitRating(
        rating_request(
            record(stub, item).rating_token,
            level=fb.RATING_LEVEL_VERY_DISSATISFIED,
            comment="窗口态度差",
        ),
        timeout=10,
    )
    assert bad.ticket_id
    assert good.ticket_id == ""
    staff = bearer("staff")
    ticket = stub.GetTicket(
        fb.GetTicketRequest(ticket_id=bad.ticket_id), metadata=staff, timeout=10
    )
    assert ticket.state == fb.TICKET_STATE_OPEN
    assert ticket.deadline_working_days == 5
    assert date.fromisoformat(ticket.due_date) > date.today()

    # Illegal: straight to closed.
    with pytest.raises(grpc.RpcError) as info:
        stub.TransitionTicket(
            fb.TransitionTicketRequest(ticket_id=bad.ticket_id, to=fb.TICKET_STATE_CLOSED),
            metadata=staff,
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(info.value) == "ILLEGAL_TICKET_TRANSITION"
    moved = stub.TransitionTicket(
        fb.TransitionTicketRequest(
            ticket_id=bad.ticket_id, to=fb.TICKET_STATE_VERIFYING, note="核实中"
        ),
        metadata=staff,
        timeout=10,
    )
    assert [h.to for h in moved.history] == [fb.TICKET_STATE_OPEN, fb.TICKET_STATE_VERIFYING]
    assert moved.history[-1].stamp.actor == f"{NODE}:staff-1"

    # The two ratings' events may sit on different partitions: wait for both.
    assert eventually(lambda: index(stub, item).rating_count == 2)
    before = index(stub, item)
    assert before.rating_count == 2
    assert before.bad_review_rate == 0.5

    appeal = stub.FileAppeal(
        fb.FileAppealRequest(
            rating_id=bad.rating_id, grounds="malicious", statement="同一设备批量差评"
        ),
        metadata=staff,
        timeout=10,
    )
    with pytest.raises(grpc.RpcError) as info:
        stub.DecideAppeal(
            fb.DecideAppealRequest(
                appeal_id=appeal.appeal_id, decision=fb.APPEAL_DECISION_UPHELD, reason="x"
            ),
            metadata=staff,
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    decided = stub.DecideAppeal(
        fb.DecideAppealRequest(
            appeal_id=appeal.appeal_id, decision=fb.APPEAL_DECISION_UPHELD, reason="恶意差评属实"
        ),
        metadata=bearer("admin"),
        timeout=10,
    )
    assert decided.decision == fb.APPEAL_DECISION_UPHELD
    assert decided.decided.actor == f"{NODE}:admin-1"
    got = stub.GetRating(fb.GetRatingRequest(rating_id=bad.rating_id), metadata=staff, timeout=10)
    assert got.excluded
    voided = stub.GetTicket(
        fb.GetTicketRequest(ticket_id=bad.ticket_id), metadata=staff, timeout=10
    )
    assert voided.state == fb.TICKET_STATE_VOIDED

    # The review leaves the index: one rating left, no bad review, one upheld appeal.
    assert eventually(lambda: index(stub, item).appeals_upheld == 1)
    after = index(stub, item)
    assert (after.rating_count, after.bad_review_count, after.satisfied_share) == (1, 0, 1.0)
    events = read_events(
        kafka_bootstrap,
        TOPIC,
        lambda e: e.subject == f"rating/{bad.rating_id}" and e.type.endswith("AppealChanged"),
        count=2,
    )
    assert len(events) == 2


def test_real_name_review_needs_follow_up_and_breach_job_emits(module_app, kafka_bootstrap):
    app, stub = module_app
    item = f"item-{uuid.uuid4()}"
    staff = bearer("staff")
    bad = stub.SubmitRating(
        rating_request(
            record(stub, item).rating_token, level=fb.RATING_LEVEL_DISSATISFIED, real_name=True
        ),
        metadata=bearer("person"),
        timeout=10,
    )
    for state in (fb.TICKET_STATE_VERIFYING, fb.TICKET_STATE_RECTIFYING, fb.TICKET_STATE_RECTIFIED):
        stub.TransitionTicket(
            fb.TransitionTicketRequest(ticket_id=bad.ticket_id, to=state),
            metadata=staff,
            timeout=10,
        )
    with pytest.raises(grpc.RpcError) as info:
        stub.TransitionTicket(
            fb.TransitionTicketRequest(ticket_id=bad.ticket_id, to=fb.TICKET_STATE_CLOSED),
            metadata=staff,
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "回访" in info.value.details()

    # The deadline passes before the follow-up: the periodic job flags it (run directly here).
    with app.db.transaction() as s:
        due = s.execute(
            select(tickets.c.due_date).where(tickets.c.ticket_id == bad.ticket_id)
        ).scalar_one()
    breached = app.check_deadlines(today=due + timedelta(days=1))
    assert bad.ticket_id in [t.ticket_id for t in breached]
    assert bad.ticket_id not in [
        t.ticket_id for t in app.check_deadlines(today=due + timedelta(days=2))
    ]
    events = read_events(
        kafka_bootstrap,
        TOPIC,
        lambda e: (
            e.subject == f"ticket/{bad.ticket_id}" and e.type.endswith("TicketDeadlineBreached")
        ),
    )
    assert len(events) == 1

    stub.TransitionTicket(
        fb.TransitionTicketRequest(
            ticket_id=bad.ticket_id, to=fb.TICKET_STATE_FOLLOWED_UP, note="电话回访，已满意"
        ),
        metadata=staff,
        timeout=10,
    )
    closed = stub.TransitionTicket(
        fb.TransitionTicketRequest(ticket_id=bad.ticket_id, to=fb.TICKET_STATE_CLOSED),
        metadata=staff,
        timeout=10,
    )
    assert closed.state == fb.TICKET_STATE_CLOSED
    assert closed.breached
    assert eventually(lambda: index(stub, item).follow_ups == 1)
    got = index(stub, item)
    assert (got.tickets_breached, got.tickets_closed_on_time, got.rectification_on_time_rate) == (
        1,
        0,
        0.0,
    )
    listed = stub.ListTickets(
        fb.ListTicketsRequest(institution_id=new_institution(), breached_only=True),
        metadata=staff,
        timeout=10,
    )
    assert bad.ticket_id in [t.ticket_id for t in listed.tickets]


def test_metrics_open_tickets_gauge_and_ratings_by_level(module_app):
    from prometheus_client import REGISTRY

    _app, stub = module_app
    accepted = {"node": NODE, "channel": "online", "level": "very_dissatisfied", "bad": "true"}
    open_before = REGISTRY.get_sample_value("puhui_feedback_tickets_open", {"node": NODE})
    accepted_before = REGISTRY.get_sample_value("puhui_feedback_ratings_accepted_total", accepted)
    bad = stub.SubmitRating(
        rating_request(
            record(stub, f"item-{uuid.uuid4()}").rating_token,
            level=fb.RATING_LEVEL_VERY_DISSATISFIED,
            comment="等候时间过长",
        ),
        timeout=10,
    )
    assert bad.ticket_id
    assert open_before is not None  # the collector is registered while the app runs
    assert REGISTRY.get_sample_value("puhui_feedback_tickets_open", {"node": NODE}) == (
        open_before + 1
    )
    assert REGISTRY.get_sample_value("puhui_feedback_ratings_accepted_total", accepted) == (
        (accepted_before or 0) + 1
    )
