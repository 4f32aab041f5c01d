"""The gRPC face of reading: `orloj.extensions.v1.AuditQueryService`.

Every call first needs a bearer token with the `audit.reader` role.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.api import httpbody_pb2

from extplane.audit.convert import checkpoint_to_proto, problem_to_proto, record_to_proto
from extplane.audit.export import content_type, csv_header, csv_rows, jsonl_lines
from extplane.audit.metrics import AuditMetrics
from extplane.audit.query import RecordFilter, RecordQuery
from extplane.audit.records import StoredRecord
from extplane.audit.requests import (
    checkpoints_cursor,
    checkpoints_token,
    record_filter,
    records_cursor,
    records_token,
)
from extplane.audit.running import Running, RunningSource, running_or_abort
from extplane.audit.signing import ALGORITHM
from extplane.audit.verify import RangeError, verify_log
from extplane.runtime.auth import AUDIT_READER, Authorizer
from extplane.runtime.bad_request import FieldViolation, InvalidRequestError, abort_invalid
from extplane.runtime.paging import MAX_PAGE_SIZE, page_size
from extplane_protos.orloj.extensions.v1 import audit_query_pb2 as pb
from extplane_protos.orloj.extensions.v1 import audit_query_pb2_grpc

_logger = logging.getLogger(__name__)

# An export sends a chunk once this much text is buffered.
EXPORT_CHUNK_BYTES = 64 * 1024
# Verifications are CPU-bound: more at once would only share the cores (and
# hold more rows in memory).
MAX_CONCURRENT_VERIFICATIONS = 2
Context = grpc.aio.ServicerContext[Any, Any]


class AuditQueryServicer(audit_query_pb2_grpc.AuditQueryServiceServicer):
    def __init__(
        self, running: RunningSource, authorizer: Authorizer, metrics: AuditMetrics
    ) -> None:
        self._running = running
        self._authorizer = authorizer
        self._metrics = metrics
        self._verifications = asyncio.Semaphore(MAX_CONCURRENT_VERIFICATIONS)

    async def _admit(self, context: Context) -> Running:
        await self._authorizer.require(context, AUDIT_READER)
        return await running_or_abort(self._running, context)

    async def ListAuditEvents(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.ListAuditEventsRequest, context: Context
    ) -> pb.ListAuditEventsResponse:
        running = await self._admit(context)
        try:
            record, descending = record_filter(request)
            size = page_size(request.page_size)
            after = records_cursor(request.page_token, record, descending)
        except InvalidRequestError as error:
            await abort_invalid(context, error)
        rows = await running.store.list_records(
            RecordQuery(record, descending, after, None, size + 1)
        )
        response = pb.ListAuditEventsResponse(events=[record_to_proto(r) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = records_token(record, descending, rows[size - 1].sequence)
        return response

    async def ExportAuditEvents(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.ExportAuditEventsRequest, context: Context
    ) -> AsyncIterator[httpbody_pb2.HttpBody]:
        running = await self._admit(context)
        media_type = content_type(request.format)
        try:
            record, descending = record_filter(request)
            if media_type is None:
                raise InvalidRequestError(
                    [FieldViolation("format", f"unknown format {int(request.format)}")]
                )
        except InvalidRequestError as error:
            await abort_invalid(context, error)
        is_csv = request.format == pb.AUDIT_EXPORT_FORMAT_CSV
        buffer = [csv_header()] if is_csv else []
        size = len(buffer[0]) if buffer else 0
        sent = False
        encode = csv_rows if is_csv else jsonl_lines
        async for page in _pages(running, record, descending):
            for stored in page:
                # Record by record: a chunk stays near the target size even
                # when a page holds large details.
                text = encode([stored])
                buffer.append(text)
                size += len(text)
                if size >= EXPORT_CHUNK_BYTES:
                    data = "".join(buffer).encode()
                    yield httpbody_pb2.HttpBody(content_type=media_type, data=data)
                    buffer, size, sent = [], 0, True
        if buffer or not sent:
            # Always one message at least: it carries the content type.
            yield httpbody_pb2.HttpBody(content_type=media_type, data="".join(buffer).encode())

    async def VerifyAuditLog(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.VerifyAuditLogRequest, context: Context
    ) -> pb.VerifyAuditLogResponse:
        running = await self._admit(context)
        try:
            async with self._verifications:
                verdict = await verify_log(
                    running.store,
                    running.signer,
                    from_sequence=request.from_sequence,
                    to_sequence=request.to_sequence,
                )
        except RangeError as error:
            await abort_invalid(
                context, InvalidRequestError([FieldViolation(error.field, error.description)])
            )
        result = "intact" if verdict.problem is None else verdict.problem.kind.name.lower()
        self._metrics.verifications.labels(result).inc()
        response = pb.VerifyAuditLogResponse(
            intact=verdict.intact,
            from_sequence=verdict.from_sequence,
            to_sequence=verdict.to_sequence,
            records_verified=verdict.records_verified,
            checkpoints_verified=verdict.checkpoints_verified,
            head_hash=verdict.head_hash.hex(),
        )
        if verdict.problem is not None:
            _logger.warning(
                "audit log verification found %s at sequence %d: %s",
                verdict.problem.kind.name,
                verdict.problem.sequence,
                verdict.problem.detail,
            )
            response.first_problem.CopyFrom(problem_to_proto(verdict.problem))
        return response

    async def ListAuditCheckpoints(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.ListAuditCheckpointsRequest, context: Context
    ) -> pb.ListAuditCheckpointsResponse:
        running = await self._admit(context)
        try:
            if request.from_sequence < 0:
                raise InvalidRequestError([FieldViolation("from_sequence", "must not be negative")])
            size = page_size(request.page_size)
            after = max(checkpoints_cursor(request.page_token), request.from_sequence - 1)
        except InvalidRequestError as error:
            await abort_invalid(context, error)
        rows = await running.store.list_checkpoints(after, size + 1)
        response = pb.ListAuditCheckpointsResponse(
            checkpoints=[checkpoint_to_proto(c) for c in rows[:size]]
        )
        if len(rows) > size:
            response.next_page_token = checkpoints_token(rows[size - 1].sequence)
        return response

    async def GetAuditPublicKey(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.GetAuditPublicKeyRequest, context: Context
    ) -> pb.GetAuditPublicKeyResponse:
        running = await self._admit(context)
        return pb.GetAuditPublicKeyResponse(
            algorithm=ALGORITHM,
            public_key_pem=running.signer.public_key_pem,
            key_id=running.signer.key_id,
        )


async def _pages(
    running: Running, record: RecordFilter, descending: bool
) -> AsyncIterator[list[StoredRecord]]:
    """Every matching record, a page at a time, as ListAuditEvents pages through them.

    The export stops at the head as it was when it started, so a busy log
    still ends (and the export is the log as of one moment).
    """
    through = (await running.store.chain_head()).sequence
    after: int | None = None
    while True:
        page = await running.store.list_records(
            RecordQuery(record, descending, after, through, MAX_PAGE_SIZE)
        )
        if not page:
            return
        yield page
        if len(page) < MAX_PAGE_SIZE:
            return
        after = page[-1].sequence
