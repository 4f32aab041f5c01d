"""The gRPC face of ingest: `orloj.extensions.v1.MeteringSink`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import grpc

from extplane.metering.config import MeteringSettings
from extplane.metering.metrics import MeteringMetrics
from extplane.metering.recorder import NotServingError, Recorder
from extplane.metering.rows import EventRow
from extplane.metering.store import IngestOutcome
from extplane.metering.validation import (
    TimeBounds,
    time_bounds,
    validate_batch,
    validate_event,
)
from extplane.runtime.bad_request import InvalidRequestError, abort_invalid
from extplane.runtime.timestamps import datetime_ns
from extplane_protos.orloj.extensions.v1 import metering_pb2, metering_pb2_grpc

_logger = logging.getLogger(__name__)

Request = metering_pb2.RecordMeteringRequest
Response = metering_pb2.RecordMeteringResponse
BatchRequest = metering_pb2.RecordMeteringBatchRequest
BatchResponse = metering_pb2.RecordMeteringBatchResponse


class MeteringSinkServicer(metering_pb2_grpc.MeteringSinkServicer):
    """Validates every event, then answers once its rows are durably committed."""

    def __init__(
        self,
        recorder: Recorder,
        settings: MeteringSettings,
        *,
        clock_ns: Callable[[], int],
        metrics: MeteringMetrics,
    ) -> None:
        self._recorder = recorder
        self._settings = settings
        self._clock_ns = clock_ns
        self._metrics = metrics
        self._min_timestamp_ns = datetime_ns(settings.min_timestamp)

    def _bounds(self) -> TimeBounds:
        return time_bounds(
            self._clock_ns(),
            min_timestamp_ns=self._min_timestamp_ns,
            max_future_skew_s=self._settings.max_future_skew_s,
        )

    async def RecordMetering(  # noqa: N802 - the generated servicer names the RPC method
        self, request: Request, context: grpc.aio.ServicerContext[Request, Response]
    ) -> Response:
        try:
            row = validate_event(request, self._bounds())
        except InvalidRequestError as error:
            self._metrics.rejected("RecordMetering", 1)
            await abort_invalid(context, error)
        rows = (row,)
        outcome = await self._record(rows, context)
        return Response(duplicate=outcome.duplicates > 0)

    async def RecordMeteringBatch(  # noqa: N802 - the generated servicer names the RPC method
        self, request: BatchRequest, context: grpc.aio.ServicerContext[BatchRequest, BatchResponse]
    ) -> BatchResponse:
        try:
            rows = validate_batch(
                request.events, self._bounds(), max_events=self._settings.max_batch_events
            )
        except InvalidRequestError as error:
            self._metrics.rejected("RecordMeteringBatch", len(request.events))
            await abort_invalid(context, error)
        outcome = await self._record(rows, context)
        return BatchResponse(accepted=outcome.accepted, duplicates=outcome.duplicates)

    async def _record(
        self, rows: Sequence[EventRow], context: grpc.aio.ServicerContext[Any, Any]
    ) -> IngestOutcome:
        try:
            outcome = await self._recorder.record(rows)
        except NotServingError as error:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(error))
        except Exception:
            # Not acknowledged, so the caller retries; the event_id keeps that safe.
            _logger.exception("metering store write failed")
            await context.abort(grpc.StatusCode.UNAVAILABLE, "metering store write failed")
        self._metrics.stored(rows, outcome)
        return outcome
