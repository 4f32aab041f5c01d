"""The gRPC face of queries: `orloj.extensions.v1.MeteringQueryService`.

Every call first needs a bearer token with the `metering.reader` role, on the
gRPC path and through the gateway alike.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from extplane.metering import page_token
from extplane.metering.config import MeteringSettings
from extplane.metering.rows import stored_proto
from extplane.metering.store import EventsQuery, MeteringStore
from extplane.metering.usage import (
    SumOverflowError,
    event_filter,
    timestamp_field,
    usage_query,
    usage_response,
)
from extplane.runtime.auth import METERING_READER, Authorizer
from extplane.runtime.bad_request import InvalidRequestError, abort_field, abort_invalid
from extplane.runtime.paging import page_size
from extplane_protos.orloj.extensions.v1 import metering_query_pb2 as query_pb2
from extplane_protos.orloj.extensions.v1 import metering_query_pb2_grpc as query_pb2_grpc

_logger = logging.getLogger(__name__)

T = TypeVar("T")


UsageRequest = query_pb2.GetUsageRequest
UsageResponse = query_pb2.GetUsageResponse
EventsRequest = query_pb2.ListMeteringEventsRequest
EventsResponse = query_pb2.ListMeteringEventsResponse


class MeteringQueryServicer(query_pb2_grpc.MeteringQueryServiceServicer):
    def __init__(
        self,
        store: MeteringStore,
        settings: MeteringSettings,
        *,
        authorizer: Authorizer,
        clock_ns: Callable[[], int],
    ) -> None:
        self._store = store
        self._settings = settings
        self._authorizer = authorizer
        self._clock_ns = clock_ns
        self.serving = False  # set by the service between start() and stop()

    async def _admit(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        await self._authorizer.require(context, METERING_READER)
        if not self.serving:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "metering service is not serving")

    async def _read(self, context: grpc.aio.ServicerContext[Any, Any], read: Awaitable[T]) -> T:
        try:
            return await read
        except Exception:
            # The store is down or failing: the caller may retry; details go to the log.
            _logger.exception("metering store read failed")
            await context.abort(grpc.StatusCode.UNAVAILABLE, "metering store read failed")

    async def GetUsage(  # noqa: N802 - the generated servicer names the RPC method
        self, request: UsageRequest, context: grpc.aio.ServicerContext[UsageRequest, UsageResponse]
    ) -> UsageResponse:
        await self._admit(context)
        try:
            query = usage_query(request, self._clock_ns(), self._settings)
            rows = await self._read(context, self._store.usage(query))
            requested_start = timestamp_field(request, "start_time")
            assert requested_start is not None  # usage_query required it
            return usage_response(rows, query, self._settings, requested_start)
        except InvalidRequestError as error:
            await abort_invalid(context, error)
        except SumOverflowError as error:
            await context.abort(grpc.StatusCode.OUT_OF_RANGE, str(error))

    async def ListMeteringEvents(  # noqa: N802 - the generated servicer names the RPC method
        self,
        request: EventsRequest,
        context: grpc.aio.ServicerContext[EventsRequest, EventsResponse],
    ) -> EventsResponse:
        await self._admit(context)
        try:
            start = timestamp_field(request, "start_time")
            end = timestamp_field(request, "end_time")
        except InvalidRequestError as error:
            await abort_invalid(context, error)
        if start is not None and end is not None and end <= start:
            await abort_field(context, "end_time", "the range must end after it starts")
        try:
            size = page_size(request.page_size)
        except InvalidRequestError as error:
            await abort_invalid(context, error)
        filters = event_filter(request)
        issued_for = page_token.fingerprint(start, end, filters)
        after = None
        if request.page_token:
            try:
                after = page_token.decode(request.page_token, issued_for)
            except page_token.BadPageTokenError as error:
                await abort_field(context, "page_token", str(error))
        rows = await self._read(
            context,
            self._store.list_events(EventsQuery(start, end, filters, after=after, limit=size + 1)),
        )
        answer = EventsResponse(events=[stored_proto(row) for row in rows[:size]])
        if len(rows) > size:
            last = rows[size - 1]
            answer.next_page_token = page_token.encode((last.event[0], last.seq), issued_for)
        return answer
