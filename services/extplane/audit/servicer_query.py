"""The gRPC face of reading: `orloj.extensions.v1.AuditQueryService`.

Every call first needs a bearer token with the `audit.reader` role.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import grpc
from google.api import httpbody_pb2

from extplane.audit.chain.signing import ALGORITHM
from extplane.audit.export import content_type, export_chunks
from extplane.audit.metrics import AuditMetrics
from extplane.audit.query_filters import record_filter
from extplane.audit.store.record_query import RecordFilter, RecordQuery
from extplane.audit.to_proto import checkpoint_to_proto, record_to_proto, verdict_to_proto
from extplane.audit.verify.verifier import verify_log
from extplane.errors import store_failures
from extplane.runtime import bounds
from extplane.runtime.auth import AUDIT_READER
from extplane.runtime.bad_request import InvalidRequestError
from extplane.runtime.kit import ServiceKit
from extplane.runtime.paging import fill_page, page_size
from extplane.runtime.serving import Serving
from extplane_protos.orloj.extensions.v1 import audit_query_pb2 as pb
from extplane_protos.orloj.extensions.v1 import audit_query_pb2_grpc

if TYPE_CHECKING:
    from extplane.audit.service import Running

_logger = logging.getLogger(__name__)

RECORDS_PAGE = "audit.records"
CHECKPOINTS_PAGE = "audit.checkpoints"
READ_FAILED = "the audit log could not be read"
# Verifications are CPU-bound: more at once would only share the cores (and
# hold more rows in memory).
MAX_CONCURRENT_VERIFICATIONS = 2
Context = grpc.aio.ServicerContext[Any, Any]


def _records_scope(record: RecordFilter, descending: bool) -> list[object]:
    return [
        record.actor,
        record.action,
        record.resource,
        record.namespace,
        record.outcome,
        record.start_ns,
        record.end_ns,
        descending,
        record.principal,
    ]


class AuditQueryServicer(audit_query_pb2_grpc.AuditQueryServiceServicer):
    def __init__(self, serving: Serving[Running], kit: ServiceKit, metrics: AuditMetrics) -> None:
        self._serving = serving
        self._kit = kit
        self._metrics = metrics
        self._verifications = asyncio.Semaphore(MAX_CONCURRENT_VERIFICATIONS)

    async def _admit(self, context: Context) -> Running:
        await self._kit.authorizer.require(context, AUDIT_READER)
        return self._serving.current

    async def ListAuditEvents(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.ListAuditEventsRequest, context: Context
    ) -> pb.ListAuditEventsResponse:
        running = await self._admit(context)
        bounds.check(request)
        record, descending = record_filter(request)
        size = page_size(request.page_size)
        scope = _records_scope(record, descending)
        after = None
        if request.page_token:
            (after,) = self._kit.page_tokens.read(request.page_token, RECORDS_PAGE, scope, 1)
        with store_failures(READ_FAILED, _logger):
            rows = await running.store.list_records(
                RecordQuery(record, descending, after, None, size + 1)
            )
        page = fill_page(rows, size, record_to_proto)
        response = pb.ListAuditEventsResponse(events=page.messages)
        if page.last is not None:
            response.next_page_token = self._kit.page_tokens.issue(
                RECORDS_PAGE, scope, (page.last.sequence,)
            )
        return response

    async def ExportAuditEvents(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.ExportAuditEventsRequest, context: Context
    ) -> AsyncIterator[httpbody_pb2.HttpBody]:
        running = await self._admit(context)
        bounds.check(request)
        record, descending = record_filter(request)
        media_type = content_type(request.format)
        if media_type is None:
            raise InvalidRequestError.field("format", f"unknown format {int(request.format)}")
        as_csv = request.format == pb.AUDIT_EXPORT_FORMAT_CSV
        with store_failures(READ_FAILED, _logger):
            async for chunk in export_chunks(running.store, record, descending, as_csv=as_csv):
                yield httpbody_pb2.HttpBody(content_type=media_type, data=chunk)

    async def VerifyAuditLog(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.VerifyAuditLogRequest, context: Context
    ) -> pb.VerifyAuditLogResponse:
        running = await self._admit(context)
        bounds.check(request)
        async with self._verifications:
            with store_failures(READ_FAILED, _logger):
                verdict = await verify_log(
                    running.store,
                    await running.keys.refresh(),
                    from_sequence=request.from_sequence,
                    to_sequence=request.to_sequence,
                )
        result = "intact" if verdict.problem is None else verdict.problem.kind.name.lower()
        self._metrics.verifications.labels(result).inc()
        if verdict.problem is not None:
            _logger.warning(
                "audit log verification found %s at sequence %d: %s",
                verdict.problem.kind.name,
                verdict.problem.sequence,
                verdict.problem.detail,
            )
        response = verdict_to_proto(verdict)
        return response

    async def ListAuditCheckpoints(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.ListAuditCheckpointsRequest, context: Context
    ) -> pb.ListAuditCheckpointsResponse:
        running = await self._admit(context)
        bounds.check(request)
        size = page_size(request.page_size)
        after = 0
        if request.page_token:
            (after,) = self._kit.page_tokens.read(request.page_token, CHECKPOINTS_PAGE, (), 1)
        after = max(after, request.from_sequence - 1)
        with store_failures(READ_FAILED, _logger):
            rows = await running.store.list_checkpoints(after, size + 1)
        page = fill_page(rows, size, checkpoint_to_proto)
        response = pb.ListAuditCheckpointsResponse(checkpoints=page.messages)
        if page.last is not None:
            response.next_page_token = self._kit.page_tokens.issue(
                CHECKPOINTS_PAGE, (), (page.last.sequence,)
            )
        return response

    async def GetAuditPublicKey(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.GetAuditPublicKeyRequest, context: Context
    ) -> pb.GetAuditPublicKeyResponse:
        running = await self._admit(context)
        await running.keys.refresh()
        ring = running.keys.ring
        return pb.GetAuditPublicKeyResponse(
            algorithm=ALGORITHM,
            public_key_pem=ring.active.public_key_pem,
            key_id=ring.active.key_id,
            keys=[
                pb.AuditPublicKey(
                    key_id=key.key_id,
                    algorithm=ALGORITHM,
                    public_key_pem=key.public_key_pem,
                    active=key is ring.active,
                )
                for key in ring
            ],
        )
