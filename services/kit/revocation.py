"""Revoked access tokens: the stores the verifier checks, and the follower that fills them
from every node's revocation topic (docs/adr/0014, superseding that part of 0009).

A revocation is keyed by issuer and token id (`revocation_key`): a node revokes only its own
tokens, and a `jti` another node happens to name cannot kill someone else's token.

The issuing node's identity service records each revocation (sign-out, RevokeToken, a
reused refresh token) as a `puhui.events.v1.TokenRevoked` event in its transactional outbox,
stream "revocations", so it reaches `puhui.<node>.identity.revocations` even if Kafka was
down at the time. Every service process runs a `RevocationFollower`:

    follower = RevocationFollower(bootstrap, lambda: verifier.revocations).start()
    follower.wait_caught_up(10)   # the revocations of the last `lookback_seconds` applied

It reads every topic matching `revocations_pattern()` (all partitions assigned, no consumer
group, nothing committed), from the offsets of `now - lookback_seconds` — a window covering
the longest token lifetime — so a restarted process rebuilds its list from Kafka without any
local state, and finds topics of new nodes every `discover_seconds`. An event is applied
only when the topic's node, the envelope's `source_node` and the payload's `issuer` agree.
Kafka being down only delays revocations; the list already built stays.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from google.protobuf.message import DecodeError

from puhui.events.v1 import envelope_pb2, revocation_pb2
from puhui.kit import kafka
from puhui.kit.errors import Unavailable

logger = logging.getLogger(__name__)

REVOCATIONS_SERVICE = "identity"
REVOCATIONS_STREAM = "revocations"
# Longer than any token lifetime (identity caps access tokens at 3600 s) plus leeway.
DEFAULT_LOOKBACK_SECONDS = 2 * 3600
REVOCATIONS_TOPIC_CONFIG = {"cleanup.policy": "delete", "retention.ms": str(24 * 3600 * 1000)}
TOKEN_REVOKED = revocation_pb2.TokenRevoked.DESCRIPTOR.full_name


def revocation_key(issuer: str, jti: str) -> str:
    """The store key of token `jti` issued by node `issuer`."""
    return f"{issuer}/{jti}"


def revocations_pattern() -> str:
    """Every node's revocations topic in this process's federation namespace."""
    return kafka.topic_pattern(REVOCATIONS_SERVICE, REVOCATIONS_STREAM)


def revocations_topic(node: str) -> str:
    return kafka.topic_name(node, REVOCATIONS_SERVICE, REVOCATIONS_STREAM)


def ensure_revocations_topic(bootstrap: str, node: str) -> None:
    kafka.ensure_topics(
        bootstrap, [revocations_topic(node)], partitions=1, configs=REVOCATIONS_TOPIC_CONFIG
    )


# -- stores ------------------------------------------------------------------------------------
class RevocationStore(Protocol):
    def revoke(self, jti: str, expires_at: float) -> None:
        """Reject `jti` until `expires_at` (Unix seconds); afterwards the token is dead anyway."""

    def is_revoked(self, jti: str) -> bool: ...


class MemoryRevocationStore:
    """In-process store: every process's own list, rebuilt from Kafka on start."""

    PRUNE_EVERY_SECONDS = 5.0

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._revoked: dict[str, float] = {}
        self._lock = threading.Lock()
        self._pruned_at = -1e18

    def revoke(self, jti: str, expires_at: float) -> None:
        now = self._clock()
        with self._lock:
            self._revoked[jti] = max(expires_at, self._revoked.get(jti, 0.0))
            if now - self._pruned_at >= self.PRUNE_EVERY_SECONDS:  # not O(n) per revocation
                self._pruned_at = now
                for old in [j for j, exp in self._revoked.items() if exp < now]:
                    del self._revoked[old]

    def is_revoked(self, jti: str) -> bool:
        exp = self._revoked.get(jti)
        return exp is not None and exp >= self._clock()


