"""The hub's batched feedback path gives the same national figures as applying the events
one by one (PostgreSQL and the embedded SQLite), in order, once each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from google.protobuf import any_pb2
from google.protobuf.message import Message

from puhui.events.v1 import envelope_pb2
from puhui.federation import national
from puhui.federation.adapters import db as t
from puhui.feedback.v1 import events_pb2 as ev
from puhui.feedback.v1 import feedback_pb2 as fb
from puhui.kit import migrations
from puhui.kit.batching import BatchingEventConsumer
from puhui.kit.db import Database
from puhui.kit.inbox import InvalidEvent
from puhui.kit.times import to_timestamp, utcnow

pytestmark = pytest.mark.integration


def env(node: str, payload: Message, event_id: str | None = None) -> envelope_pb2.EventEnvelope:
    packed = any_pb2.Any()
    packed.Pack(payload)
    return envelope_pb2.EventEnvelope(
        event_id=event_id or str(uuid.uuid4()),
        type=payload.DESCRIPTOR.full_name,
        source_node=node,
        source_service="feedback",
        time=to_timestamp(utcnow()),
        payload=packed,
    )


def history(node: str) -> list[envelope_pb2.EventEnvelope]:
    """Cases, ratings (one appealed and upheld right after it, in the same batch), a case
    delivered twice under two event ids, and a ticket that moves forward then back."""
    m = uuid.uuid4().hex[:8]
    case = lambda n: ev.ServiceCaseRecorded(  # noqa: E731
        service_case=fb.ServiceCase(case_id=f"{m}-c{n}", node_id=node)
    )
    rating = lambda n, level: ev.RatingSubmitted(  # noqa: E731
        rating=fb.Rating(rating_id=f"{m}-r{n}", case_id=f"{m}-c{n}", level=level)
    )
    ticket = lambda state: ev.TicketChanged(  # noqa: E731
        ticket=fb.RectificationTicket(ticket_id=f"{m}-t1", state=state)
    )
    return [
        env(node, case(1)),
        env(node, case(2)),
        env(node, rating(1, fb.RATING_LEVEL_VERY_SATISFIED)),
        env(node, rating(2, fb.RATING_LEVEL_DISSATISFIED)),
        env(
            node,
            ev.AppealChanged(
                appeal=fb.Appeal(
                    appeal_id=f"{m}-a", rating_id=f"{m}-r2", decision=fb.APPEAL_DECISION_UPHELD
                )
            ),
        ),
        env(node, case(3)),
        env(node, case(3)),  # the same case again: counted once
        env(node, ticket(fb.TICKET_STATE_CLOSED)),
        env(node, ticket(fb.TICKET_STATE_OPEN)),
        env(node, rating(3, fb.RATING_LEVEL_SATISFIED)),
    ]


@pytest.fixture(params=["postgresql", "sqlite"])
def hub_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgresql":
        url = request.getfixturevalue("database_url")
    else:
        url = f"sqlite:///{tmp_path / 'federation.db'}"
    migrations.upgrade("federation", url)
    db = Database(url)
    db.start()
    yield db
    db.stop()


def test_batch_gives_the_figures_of_one_by_one(hub_db: Database) -> None:
    with hub_db.transaction() as s:
        national.apply_feedback_batch(s, history("440000"))
    for envelope in history("320000"):
        with hub_db.transaction() as s:
            national.apply_feedback(s, envelope)
    by_node = {f.node_id: f for f in national.figures(hub_db)}
    batched, single = by_node["440000"], by_node["320000"]
    assert batched.service_cases == single.service_cases == 3
    assert batched.ratings == single.ratings == 2  # the upheld appeal excludes rating 2
    assert batched.score_sum == single.score_sum
    assert (batched.tickets_opened, batched.tickets_closed) == (1, 1)
    assert (single.tickets_opened, single.tickets_closed) == (1, 1)


def test_an_invalid_event_rolls_the_batch_back(hub_db: Database) -> None:
    events = history("440000")
    events.insert(3, env("440000", ev.ServiceCaseRecorded(service_case=fb.ServiceCase())))
    with pytest.raises(InvalidEvent), hub_db.transaction() as s:
        national.apply_feedback_batch(s, events)
    assert national.figures(hub_db) == []


def records(envelopes: list[envelope_pb2.EventEnvelope]) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(topic="puhui.440000.feedback.events", value=e.SerializeToString())
        for e in envelopes
    ]


def test_the_inbox_claims_each_event_once(hub_db: Database) -> None:
    applied: list[str] = []
    consumer = BatchingEventConsumer(
        hub_db, t.inbox, "127.0.0.1:1", group="test.feedback-batch", node="000000",
        service="federation", handler=national.apply_feedback,
        batch_handler=national.apply_feedback_batch, topics=["puhui.440000.feedback.events"],
        on_applied=lambda e: applied.append(e.event_id),
    )  # fmt: skip
    events = history("440000")
    first = consumer._apply_batch(records(events[:6] + events[:2]))  # redelivered in the batch
    assert first is not None
    assert [e.event_id for _r, e in first[0]] == [e.event_id for e in events[:6]]
    again = consumer._apply_batch(records(events))  # a replay after a crash, and the rest
    assert again is not None
    assert [e.event_id for _r, e in again[0]] == [e.event_id for e in events[6:]]
    (fig,) = national.figures(hub_db)
    assert (fig.service_cases, fig.ratings) == (3, 2)
