"""Read model of who served whom: feedback's ServiceCaseRecorded events of any node, kept
for this node's persons only ("<node>:<id>"). Staff may read a person (and verify one) only
when one of their institutions has recorded a case for that person."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from puhui.events.v1 import envelope_pb2
from puhui.feedback.v1 import events_pb2
from puhui.identity.adapters.db import SqlRepository
from puhui.kit.inbox import InvalidEvent
from puhui.kit.times import utcnow

CASE_RECORDED = "puhui.feedback.v1.ServiceCaseRecorded"


def served_handler(node: str) -> Callable[[Session, envelope_pb2.EventEnvelope], None]:
    """Inbox handler for `node`'s identity service."""

    def apply(session: Session, envelope: envelope_pb2.EventEnvelope) -> None:
        if envelope.type != CASE_RECORDED:
            return  # ratings, tickets …: not about who was served
        recorded = events_pb2.ServiceCaseRecorded()
        if not envelope.payload.Unpack(recorded) or not recorded.service_case.case_id:
            raise InvalidEvent("ServiceCaseRecorded without a case")
        case = recorded.service_case
        if not case.person_id.startswith(f"{node}:") or not case.institution_id:
            return  # an anonymous walk-in, or a person of another node
        SqlRepository(session).add_served(case.person_id, case.institution_id, utcnow())

    return apply
