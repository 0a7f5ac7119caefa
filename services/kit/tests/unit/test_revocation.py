"""The revocation follower's rules, record by record (no Kafka): a node revokes only its own
tokens; expired and foreign records change nothing."""

from __future__ import annotations

from google.protobuf import any_pb2, timestamp_pb2

from puhui.events.v1 import envelope_pb2, revocation_pb2
from puhui.kit.revocation import (
    MemoryRevocationStore,
    RevocationFollower,
    revocation_key,
    revocations_topic,
)

NOW = 1_800_000_000.0


def record(
    issuer: str, jti: str, *, source: str | None = None, expires_at: float = NOW + 600
) -> bytes:
    until = timestamp_pb2.Timestamp()
    until.FromNanoseconds(int(expires_at * 1e9))
    payload = any_pb2.Any()
    payload.Pack(revocation_pb2.TokenRevoked(issuer=issuer, jti=jti, expires_at=until))
    sent = timestamp_pb2.Timestamp()
    sent.FromNanoseconds(int((NOW - 0.25) * 1e9))
    return envelope_pb2.EventEnvelope(
        event_id="e",
        type=revocation_pb2.TokenRevoked.DESCRIPTOR.full_name,
        source_node=source or issuer,
        source_service="identity",
        time=sent,
        payload=payload,
    ).SerializeToString()


def follower() -> tuple[RevocationFollower, MemoryRevocationStore, list[tuple[str, str, float]]]:
    store = MemoryRevocationStore(lambda: NOW)
    seen: list[tuple[str, str, float]] = []
    f = RevocationFollower(
        "unused:9092", lambda: store, clock=lambda: NOW, on_applied=lambda *a: seen.append(a)
    )
    return f, store, seen


def test_a_node_revokes_its_own_token_everywhere():
    f, store, seen = follower()
    assert f.apply(revocations_topic("440000"), record("440000", "jti-1"))
    assert store.is_revoked(revocation_key("440000", "jti-1"))
    assert not store.is_revoked(revocation_key("320000", "jti-1"))  # same jti, other issuer
    [(issuer, jti, lag)] = seen
    assert (issuer, jti) == ("440000", "jti-1")
    assert abs(lag - 0.25) < 1e-3  # measured from the event's time


def test_a_revocation_claiming_another_nodes_token_is_ignored():
    f, store, _ = follower()
    # 320000 claims a 440000 token, on its own topic and on 440000's
    assert not f.apply(revocations_topic("320000"), record("440000", "x", source="320000"))
    assert not f.apply(revocations_topic("440000"), record("440000", "x", source="320000"))
    # a record whose envelope says 440000, written to 320000's topic
    assert not f.apply(revocations_topic("320000"), record("440000", "x"))
    assert not store.is_revoked(revocation_key("440000", "x"))
    assert f.rejected == 3
    assert f.applied == 0


def test_expired_undecodable_and_other_records_change_nothing():
    f, store, _ = follower()
    topic = revocations_topic("440000")
    assert not f.apply(topic, record("440000", "old", expires_at=NOW - 1))
    assert not f.apply(topic, b"\xff\x00not an envelope")
    assert not f.apply(topic, None)
    other = envelope_pb2.EventEnvelope(
        type="puhui.identity.v1.PersonRegistered", source_node="440000"
    )
    assert not f.apply(topic, other.SerializeToString())
    assert not store.is_revoked(revocation_key("440000", "old"))
    assert f.rejected == 1  # only the undecodable record is a fault


def test_memory_store_keeps_the_longest_expiry_and_forgets_expired():
    now = [NOW]
    store = MemoryRevocationStore(lambda: now[0])
    store.revoke("a", NOW + 10)
    store.revoke("a", NOW + 5)  # a replayed, shorter entry does not shorten it
    now[0] = NOW + 8
    assert store.is_revoked("a")
    now[0] = NOW + 11
    assert not store.is_revoked("a")
