"""Staff read only persons their institution served: the served-persons read model is fed
by feedback's ServiceCaseRecorded events through Kafka (real PostgreSQL, Kafka, gRPC)."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import any_pb2

from puhui.events.v1 import envelope_pb2
from puhui.feedback.v1 import events_pb2, feedback_pb2
from puhui.identity import domain
from puhui.identity.server import build
from puhui.identity.tests.integration.support import register, sign_in, unique_email
from puhui.identity.v1 import identity_pb2, identity_pb2_grpc
from puhui.kit import kafka
from puhui.kit.testing import bearer, eventually, running, temporary_database

# A node no other suite uses: its consumer group and feedback topic are this test's own.
NODE = "630000"
OURS, THEIRS = f"{NODE}-000001", f"{NODE}-000002"


@pytest.fixture(scope="module")
def identity(settings, postgres_admin_url):
    with temporary_database(postgres_admin_url, "identity") as url:
        app = build(**{**settings, "node_id": NODE, "database_url": url})
        with running(app) as host, grpc.insecure_channel(host.address) as channel:
            yield app, identity_pb2_grpc.IdentityServiceStub(channel)


def staff_token(app, stub, institution: str) -> str:
    email = unique_email()
    person = register(stub, email=email)
    app.identity.change_role(
        None, person.person_id, domain.Role.INSTITUTION_STAFF, institution, grant=True
    )
    return sign_in(stub, email).access_token


def publish_case(bootstrap: str, institution: str, person_id: str) -> None:
    case = feedback_pb2.ServiceCase(
        case_id=uuid.uuid4().hex,
        institution_id=institution,
        service_item_id="item-1",
        person_id=person_id,
        node_id=NODE,
    )
    payload = any_pb2.Any()
    payload.Pack(events_pb2.ServiceCaseRecorded(service_case=case))
    envelope = envelope_pb2.EventEnvelope(
        event_id=uuid.uuid4().hex,
        type="puhui.feedback.v1.ServiceCaseRecorded",
        source_node=NODE,
        source_service="feedback",
        subject=f"case/{case.case_id}",
        payload=payload,
    )
    producer = kafka.make_producer(bootstrap, "served-test")
    try:
        topic = kafka.topic_name(NODE, "feedback")
        producer.send(topic, key=case.case_id.encode(), value=envelope.SerializeToString())
        producer.flush(10)
    finally:
        producer.close()


def get_person(stub, token: str, person_id: str) -> identity_pb2.Person:
    return stub.GetPerson(
        identity_pb2.GetPersonRequest(person_id=person_id), metadata=bearer(token), timeout=10
    )


def test_staff_see_only_persons_their_institution_served(identity, kafka_bootstrap):
    app, stub = identity
    person = register(stub, mobile="13800138000")
    ours, theirs = staff_token(app, stub, OURS), staff_token(app, stub, THEIRS)
    for token in (ours, theirs):
        with pytest.raises(grpc.RpcError) as refused:
            get_person(stub, token, person.person_id)
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND

    publish_case(kafka_bootstrap, OURS, f"320000:{uuid.uuid4().hex}")  # another node's person
    publish_case(kafka_bootstrap, OURS, person.person_id)

    def served() -> identity_pb2.Person | None:
        try:
            return get_person(stub, ours, person.person_id)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return None  # the served-persons read model has not caught up yet

    seen = eventually(served, 60, interval=0.3)
    assert (seen.person_id, seen.display_name) == (person.person_id, person.display_name)
    assert (seen.email, seen.mobile, list(seen.roles)) == ("", "", [])
    with pytest.raises(grpc.RpcError) as still:
        get_person(stub, theirs, person.person_id)
    assert still.value.code() == grpc.StatusCode.NOT_FOUND
