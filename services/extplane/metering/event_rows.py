"""Events as the stores hold them: plain tuples, converted to and from protobuf.

A tuple per event (not an object) because ingest is the hot path: `executemany`
takes the tuples as they are, with no per-event work between the RPC and SQLite.
Timestamps are integer nanoseconds since the Unix epoch, so a stored event
reads back exactly as it was sent (Go's `time.Time` has nanoseconds) and
windows are integer arithmetic in SQL.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from google.protobuf.timestamp_pb2 import Timestamp

from extplane.runtime.timestamps import NS_PER_S
from extplane_protos.orloj.extensions.v1 import metering_pb2, metering_query_pb2

# (timestamp_ns, namespace, task, agent, model, tokens_in, tokens_out,
#  tool_calls, duration_ms, event_id or None): the column order of the table.
EventRow = tuple[int, str, str, str, str, int, int, int, int, str | None]

COLUMNS = (
    "ts_ns",
    "namespace",
    "task",
    "agent",
    "model",
    "tokens_in",
    "tokens_out",
    "tool_calls",
    "duration_ms",
    "event_id",
)
# Positions in an EventRow (Final, so type checkers know each position's type).
TIMESTAMP: Final = 0
NAMESPACE: Final = 1
TASK: Final = 2
AGENT: Final = 3
MODEL: Final = 4
TOKENS_IN: Final = 5
TOKENS_OUT: Final = 6
TOOL_CALLS: Final = 7
DURATION_MS: Final = 8
EVENT_ID: Final = 9


class StoredRow(NamedTuple):
    """An event read back, with its storage position and commit time."""

    seq: int
    event: EventRow
    received_ns: int


def timestamp_ns(timestamp: Timestamp) -> int:
    return timestamp.seconds * NS_PER_S + timestamp.nanos


def to_timestamp(ns: int) -> Timestamp:
    seconds, nanos = divmod(ns, NS_PER_S)
    return Timestamp(seconds=seconds, nanos=nanos)


def event_proto(row: EventRow) -> metering_pb2.MeteringEvent:
    return metering_pb2.MeteringEvent(
        timestamp=to_timestamp(row[TIMESTAMP]),
        namespace=row[NAMESPACE],
        task=row[TASK],
        agent=row[AGENT],
        model=row[MODEL],
        tokens_in=row[TOKENS_IN],
        tokens_out=row[TOKENS_OUT],
        tool_calls=row[TOOL_CALLS],
        duration_ms=row[DURATION_MS],
        event_id=row[EVENT_ID] or "",
    )


def stored_proto(stored: StoredRow) -> metering_query_pb2.StoredMeteringEvent:
    return metering_query_pb2.StoredMeteringEvent(
        event=event_proto(stored.event), receive_time=to_timestamp(stored.received_ns)
    )
