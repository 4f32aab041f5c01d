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
