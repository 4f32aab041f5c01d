"""The gRPC face of ingestion: `orloj.extensions.v1.AuditSink`.

Validate the whole request (nothing of an invalid one is stored), append it
through the group committer, answer after the commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import grpc

from extplane.audit.config import AuditSettings
from extplane.audit.metrics import AuditMetrics
from extplane.audit.records import Appended, NewEvent
from extplane.audit.running import RunningSource, running_or_abort
from extplane.audit.validation import (
    EventRules,
    validate_batch,
    validate_event,
)
from extplane.runtime.bad_request import InvalidRequestError, abort_invalid
from extplane_protos.orloj.extensions.v1 import audit_pb2, audit_pb2_grpc

_logger = logging.getLogger(__name__)


class AuditSinkServicer(audit_pb2_grpc.AuditSinkServicer):
    def __init__(
        self,
        running: RunningSource,
        settings: AuditSettings,
        metrics: AuditMetrics,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._running = running
        self._settings = settings
        self._metrics = metrics
        self._clock_ns = clock_ns

    async def RecordAudit(  # noqa: N802 - the generated servicer names the RPC method
        self,
        request: audit_pb2.RecordAuditRequest,
        context: grpc.aio.ServicerContext[
            audit_pb2.RecordAuditRequest, audit_pb2.RecordAuditResponse
        ],
    ) -> audit_pb2.RecordAuditResponse:
        try:
            event = validate_event(request, EventRules.at(self._clock_ns(), self._settings))
        except InvalidRequestError as error:
            self._metrics.rejected.inc()
            await abort_invalid(context, error)
        (result,) = await self._record(context, [event])
        return audit_pb2.RecordAuditResponse(sequence=result.sequence, duplicate=result.duplicate)

    async def RecordAuditBatch(  # noqa: N802 - the generated servicer names the RPC method
        self,
        request: audit_pb2.RecordAuditBatchRequest,
        context: grpc.aio.ServicerContext[
            audit_pb2.RecordAuditBatchRequest, audit_pb2.RecordAuditBatchResponse
        ],
    ) -> audit_pb2.RecordAuditBatchResponse:
        try:
            events = validate_batch(request.events, EventRules.at(self._clock_ns(), self._settings))
        except InvalidRequestError as error:
            self._metrics.rejected.inc(max(len(request.events), 1))
            await abort_invalid(context, error)
        results = await self._record(context, events)
        duplicates = sum(result.duplicate for result in results)
        return audit_pb2.RecordAuditBatchResponse(
            accepted=len(results) - duplicates, duplicates=duplicates
        )

    async def _record(
        self, context: grpc.aio.ServicerContext[Any, Any], events: Sequence[NewEvent]
    ) -> list[Appended]:
        running = await running_or_abort(self._running, context)
        try:
            return await running.recorder.record(events)
        except Exception:
            # Nothing was acknowledged: the producer's retry is safe (event_id).
            _logger.exception("appending %d audit event(s) failed", len(events))
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the audit log could not be written")
            raise  # pragma: no cover - abort raises
