"""A typed async client for `orloj.extensions.v1.MeteringQueryService`.

    async with MeteringQueryClient("127.0.0.1:50052", token=token) as client:
        report = await client.get_usage(start=day_start, window="hour", group_by=["model"])
        print(report.total.cost, report.currency)
        async for stored in client.iter_metering_events(start=day_start, namespace="team-a"):
            ...

The token needs the `metering.reader` role. Every failed call raises
`MeteringQueryError` carrying the gRPC status code (and, for INVALID_ARGUMENT,
the fields the service named).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, TypedDict, Unpack

from extplane_client._rpc import (
    ChannelClient,
    choice,
    from_timestamp,
    to_timestamp,
)
from extplane_client.errors import ExtplaneError
from extplane_protos.orloj.extensions.v1 import metering_pb2, metering_query_pb2_grpc
from extplane_protos.orloj.extensions.v1 import metering_query_pb2 as pb

UsageWindow = Literal["minute", "hour", "day"]
UsageDimension = Literal["namespace", "task", "agent", "model"]

_WINDOWS: dict[str, pb.UsageWindow.ValueType] = {
    "minute": pb.USAGE_WINDOW_MINUTE,
    "hour": pb.USAGE_WINDOW_HOUR,
    "day": pb.USAGE_WINDOW_DAY,
}
_DIMENSIONS: dict[str, pb.UsageDimension.ValueType] = {
    "namespace": pb.USAGE_DIMENSION_NAMESPACE,
    "task": pb.USAGE_DIMENSION_TASK,
    "agent": pb.USAGE_DIMENSION_AGENT,
    "model": pb.USAGE_DIMENSION_MODEL,
}


class MeteringFilter(TypedDict, total=False):
    """Only events whose fields equal these; an empty or missing one matches any."""

    namespace: str
    task: str
    agent: str
    model: str


_FILTER_FIELDS = ("namespace", "task", "agent", "model")


def _apply(
    filters: MeteringFilter, request: pb.GetUsageRequest | pb.ListMeteringEventsRequest
) -> None:
    unknown = set(filters) - set(_FILTER_FIELDS)
    if unknown:
        raise TypeError(f"unexpected filter {', '.join(sorted(unknown))}")
    for name in _FILTER_FIELDS:
        setattr(request, name, filters.get(name, ""))


class MeteringQueryError(ExtplaneError):
    """A metering query failed; `code` says how (UNAUTHENTICATED, INVALID_ARGUMENT, ...)."""


@dataclass(frozen=True)
class UsageBucket:
    """The usage of one group in one window; only the grouped fields are non-empty."""

    window_start: datetime
    window_end: datetime
    namespace: str
    task: str
    agent: str
    model: str
    events: int
    tokens_in: int
    tokens_out: int
    tool_calls: int
    duration_ms: int
    cost: Decimal

    @classmethod
    def from_proto(cls, bucket: pb.UsageBucket) -> UsageBucket:
        return cls(
            window_start=from_timestamp(bucket.window_start),
            window_end=from_timestamp(bucket.window_end),
            namespace=bucket.namespace,
            task=bucket.task,
            agent=bucket.agent,
            model=bucket.model,
            events=bucket.events,
            tokens_in=bucket.tokens_in,
            tokens_out=bucket.tokens_out,
            tool_calls=bucket.tool_calls,
            duration_ms=bucket.duration_ms,
            # The service sends exact decimal strings; "" only from a sink that prices nothing.
            cost=Decimal(bucket.cost or "0"),
        )


@dataclass(frozen=True)
class UsageReport:
    """Non-empty buckets by window then group, the whole range's total, and the
    ISO 4217 currency of every cost."""

    buckets: tuple[UsageBucket, ...]
    total: UsageBucket
    currency: str


@dataclass(frozen=True)
class StoredMeteringEvent:
    """An event as the service stored it.

    `event` is the generated message, exactly as recorded (its timestamp keeps
    nanoseconds); `receive_time` is when the service committed it.
    """

    event: metering_pb2.MeteringEvent
    receive_time: datetime

    @classmethod
    def from_proto(cls, stored: pb.StoredMeteringEvent) -> StoredMeteringEvent:
        return cls(event=stored.event, receive_time=from_timestamp(stored.receive_time))


@dataclass(frozen=True)
class MeteringEventsPage:
    """One page; `next_page_token` is empty on the last."""

    events: tuple[StoredMeteringEvent, ...]
    next_page_token: str


class MeteringQueryClient(ChannelClient):
    """Calls one metering service's query API (`metering.reader` role)."""

    error_type = MeteringQueryError

    @functools.cached_property
    def _stub(self) -> metering_query_pb2_grpc.MeteringQueryServiceAsyncStub:
        return metering_query_pb2_grpc.MeteringQueryServiceStub(self._channel)

    async def get_usage(
        self,
        *,
        start: datetime,
        end: datetime | None = None,
        window: UsageWindow | None = None,
        group_by: Sequence[UsageDimension] = (),
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
        **filters: Unpack[MeteringFilter],
    ) -> UsageReport:
        """Usage summed over [start, end) (end: now), bucketed by `window` (None: one
        bucket for the range, else UTC-aligned) and grouped by `group_by`, in order."""
        request = pb.GetUsageRequest(
            start_time=to_timestamp(start, "start"),
            window=choice(_WINDOWS, window, "window") if window else pb.USAGE_WINDOW_UNSPECIFIED,
            group_by=[choice(_DIMENSIONS, name, "group_by") for name in group_by],
        )
        if end is not None:
            request.end_time.CopyFrom(to_timestamp(end, "end"))
        _apply(filters, request)
        response = await self._unary(self._stub.GetUsage, request, timeout)
        return UsageReport(
            buckets=tuple(UsageBucket.from_proto(b) for b in response.buckets),
            total=UsageBucket.from_proto(response.total),
            currency=response.currency,
        )

    async def list_metering_events(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        page_size: int = 0,
        page_token: str = "",
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
        **filters: Unpack[MeteringFilter],
    ) -> MeteringEventsPage:
        """One page of stored events, oldest first (page_size 0: the service's default,
        100; at most 1000). Pass `next_page_token` back with the same filter."""
        request = pb.ListMeteringEventsRequest(page_size=page_size, page_token=page_token)
        if start is not None:
            request.start_time.CopyFrom(to_timestamp(start, "start"))
        if end is not None:
            request.end_time.CopyFrom(to_timestamp(end, "end"))
        _apply(filters, request)
        response = await self._unary(self._stub.ListMeteringEvents, request, timeout)
        return MeteringEventsPage(
            events=tuple(StoredMeteringEvent.from_proto(e) for e in response.events),
            next_page_token=response.next_page_token,
        )

    async def iter_metering_events(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        page_size: int = 1000,
        timeout: float = 30.0,  # noqa: ASYNC109 - the deadline of each page's call
        **filters: Unpack[MeteringFilter],
    ) -> AsyncGenerator[StoredMeteringEvent, None]:
        """Every stored event matching the filter, oldest first, page after page."""
        token = ""
        while True:
            page = await self.list_metering_events(
                start=start,
                end=end,
                page_size=page_size,
                page_token=token,
                timeout=timeout,
                **filters,
            )
            for stored in page.events:
                yield stored
            token = page.next_page_token
            if not token:
                return
