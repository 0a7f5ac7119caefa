"""Read model of identity: which persons are registered at this node, from identity's
PersonRegistered events, so that RecordServiceCase refuses a person who does not exist."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from puhui.events.v1 import envelope_pb2
from puhui.feedback.adapters.tables import identity_persons
from puhui.identity.v1 import events_pb2
from puhui.kit.inbox import InvalidEvent

PERSON_REGISTERED = "puhui.identity.v1.PersonRegistered"


def apply_identity_event(session: Session, envelope: envelope_pb2.EventEnvelope) -> None:
    """Inbox handler: remember every registered person (other identity events: ignored)."""
    if envelope.type != PERSON_REGISTERED:
        return
    registered = events_pb2.PersonRegistered()
    if not envelope.payload.Unpack(registered) or not registered.person_id:
        raise InvalidEvent("PersonRegistered without a person")
    t = identity_persons
    known = session.execute(select(t.c.person_id).where(t.c.person_id == registered.person_id))
    if known.first() is None:
        session.execute(t.insert().values(person_id=registered.person_id))