class RedisRevocationStore:
    """Revoked jtis in one Redis sorted set (member jti, score = expiry), shared by every
    process of the node; members are dropped once expired.

    With `refresh_seconds` > 0 each process checks a local snapshot of the set refreshed at
    most that often (so a revocation made elsewhere takes effect within it; revocations made
    through this object take effect at once); 0 asks Redis on every check. If Redis does not
    answer, the last snapshot is used and a warning logged.
    """

    def __init__(
        self,
        client: Any,
        *,
        key: str = "puhui:revoked-jti",
        refresh_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._key = key
        self._refresh = refresh_seconds
        self._clock = clock
        self._snapshot: dict[str, float] = {}
        self._loaded_at = -1e18
        self._lock = threading.Lock()

    def revoke(self, jti: str, expires_at: float) -> None:
        now = self._clock()
        pipe = self._client.pipeline()
        pipe.zadd(self._key, {jti: expires_at}, gt=True)
        pipe.zadd(self._key, {jti: expires_at}, nx=True)
        pipe.zremrangebyscore(self._key, "-inf", now)
        pipe.execute()
        self._snapshot = {**self._snapshot, jti: expires_at}

    def _reload(self, now: float) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is refreshing; use the current snapshot
        try:
            members = self._client.zrangebyscore(self._key, now, "+inf", withscores=True)
            self._snapshot = {
                (m.decode() if isinstance(m, bytes) else m): float(score) for m, score in members
            }
            self._loaded_at = now
        except Exception as exc:
            logger.warning("revocation list could not be refreshed from Redis: %s", exc)
            self._loaded_at = now  # retry after refresh_seconds, not on every call
        finally:
            self._lock.release()

    def is_revoked(self, jti: str) -> bool:
        now = self._clock()
        if self._refresh <= 0:
            try:
                score = self._client.zscore(self._key, jti)
            except Exception as exc:  # fail closed: no snapshot to fall back on
                raise Unavailable("token revocation list is unavailable") from exc
            return score is not None and float(score) >= now
        if now - self._loaded_at >= self._refresh:
            self._reload(now)
        exp = self._snapshot.get(jti)
        return exp is not None and exp >= now


# -- the follower ------------------------------------------------------------------------------
StoreRef = Callable[[], RevocationStore]


class RevocationFollower:
    """Follows every node's revocation topic into a store (see the module docstring).

    `store` is called for each event, so an owner may swap its store (e.g. for Redis) after
    the follower started. `on_applied(issuer, jti, lag_seconds)` is called after each
    revocation is stored (tests and benchmarks measure propagation with it).
    """

    def __init__(
        self,
        bootstrap: str,
        store: StoreRef,
        *,
        pattern: str | None = None,
        lookback_seconds: float = DEFAULT_LOOKBACK_SECONDS,
        discover_seconds: float = 2.0,
        poll_timeout_ms: int = 200,
        clock: Callable[[], float] = time.time,
        on_applied: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.store = store
        self.pattern = re.compile(pattern or revocations_pattern())
        self.lookback_seconds = lookback_seconds
        self.discover_seconds = discover_seconds
        self.poll_timeout_ms = poll_timeout_ms
        self.on_applied = on_applied
        self._clock = clock
        self._stop = threading.Event()
        self._caught_up = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer: Any = None
        self._assigned: set[Any] = set()
        self._pending_end: dict[Any, int] = {}  # partitions not yet read up to their end
        self._discovered_at = -1e18
        self.applied = 0
        self.rejected = 0

    # one event -------------------------------------------------------------------------------
    def apply(self, topic: str, value: bytes | None) -> bool:
        """Apply one record of a revocation topic; True when it was stored (public for tests)."""
        if value is None:
            return False
        try:
            envelope = envelope_pb2.EventEnvelope.FromString(value)
            if envelope.type != TOKEN_REVOKED:
                return False
            event = revocation_pb2.TokenRevoked()
            if not envelope.payload.Unpack(event):
                raise DecodeError("payload is not a TokenRevoked")
        except DecodeError as exc:
            self.rejected += 1
            logger.warning("revocations: undecodable record on %s: %s", topic, exc)
            return False
        node = kafka.source_node_of(topic)
        if not event.jti or not (node == envelope.source_node == event.issuer):
            self.rejected += 1
            logger.warning(
                "revocations: ignored a revocation on %s from node %r for issuer %r "
                "(a node revokes only its own tokens)",
                topic,
                envelope.source_node,
                event.issuer,
            )
            return False
        expires_at = event.expires_at.ToNanoseconds() / 1e9
        now = self._clock()
        if expires_at < now:
            return False  # the token is dead anyway
        self.store().revoke(revocation_key(event.issuer, event.jti), expires_at)
        self.applied += 1
        if self.on_applied is not None:
            sent = envelope.time.ToNanoseconds() / 1e9
            self.on_applied(event.issuer, event.jti, now - sent)
        return True

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> RevocationFollower:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="revocation-follower", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def caught_up(self) -> bool:
        return self._caught_up.is_set()

    def wait_caught_up(self, timeout: float = 10.0) -> bool:
        """True once the revocations of the lookback window, as they stood, were applied."""
        return self._caught_up.wait(timeout)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self._poll()
                backoff = 0.5
            except Exception as exc:
                logger.warning("revocations follower: %s; retrying in %.1fs", exc, backoff)
                self._close()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        self._close()

    def _close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close(autocommit=False)
            except Exception:
                logger.debug("revocations follower: close failed", exc_info=True)
            self._consumer = None
            self._assigned = set()
            self._pending_end = {}
            self._discovered_at = -1e18

    def _discover(self) -> None:
        """Assign the partitions of matching topics not yet followed, each from the offset
        of `now - lookback_seconds` (its end when nothing is that recent)."""
        from kafka import KafkaConsumer
        from kafka.structs import TopicPartition

        if self._consumer is None:
            self._consumer = KafkaConsumer(
                **kafka.client_settings(),
                bootstrap_servers=kafka.servers(self.bootstrap),
                group_id=None,
                client_id="puhui-revocation-follower",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                metadata_max_age_ms=5_000,
                reconnect_backoff_max_ms=2_000,
                request_timeout_ms=15_000,
            )
        consumer = self._consumer
        self._discovered_at = time.monotonic()
        new: list[Any] = []
        for topic in sorted(t for t in consumer.topics() if self.pattern.match(t)):
            for p in sorted(consumer.partitions_for_topic(topic) or ()):
                tp = TopicPartition(topic, p)
                if tp not in self._assigned:
                    new.append(tp)
        if new:
            consumer.assign([*self._assigned, *new])
            since = int((self._clock() - self.lookback_seconds) * 1000)
            found = consumer.offsets_for_times(dict.fromkeys(new, since))
            ends = consumer.end_offsets(new)
            for tp in new:
                at = found.get(tp)
                start = at.offset if at is not None else ends[tp]
                consumer.seek(tp, start)
                if start < ends[tp]:
                    self._pending_end[tp] = ends[tp]
            self._assigned.update(new)
        if not self._pending_end:
            self._caught_up.set()

    def _poll(self) -> None:
        if (
            self._consumer is None
            or time.monotonic() - self._discovered_at >= self.discover_seconds
        ):
            self._discover()
        consumer = self._consumer
        if not self._assigned:
            self._stop.wait(self.poll_timeout_ms / 1000)
            return
        batches = consumer.poll(timeout_ms=self.poll_timeout_ms, max_records=500)
        for tp, records in batches.items():
            for record in records:
                self.apply(tp.topic, record.value)
        if self._pending_end:
            for tp, end in list(self._pending_end.items()):
                if consumer.position(tp) >= end:
                    del self._pending_end[tp]
            if not self._pending_end:
                self._caught_up.set()


__all__ = [
    "DEFAULT_LOOKBACK_SECONDS",
    "MemoryRevocationStore",
    "RedisRevocationStore",
    "RevocationFollower",
    "RevocationStore",
    "ensure_revocations_topic",
    "revocation_key",
    "revocations_pattern",
    "revocations_topic",
]
