"""Time as the stores keep it: integer nanoseconds since the Unix epoch, UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

NS_PER_S = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def datetime_ns(moment: datetime) -> int:
    """Exact, fractions of a second included (`datetime.timestamp()` is a float)."""
    return (moment - _EPOCH) // _MICROSECOND * 1000


def rfc3339(ns: int) -> str:
    """As protojson writes a Timestamp, e.g. `2026-11-21T10:00:00.500Z`."""
    ts = Timestamp()
    ts.FromNanoseconds(ns)
    return ts.ToJsonString()


# What stores can hold: int64 nanoseconds, 1677-09-21T00:12:43.145224192Z ..
# 2262-04-11T23:47:16.854775807Z.
MIN_NS = -(2**63)
MAX_NS = 2**63 - 1
# What a Timestamp may be at all (and protojson reads): 0001-01-01T00:00:00Z ..
# 9999-12-31T23:59:59.999999999Z.
MIN_TIMESTAMP_SECONDS = -62_135_596_800
MAX_TIMESTAMP_SECONDS = 253_402_300_799


def invalid_reason(ts: Timestamp) -> str | None:
    """Why `ts` is not a valid Timestamp (the wire lets any int64 and int32 through)."""
    if not MIN_TIMESTAMP_SECONDS <= ts.seconds <= MAX_TIMESTAMP_SECONDS:
        return "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z"
    if not 0 <= ts.nanos < NS_PER_S:
        return "nanos must be in 0..999999999"
    return None


def clamped_ns(ts: Timestamp) -> int:
    """`ts` in ns, clamped to what stores hold: as a query's range bound, a time past
    2262 (or before 1677) matches exactly what the bound itself would."""
    return min(MAX_NS, max(MIN_NS, ts.seconds * NS_PER_S + ts.nanos))
