"""Helpers of the metering tests: a settable wall clock, event builders, a
started service on a real gRPC server, and readers of rich error details."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc.error_details_pb2 import BadRequest
from grpc_status import rpc_status
from prometheus_client import CollectorRegistry

from extplane.metering.service import MeteringService
from extplane_protos.orloj.extensions.v1 import (
    metering_pb2,
    metering_pb2_grpc,
    metering_query_pb2,
    metering_query_pb2_grpc,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "metering.md"
NS_PER_S = 1_000_000_000
READER_TOKEN = "reader-token-0123456789"
AUDITOR_TOKEN = "auditor-token-0123456789"
AUTH = {
    "tokens": [
        {"name": "billing", "token": READER_TOKEN, "roles": ["metering.reader"]},
        {"name": "compliance", "token": AUDITOR_TOKEN, "roles": ["audit.reader"]},
    ],
    # These tests write without credentials; the writer checks have tests of their own.
    "allow_unauthenticated_ingest": True,
}
READER = (("authorization", f"Bearer {READER_TOKEN}"),)

# 2026-03-14 10:00:00 UTC: the tests' "now", unless they move the clock.
NOW = datetime(2026, 3, 14, 10, 0, tzinfo=UTC)

Event = metering_pb2.MeteringEvent
q = metering_query_pb2


def documented_toml() -> str:
    """The configuration example of docs/metering.md."""
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    [example] = [block for block in blocks if "[metering.rate_card]" in block]
    return str(example)


def ns(moment: datetime) -> int:
    return int(moment.timestamp()) * NS_PER_S + moment.microsecond * 1000


def ts(moment: datetime | int) -> Timestamp:
    value = moment if isinstance(moment, int) else ns(moment)
    stamp = Timestamp()
    stamp.FromNanoseconds(value)
    return stamp


class WallClock:
    """A wall clock (ns since the epoch) that moves only when a test says so."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now_ns = ns(now)

    def __call__(self) -> int:
        return self.now_ns

    def set(self, moment: datetime) -> None:
        self.now_ns = ns(moment)


def event(
    at: datetime | int = NOW,
    *,
    namespace: str = "team-a",
    task: str = "t1",
    agent: str = "planner",
    model: str = "gpt-4o",
    tokens_in: int = 100,
    tokens_out: int = 10,
    tool_calls: int = 1,
    duration_ms: int = 250,
    event_id: str = "",
) -> metering_pb2.MeteringEvent:
    return Event(
        timestamp=ts(at),
        namespace=namespace,
        task=task,
        agent=agent,
        model=model,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        tool_calls=tool_calls,
        duration_ms=duration_ms,
        event_id=event_id,
    )


def violations(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    """(field, description) of the BadRequest an INVALID_ARGUMENT carries."""
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "no google.rpc.Status in the trailers"
    found: list[tuple[str, str]] = []
    for detail in status.details:
        bad = BadRequest()
        if detail.Unpack(bad):
            found += [(v.field, v.description) for v in bad.field_violations]
    assert found, "no BadRequest field violations"
    return found


def fields(error: grpc.aio.AioRpcError) -> list[str]:
    return [name for name, _ in violations(error)]


@dataclass
class Metering:
    """A started MeteringService on a real server, with stubs on a real channel."""

    service: MeteringService
    address: str
    channel: grpc.aio.Channel
    clock: WallClock
    registry: CollectorRegistry
    sink: metering_pb2_grpc.MeteringSinkStub = field(init=False)
    query: metering_query_pb2_grpc.MeteringQueryServiceStub = field(init=False)

    def __post_init__(self) -> None:
        self.sink = metering_pb2_grpc.MeteringSinkStub(self.channel)
        self.query = metering_query_pb2_grpc.MeteringQueryServiceStub(self.channel)

    async def record(self, *events: metering_pb2.MeteringEvent) -> bool:
        """RecordMetering each event; True when the last was a duplicate."""
        duplicate = False
        for one in events:
            answer = await self.sink.RecordMetering(
                metering_pb2.RecordMeteringRequest(event=one), timeout=10
            )
            duplicate = answer.duplicate
        return duplicate

    async def batch(
        self, *events: metering_pb2.MeteringEvent
    ) -> metering_pb2.RecordMeteringBatchResponse:
        return await self.sink.RecordMeteringBatch(
            metering_pb2.RecordMeteringBatchRequest(events=events), timeout=10
        )

    async def usage(self, **request: Any) -> metering_query_pb2.GetUsageResponse:
        return await self.query.GetUsage(
            metering_query_pb2.GetUsageRequest(**request), metadata=READER, timeout=10
        )

    async def page(self, **request: Any) -> metering_query_pb2.ListMeteringEventsResponse:
        return await self.query.ListMeteringEvents(
            metering_query_pb2.ListMeteringEventsRequest(**request), metadata=READER, timeout=10
        )

    async def all_events(self, **request: Any) -> list[metering_query_pb2.StoredMeteringEvent]:
        """Every stored event matching `request`, following next_page_token."""
        found: list[metering_query_pb2.StoredMeteringEvent] = []
        token = ""
        while True:
            answer = await self.page(page_size=1000, page_token=token, **request)
            found += answer.events
            token = answer.next_page_token
            if not token:
                return found

    def metric(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


StartMetering = Callable[..., Awaitable[Metering]]
