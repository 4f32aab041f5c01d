"""The gRPC face of ingest: `orloj.extensions.v1.MeteringSink`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import grpc

from extplane.errors import store_failures
from extplane.metering.config import MeteringSettings
from extplane.metering.event_rows import EventRow
from extplane.metering.metrics import MeteringMetrics
from extplane.metering.recorder import Recorder
from extplane.metering.store import IngestOutcome
from extplane.metering.validation import validate_batch, validate_event
from extplane.runtime.bad_request import InvalidRequestError
from extplane.runtime.event_rules import TimeWindow
from extplane.runtime.serving import Serving
from extplane.runtime.writers import WriterGuard
from extplane_protos.orloj.extensions.v1 import metering_pb2, metering_pb2_grpc

_logger = logging.getLogger(__name__)

Request = metering_pb2.RecordMeteringRequest
Response = metering_pb2.RecordMeteringResponse
BatchRequest = metering_pb2.RecordMeteringBatchRequest
BatchResponse = metering_pb2.RecordMeteringBatchResponse
Context = grpc.aio.ServicerContext[Any, Any]


class MeteringSinkServicer(metering_pb2_grpc.MeteringSinkServicer):
    """Validates every event, then answers once its rows are durably committed."""

    def __init__(
        self,
        serving: Serving[Recorder],
        settings: MeteringSettings,
        *,
        clock_ns: Callable[[], int],
        metrics: MeteringMetrics,
        writers: WriterGuard,
    ) -> None:
        self._serving = serving
        self._writers = writers
        self._settings = settings
        self._clock_ns = clock_ns
        self._metrics = metrics

    def _bounds(self) -> TimeWindow:
        return TimeWindow.at(self._clock_ns(), self._settings)

    async def RecordMetering(  # noqa: N802 - the generated servicer names the RPC method
        self, request: Request, context: Context
    ) -> Response:
        await self._writers.require(context)
        try:
            row = validate_event(request, self._bounds())
        except InvalidRequestError:
            self._metrics.rejected("RecordMetering", 1)
            raise
        outcome = await self._record((row,))
        return Response(duplicate=outcome.duplicates > 0)

    async def RecordMeteringBatch(  # noqa: N802 - the generated servicer names the RPC method
        self, request: BatchRequest, context: Context
    ) -> BatchResponse:
        await self._writers.require(context)
        try:
            rows = validate_batch(
                request.events, self._bounds(), max_events=self._settings.max_batch_events
            )
        except InvalidRequestError:
            self._metrics.rejected("RecordMeteringBatch", len(request.events))
            raise
        outcome = await self._record(rows)
        return BatchResponse(accepted=outcome.accepted, duplicates=outcome.duplicates)

    async def _record(self, rows: Sequence[EventRow]) -> IngestOutcome:
        # Not acknowledged on failure, so the caller retries; the event_id keeps that safe.
        with store_failures("metering store write failed", _logger):
            outcome = await self._serving.current.record(rows)
        self._metrics.stored(rows, outcome)
        return outcome
