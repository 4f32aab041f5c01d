"""The gRPC face of queries: `orloj.extensions.v1.MeteringQueryService`.

Every call first needs a bearer token with the `metering.reader` role, on the
gRPC path and through the gateway alike.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc

from extplane.errors import store_failures
from extplane.metering.config import MeteringSettings
from extplane.metering.event_rows import stored_proto
from extplane.metering.recorder import Recorder
from extplane.metering.store import EventFilter, EventsQuery, MeteringStore
from extplane.metering.usage import event_filter, usage_query, usage_response
from extplane.runtime import bounds
from extplane.runtime.auth import METERING_READER
from extplane.runtime.kit import ServiceKit
from extplane.runtime.paging import fill_page, page_size
from extplane.runtime.serving import Serving
from extplane_protos.orloj.extensions.v1 import metering_query_pb2 as query_pb2
from extplane_protos.orloj.extensions.v1 import metering_query_pb2_grpc as query_pb2_grpc

_logger = logging.getLogger(__name__)

EVENTS_PAGE = "metering.events"

UsageRequest = query_pb2.GetUsageRequest
UsageResponse = query_pb2.GetUsageResponse
EventsRequest = query_pb2.ListMeteringEventsRequest
EventsResponse = query_pb2.ListMeteringEventsResponse
Context = grpc.aio.ServicerContext[Any, Any]


def _events_scope(start: int | None, end: int | None, filters: EventFilter) -> list[object]:
    return [start, end, filters.namespace, filters.task, filters.agent, filters.model]


class MeteringQueryServicer(query_pb2_grpc.MeteringQueryServiceServicer):
    def __init__(
        self,
        serving: Serving[Recorder],
        store: MeteringStore,
        settings: MeteringSettings,
        kit: ServiceKit,
    ) -> None:
        self._serving = serving
        self._store = store
        self._settings = settings
        self._kit = kit

    async def _admit(self, context: Context) -> None:
        await self._kit.authorizer.require(context, METERING_READER)
        self._serving.current  # noqa: B018 - raises NotServingError when not serving

    async def GetUsage(  # noqa: N802 - the generated servicer names the RPC method
        self, request: UsageRequest, context: Context
    ) -> UsageResponse:
        await self._admit(context)
        bounds.check(request)
        query = usage_query(request, self._kit.clock_ns(), self._settings)
        with store_failures("metering store read failed", _logger):
            rows = await self._store.usage(query)
        requested_start = bounds.range_bound_ns(request, "start_time")
        assert requested_start is not None  # usage_query required it
        return usage_response(rows, query, self._settings, requested_start)

    async def ListMeteringEvents(  # noqa: N802 - the generated servicer names the RPC method
        self, request: EventsRequest, context: Context
    ) -> EventsResponse:
        await self._admit(context)
        bounds.check(request)
        start, end = bounds.time_range(request)
        size = page_size(request.page_size)
        filters = event_filter(request)
        scope = _events_scope(start, end, filters)
        after = None
        if request.page_token:
            ts_ns, seq = self._kit.page_tokens.read(request.page_token, EVENTS_PAGE, scope, 2)
            after = (ts_ns, seq)
        with store_failures("metering store read failed", _logger):
            rows = await self._store.list_events(
                EventsQuery(start, end, filters, after=after, limit=size + 1)
            )
        page = fill_page(rows, size, stored_proto)
        answer = EventsResponse(events=page.messages)
        if page.last is not None:
            answer.next_page_token = self._kit.page_tokens.issue(
                EVENTS_PAGE, scope, (page.last.event[0], page.last.seq)
            )
        return answer
