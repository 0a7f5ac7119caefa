"""Times at the edges of every service: protobuf Timestamps <-> aware UTC datetimes.

One rule everywhere: a service handles and stores instants as aware UTC datetimes (a naive
value, as SQLite hands them back, *is* UTC). Local time (China Standard Time for working
days and reporting periods) is derived from an instant where it is needed, never stored.
Microseconds survive a round trip; nanoseconds below a microsecond are dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

# The range google.protobuf.Timestamp allows (0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z).
TIMESTAMP_MIN_SECONDS = -62_135_596_800
TIMESTAMP_MAX_SECONDS = 253_402_300_799


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc(moment: datetime) -> datetime:
    """`moment` as an aware UTC datetime (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc(moment)


def aware(moment: datetime) -> datetime:
    """`moment` with UTC attached if it is naive (as SQLite hands values back); an aware
    value is returned as it is, in its own zone. Cheaper than `utc` on a hot read path."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def aware_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else aware(moment)


def to_timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    """An aware (or naive UTC) datetime as a Timestamp, to the microsecond."""
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(utc(moment))
    return ts


def from_timestamp(ts: timestamp_pb2.Timestamp) -> datetime:
    """A Timestamp (checked by `puhui.kit.validation`) as an aware UTC datetime."""
    return ts.ToDatetime(tzinfo=UTC)


def timestamp_in_range(seconds: int, nanos: int) -> bool:
    """Whether (seconds, nanos) is a Timestamp the protobuf spec allows."""
    return TIMESTAMP_MIN_SECONDS <= seconds <= TIMESTAMP_MAX_SECONDS and 0 <= nanos < 10**9
