"""A case's times round-trip to the microsecond on both databases (issue 16: on SQLite a
case completed at 21:09:43Z read back as 05:09:43Z the next day, China time stored as UTC)."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import timestamp_pb2

from puhui.feedback.adapters.db import identity_persons
from puhui.feedback.server import build
from puhui.feedback.tests.support import (
    IT_INSTITUTION,
    IT_NODE,
    IT_PRINCIPALS,
    DictVerifier,
)
from puhui.feedback.v1 import feedback_pb2, feedback_pb2_grpc
from puhui.kit.testing import bearer, running, temporary_database

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def stub(request, tmp_path, postgres_admin_url, redis_url):
    if request.param == "sqlite":
        database = None
        url = f"sqlite:///{tmp_path}/feedback.db"
    else:
        database = temporary_database(postgres_admin_url, "fbtimes")
        url = database.__enter__()
    app = build(
        node_id=IT_NODE,
        database_url=url,
        redis_url=redis_url,
        grpc_port=0,
        metrics_port=0,
        run_consumers=False,
        verifier=DictVerifier(IT_PRINCIPALS),
    )
    try:
        with running(app) as host, grpc.insecure_channel(host.address) as channel:
            with app.db.transaction() as session:  # the person served is known here
                session.execute(identity_persons.insert().values(person_id=f"{IT_NODE}:person-1"))
            yield feedback_pb2_grpc.FeedbackServiceStub(channel)
    finally:
        if database is not None:
            database.__exit__(None, None, None)


def stamp(text: str) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromJsonString(text)
    return ts


def test_completed_and_invitation_times_round_trip_to_the_microsecond(stub):
    sent = stamp("2026-12-06T21:09:43.123456Z")
    recorded = stub.RecordServiceCase(
        feedback_pb2.RecordServiceCaseRequest(
            institution_id=IT_INSTITUTION,
            service_item_id="item-patent-search",
            person_id=f"{IT_NODE}:person-1",
            request_id=str(uuid.uuid4()),
            in_progress=True,
        ),
        metadata=bearer("staff"),
        timeout=10,
    ).service_case
    completed = stub.CompleteServiceCase(
        feedback_pb2.CompleteServiceCaseRequest(case_id=recorded.case_id, completed_at=sent),
        metadata=bearer("staff"),
        timeout=10,
    )
    got = stub.GetServiceCase(
        feedback_pb2.GetServiceCaseRequest(case_id=recorded.case_id),
        metadata=bearer("staff"),
        timeout=10,
    )
    for case in (completed, got):
        assert case.completed_at.ToJsonString() == "2026-12-06T21:09:43.123456Z"
        expires = case.invitation_expires_at.ToDatetime()
        assert expires.microsecond == 123456
        assert (expires - case.completed_at.ToDatetime()).total_seconds() % 86400 == 0
    assert got.recorded_at.ToDatetime() == recorded.recorded_at.ToDatetime()


@pytest.mark.parametrize("edge", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"])
def test_the_edges_of_the_timestamp_range_are_answered_not_internal(stub, edge):
    """Year 9999 is in the future: refused by the rule. Year 1: a valid completion."""
    case = stub.RecordServiceCase(
        feedback_pb2.RecordServiceCaseRequest(
            institution_id=IT_INSTITUTION,
            service_item_id="item-patent-search",
            person_id=f"{IT_NODE}:person-1",
            request_id=str(uuid.uuid4()),
            in_progress=True,
        ),
        metadata=bearer("staff"),
        timeout=10,
    ).service_case
    request = feedback_pb2.CompleteServiceCaseRequest(
        case_id=case.case_id, completed_at=stamp(edge)
    )
    if edge.startswith("9999"):
        with pytest.raises(grpc.RpcError) as info:
            stub.CompleteServiceCase(request, metadata=bearer("staff"), timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    else:
        done = stub.CompleteServiceCase(request, metadata=bearer("staff"), timeout=10)
        assert done.completed_at.ToJsonString() == edge
