"""The gRPC face of ingestion: `orloj.extensions.v1.AuditSink`.

Validate the whole request (nothing of an invalid one is stored), append it
through the group committer, answer after the commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import grpc

from extplane.audit.chain.records import Appended, NewEvent
from extplane.audit.config import AuditSettings
from extplane.audit.metrics import AuditMetrics
from extplane.audit.validation import EventRules, validate_batch, validate_event
from extplane.errors import store_failures
from extplane.runtime.bad_request import InvalidRequestError
from extplane.runtime.serving import Serving
from extplane.runtime.writers import WriterGuard
from extplane_protos.orloj.extensions.v1 import audit_pb2, audit_pb2_grpc

if TYPE_CHECKING:
    from extplane.audit.service import Running

_logger = logging.getLogger(__name__)
Context = grpc.aio.ServicerContext[Any, Any]


class AuditSinkServicer(audit_pb2_grpc.AuditSinkServicer):
    def __init__(
        self,
        serving: Serving[Running],
        settings: AuditSettings,
        metrics: AuditMetrics,
        writers: WriterGuard,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._serving = serving
        self._writers = writers
        self._settings = settings
        self._metrics = metrics
        self._clock_ns = clock_ns

    async def RecordAudit(  # noqa: N802 - the generated servicer names the RPC method
        self, request: audit_pb2.RecordAuditRequest, context: Context
    ) -> audit_pb2.RecordAuditResponse:
        principal = await self._writers.require(context)
        try:
            event = validate_event(
                request, EventRules.at(self._clock_ns(), self._settings, principal)
            )
        except InvalidRequestError:
            self._metrics.rejected.inc()
            raise
        (result,) = await self._record([event])
        return audit_pb2.RecordAuditResponse(sequence=result.sequence, duplicate=result.duplicate)

    async def RecordAuditBatch(  # noqa: N802 - the generated servicer names the RPC method
        self, request: audit_pb2.RecordAuditBatchRequest, context: Context
    ) -> audit_pb2.RecordAuditBatchResponse:
        principal = await self._writers.require(context)
        try:
            rules = EventRules.at(self._clock_ns(), self._settings, principal)
            events = validate_batch(request.events, rules)
        except InvalidRequestError:
            self._metrics.rejected.inc(max(len(request.events), 1))
            raise
        results = await self._record(events)
        duplicates = sum(result.duplicate for result in results)
        return audit_pb2.RecordAuditBatchResponse(
            accepted=len(results) - duplicates, duplicates=duplicates
        )

    async def _record(self, events: Sequence[NewEvent]) -> list[Appended]:
        """Append `events`; each carries the principal `WriterGuard.require` named
        (validation put it there), stored with it and covered by its hash."""
        recorder = self._serving.current.recorder
        # Nothing is acknowledged on failure: the producer's retry is safe (event_id).
        with store_failures("the audit log could not be written", _logger):
            return await recorder.record(events)
