"""Service cases against real PostgreSQL and Kafka, through a real gRPC server."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import any_pb2
from sqlalchemy import func, select

from puhui.events.v1 import envelope_pb2
from puhui.feedback.adapters.db import cases, catalog_items, outbox
from puhui.feedback.tests.support import (
    IT_INSTITUTION as INSTITUTION,
)
from puhui.feedback.tests.support import (
    IT_NODE as NODE,
)
from puhui.feedback.v1 import events_pb2, feedback_pb2
from puhui.identity.v1 import events_pb2 as identity_events_pb2
from puhui.kit import kafka
from puhui.kit.testing import bearer, eventually, read_events, violations

pytestmark = pytest.mark.integration


@pytest.fixture
def feedback(module_app):
    return module_app


def counts(app) -> tuple[int, int]:
    with app.db.transaction() as s:
        return (
            s.execute(select(func.count()).select_from(cases)).scalar_one(),
            s.execute(select(func.count()).select_from(outbox)).scalar_one(),
        )


def record(stub, **kw):
    fields = {
        "institution_id": INSTITUTION,
        "service_item_id": "item-patent-search",
        "person_id": f"{NODE}:person-1",
        "request_id": str(uuid.uuid4()),
    }
    fields.update(kw)
    return stub.RecordServiceCase(
        feedback_pb2.RecordServiceCaseRequest(**fields), metadata=bearer("staff"), timeout=10
    )


def test_record_get_replay_and_event_on_kafka(feedback, kafka_bootstrap):
    app, stub = feedback
    request_id = str(uuid.uuid4())
    first = record(stub, request_id=request_id)
    case = first.service_case
    assert first.rating_token.startswith("rt_")
    assert case.completed
    assert case.node_id == NODE
    assert case.invitation_expires_at.seconds > case.completed_at.seconds

    # The token is stored only hashed.
    with app.db.transaction() as s:
        stored = s.execute(
            select(cases.c.token_hash).where(cases.c.case_id == case.case_id)
        ).scalar_one()
    assert first.rating_token not in stored
    assert len(stored) == 64

    # Replaying the request id returns the same case and token, and records nothing more.
    before = counts(app)
    again = record(stub, request_id=request_id)
    assert again.service_case.case_id == case.case_id
    assert again.rating_token == first.rating_token
    assert counts(app) == before

    got = stub.GetServiceCase(
        feedback_pb2.GetServiceCaseRequest(case_id=case.case_id),
        metadata=bearer("staff"),
        timeout=10,
    )
    assert got.service_item_id == "item-patent-search"

    events = read_events(
        kafka_bootstrap,
        f"puhui.{NODE}.feedback.events",
        lambda e: e.subject == f"case/{case.case_id}",
    )
    assert len(events) == 1
    assert events[0].type == "puhui.feedback.v1.ServiceCaseRecorded"
    recorded = events_pb2.ServiceCaseRecorded()
    assert events[0].payload.Unpack(recorded)
    assert recorded.service_case.case_id == case.case_id
    assert first.rating_token.encode() not in events[0].SerializeToString()


def test_bad_input_names_fields_and_writes_nothing(feedback):
    app, stub = feedback
    before = counts(app)
    with pytest.raises(grpc.RpcError) as info:
        record(stub, institution_id="", service_item_id="", request_id="", person_id="not-a-person")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(info.value)) == {
        "institution_id",
        "service_item_id",
        "request_id",
        "person_id",
    }
    assert counts(app) == before


def test_only_staff_of_the_institution_records(feedback):
    app, stub = feedback
    before = counts(app)
    request = feedback_pb2.RecordServiceCaseRequest(
        institution_id=INSTITUTION, service_item_id="i", request_id="r-1"
    )
    with pytest.raises(grpc.RpcError) as info:
        stub.RecordServiceCase(request, metadata=bearer("other-staff"), timeout=10)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as info:
        stub.RecordServiceCase(request, timeout=10)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert counts(app) == before


def test_unknown_case_is_not_found(feedback):
    _, stub = feedback
    with pytest.raises(grpc.RpcError) as info:
        stub.GetServiceCase(
            feedback_pb2.GetServiceCaseRequest(case_id="nope"), metadata=bearer("staff"), timeout=10
        )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def publish(bootstrap: str, topic: str, payload, subject: str) -> None:
    packed = any_pb2.Any()
    packed.Pack(payload)
    envelope = envelope_pb2.EventEnvelope(
        event_id=uuid.uuid4().hex,
        type=payload.DESCRIPTOR.full_name,
        source_node=NODE,
        subject=subject,
        payload=packed,
    )
    producer = kafka.make_producer(bootstrap, "feedback-case-test")
    try:
        producer.send(topic, key=subject.encode(), value=envelope.SerializeToString())
        producer.flush(10)
    finally:
        producer.close()


def test_a_case_needs_the_institutions_item_and_a_registered_person(feedback, kafka_bootstrap):
    app, stub = feedback
    with app.db.transaction() as session:
        session.execute(
            catalog_items.insert().values(
                item_id="item-of-another", institution_id=f"{NODE}-000002", category="X", version=1
            )
        )
    before = counts(app)
    with pytest.raises(grpc.RpcError) as other_item:
        record(stub, service_item_id="item-of-another")
    assert other_item.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(other_item.value)) == {"service_item_id"}
    newcomer = f"{NODE}:{uuid.uuid4().hex}"
    with pytest.raises(grpc.RpcError) as unknown:
        record(stub, person_id=newcomer)
    assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(unknown.value)) == {"person_id"}
    assert counts(app) == before

    # identity announces the person: once the event is in, the case is recorded
    registered = identity_events_pb2.PersonRegistered(person_id=newcomer, home_node=NODE)
    publish(kafka_bootstrap, f"puhui.{NODE}.identity.events", registered, f"person/{newcomer}")

    def recorded() -> list[feedback_pb2.ServiceCase]:
        try:
            return [record(stub, person_id=newcomer).service_case]
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            return []  # the person is not known yet

    [case] = eventually(recorded, 60, interval=0.3)
    assert case.person_id == newcomer
