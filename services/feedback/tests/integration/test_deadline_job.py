"""The deadline job running inside the app: a breach becomes an event and a metric."""

from __future__ import annotations

import uuid
from datetime import date

import grpc
import pytest
from prometheus_client import REGISTRY

from puhui.feedback.server import build
from puhui.feedback.tests.support import (
    IT_INSTITUTION as INSTITUTION,
)
from puhui.feedback.tests.support import (
    IT_NODE as NODE,
)
from puhui.feedback.tests.support import (
    IT_PRINCIPALS as PRINCIPALS,
)
from puhui.feedback.tests.support import (
    DictVerifier,
)
from puhui.feedback.v1 import feedback_pb2 as fb
from puhui.feedback.v1 import feedback_pb2_grpc
from puhui.kit.testing import bearer, read_events, running

pytestmark = pytest.mark.integration


def breaches() -> float:
    value = REGISTRY.get_sample_value(
        "puhui_feedback_ticket_deadline_breached_total", {"node": NODE}
    )
    return value or 0.0


def test_periodic_job_emits_breach_event_and_metric(database_url, kafka_bootstrap):
    app = build(
        node_id=NODE,
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        grpc_port=0,
        metrics_port=0,
        breach_check_seconds=0.2,
        run_consumers=False,
        verifier=DictVerifier(PRINCIPALS),
    )
    before = breaches()
    with running(app) as host, grpc.insecure_channel(host.address) as channel:
        stub = feedback_pb2_grpc.FeedbackServiceStub(channel)
        case = stub.RecordServiceCase(
            fb.RecordServiceCaseRequest(
                institution_id=INSTITUTION, service_item_id="item-x", request_id=str(uuid.uuid4())
            ),
            metadata=bearer("staff"),
            timeout=10,
        )
        rating = stub.SubmitRating(
            fb.SubmitRatingRequest(
                rating_token=case.rating_token,
                stage=fb.CASE_STAGE_COMPLETION,
                channel=fb.RATING_CHANNEL_PHONE_SMS,
                level=fb.RATING_LEVEL_VERY_DISSATISFIED,
            ),
            timeout=10,
        )
        app.today = lambda: date(2099, 1, 1)  # the deadline has long passed
        events = read_events(
            kafka_bootstrap,
            f"puhui.{NODE}.feedback.events",
            lambda e: (
                e.subject == f"ticket/{rating.ticket_id}"
                and e.type.endswith("TicketDeadlineBreached")
            ),
        )
        assert len(events) == 1
        ticket = stub.GetTicket(
            fb.GetTicketRequest(ticket_id=rating.ticket_id), metadata=bearer("staff"), timeout=10
        )
        assert ticket.breached
    assert breaches() >= before + 1
