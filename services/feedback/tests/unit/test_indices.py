"""Indices folded from events (as the hub folds every node's events): SQLite, no network."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.protobuf import any_pb2

from puhui.events.v1 import envelope_pb2
from puhui.feedback.adapters.indices import apply_event, read_index
from puhui.feedback.v1 import events_pb2
from puhui.feedback.v1 import feedback_pb2 as fb
from puhui.kit.inbox import InvalidEvent
from puhui.kit.times import to_timestamp

WHEN = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


@pytest.fixture
def db(sqlite_db):
    return sqlite_db


def envelope(payload, node: str) -> envelope_pb2.EventEnvelope:
    packed = any_pb2.Any()
    packed.Pack(payload)
    return envelope_pb2.EventEnvelope(
        event_id="e", type=payload.DESCRIPTOR.full_name, source_node=node, payload=packed
    )


def rating(node: str, institution: str, level: int, rid: str = "r") -> fb.Rating:
    return fb.Rating(
        rating_id=rid,
        level=level,
        rated_at=to_timestamp(WHEN),
        institution_id=institution,
        service_item_id=f"item-{institution}",
        node_id=node,
    )


def submitted(node: str, institution: str, level: int) -> envelope_pb2.EventEnvelope:
    r = rating(node, institution, level)
    return envelope(
        events_pb2.RatingSubmitted(
            rating=r, institution_id=institution, service_item_id=r.service_item_id, node_id=node
        ),
        node,
    )


def test_national_figures_sum_every_nodes_events(db):
    events = [
        submitted("440000", "gd-1", fb.RATING_LEVEL_VERY_SATISFIED),
        submitted("440000", "gd-1", fb.RATING_LEVEL_DISSATISFIED),
        submitted("320000", "js-1", fb.RATING_LEVEL_SATISFIED),
        envelope(
            events_pb2.TicketDeadlineBreached(
                ticket=fb.RectificationTicket(
                    institution_id="gd-1",
                    service_item_id="item-gd-1",
                    node_id="440000",
                    opened_at=to_timestamp(WHEN),
                )
            ),
            "440000",
        ),
        envelope(
            events_pb2.AppealChanged(
                appeal=fb.Appeal(decision=fb.APPEAL_DECISION_PENDING),
                rating=rating("440000", "gd-1", fb.RATING_LEVEL_DISSATISFIED),
            ),
            "440000",
        ),
    ]
    with db.transaction() as session:
        for e in events:
            apply_event(session, e)
        national = read_index(session, "all", "2026-11")
        guangdong = read_index(session, "node:440000", "2026-Q4")
        jiangsu = read_index(session, "node:320000", "2026")
        institution = read_index(session, "institution:gd-1", "2026-11")
        empty = read_index(session, "node:440000", "2026-10")
    assert (national.rating_count, national.bad_count, national.satisfied_count) == (3, 1, 2)
    assert (guangdong.rating_count, guangdong.tickets_breached, guangdong.appeals_filed) == (
        2,
        1,
        1,
    )
    assert jiangsu.rating_count == 1
    assert institution.rates()["bad_review_rate"] == 0.5
    assert empty.rating_count == 0

    upheld = envelope(
        events_pb2.AppealChanged(
            appeal=fb.Appeal(decision=fb.APPEAL_DECISION_UPHELD),
            rating=rating("440000", "gd-1", fb.RATING_LEVEL_DISSATISFIED),
        ),
        "440000",
    )
    with db.transaction() as session:
        apply_event(session, upheld)
        after = read_index(session, "institution:gd-1", "2026-11")
    assert (after.rating_count, after.bad_count, after.appeals_upheld) == (1, 0, 1)


def test_unknown_level_is_dead_lettered(db):
    with db.transaction() as session, pytest.raises(InvalidEvent):
        apply_event(session, submitted("440000", "gd-1", 42))
