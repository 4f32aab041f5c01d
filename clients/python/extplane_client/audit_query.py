"""A typed async client for `orloj.extensions.v1.AuditQueryService`.

    async with AuditQueryClient("127.0.0.1:50053", token=token) as client:
        async for record in client.iter_audit_events(actor="agent-1", outcome="denied"):
            ...
        with open("audit.csv", "wb") as file:
            await client.export_audit_events_to(file, format="csv", namespace="prod")
        verdict = await client.verify_audit_log()

The token needs the `audit.reader` role. Every failed call raises
`AuditQueryError` carrying the gRPC status code (and, for INVALID_ARGUMENT,
the fields the service named); a failure part-way through an export raises
it too, after the chunks already yielded.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Literal, Protocol, TypedDict, Unpack

import grpc

from extplane_client._rpc import (
    ChannelClient,
    check_timeout,
    choice,
    rpc_error,
    to_timestamp,
)
from extplane_client.audit_types import (
    AuditCheckpoint,
    AuditCheckpointsPage,
    AuditEventsPage,
    AuditPublicKey,
    AuditRecord,
    AuditVerdict,
)
from extplane_client.errors import ExtplaneError
from extplane_protos.orloj.extensions.v1 import audit_query_pb2 as pb
from extplane_protos.orloj.extensions.v1 import audit_query_pb2_grpc

AuditOrder = Literal["ascending", "descending"]
AuditExportFormat = Literal["jsonl", "csv"]

_ORDERS: dict[str, pb.AuditOrder.ValueType] = {
    "ascending": pb.AUDIT_ORDER_ASCENDING,
    "descending": pb.AUDIT_ORDER_DESCENDING,
}
_FORMATS: dict[str, pb.AuditExportFormat.ValueType] = {
    "jsonl": pb.AUDIT_EXPORT_FORMAT_JSONL,
    "csv": pb.AUDIT_EXPORT_FORMAT_CSV,
}


class AuditQueryError(ExtplaneError):
    """An audit query failed; `code` says how (UNAUTHENTICATED, INVALID_ARGUMENT, ...)."""


class BinaryWriter(Protocol):
    """Anything bytes can be written to: a file opened "wb", `sys.stdout.buffer`, BytesIO."""

    def write(self, data: bytes, /) -> object: ...


class AuditFilter(TypedDict, total=False):
    """Which records: equality on each non-empty text field (empty matches any) and
    a time range on the event's timestamp, [start, end)."""

    actor: str
    action: str
    resource: str
    namespace: str
    outcome: str
    principal: str
    start: datetime
    end: datetime


_TEXT_FIELDS = ("actor", "action", "resource", "namespace", "outcome", "principal")


def _apply(
    filters: AuditFilter, request: pb.ListAuditEventsRequest | pb.ExportAuditEventsRequest
) -> None:
    unknown = set(filters) - {*_TEXT_FIELDS, "start", "end"}
    if unknown:
        raise TypeError(f"unexpected filter {', '.join(sorted(unknown))}")
    for name in _TEXT_FIELDS:
        setattr(request, name, filters.get(name, ""))
    if "start" in filters:
        request.start_time.CopyFrom(to_timestamp(filters["start"], "start"))
    if "end" in filters:
        request.end_time.CopyFrom(to_timestamp(filters["end"], "end"))


class AuditQueryClient(ChannelClient):
    """Calls one audit service's query API (`audit.reader` role)."""

    error_type = AuditQueryError

    @functools.cached_property
    def _stub(self) -> audit_query_pb2_grpc.AuditQueryServiceAsyncStub:
        return audit_query_pb2_grpc.AuditQueryServiceStub(self._channel)

    async def list_audit_events(
        self,
        *,
        order: AuditOrder = "ascending",
        page_size: int = 0,
        page_token: str = "",
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
        **filters: Unpack[AuditFilter],
    ) -> AuditEventsPage:
        """One page of records by sequence (page_size 0: the service's default, 100;
        at most 1000). Pass `next_page_token` back with the same filter and order;
        the cursor neither skips nor repeats a record while new ones arrive."""
        request = pb.ListAuditEventsRequest(
            order=choice(_ORDERS, order, "order"), page_size=page_size, page_token=page_token
        )
        _apply(filters, request)
        response = await self._unary(self._stub.ListAuditEvents, request, timeout)
        return AuditEventsPage(
            records=tuple(AuditRecord.from_proto(r) for r in response.events),
            next_page_token=response.next_page_token,
        )

    async def iter_audit_events(
        self,
        *,
        order: AuditOrder = "ascending",
        page_size: int = 1000,
        timeout: float = 30.0,  # noqa: ASYNC109 - the deadline of each page's call
        **filters: Unpack[AuditFilter],
    ) -> AsyncGenerator[AuditRecord, None]:
        """Every record matching the filters, in `order`, page after page."""
        token = ""
        while True:
            page = await self.list_audit_events(
                order=order, page_size=page_size, page_token=token, timeout=timeout, **filters
            )
            for record in page.records:
                yield record
            token = page.next_page_token
            if not token:
                return

    async def export_audit_events(
        self,
        *,
        order: AuditOrder = "ascending",
        format: AuditExportFormat = "jsonl",
        timeout: float = 300.0,  # noqa: ASYNC109 - the deadline of the whole stream
        **filters: Unpack[AuditFilter],
    ) -> AsyncGenerator[bytes, None]:
        """The export's bytes as they stream in: JSONL (one AuditRecord's protojson a
        line) or CSV with a header row, of exactly the records `iter_audit_events`
        yields for the same filter and order, up to the head at the start."""
        request = pb.ExportAuditEventsRequest(
            order=choice(_ORDERS, order, "order"), format=choice(_FORMATS, format, "format")
        )
        _apply(filters, request)
        self._check_open()
        call = self._stub.ExportAuditEvents(
            request, metadata=self._metadata, timeout=check_timeout(timeout)
        )
        try:
            async for chunk in call:
                if chunk.data:
                    yield chunk.data
        except grpc.aio.AioRpcError as error:
            raise rpc_error(AuditQueryError, error) from error
        finally:
            # A consumer that stops early must not leave the stream running.
            call.cancel()

    async def export_audit_events_to(
        self,
        sink: BinaryWriter,
        *,
        order: AuditOrder = "ascending",
        format: AuditExportFormat = "jsonl",
        timeout: float = 300.0,  # noqa: ASYNC109 - the deadline of the whole stream
        **filters: Unpack[AuditFilter],
    ) -> int:
        """Writes the export to `sink` chunk by chunk; returns the bytes written."""
        written = 0
        chunks = self.export_audit_events(order=order, format=format, timeout=timeout, **filters)
        async for data in chunks:
            sink.write(data)
            written += len(data)
        return written

    async def verify_audit_log(
        self,
        from_sequence: int = 0,
        to_sequence: int = 0,
        *,
        timeout: float = 300.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> AuditVerdict:
        """Recompute the chain over the range (0: the oldest retained record, and
        the head) and check every checkpoint in it; a broken log is a verdict with
        `intact` False, not an error."""
        response = await self._unary(
            self._stub.VerifyAuditLog,
            pb.VerifyAuditLogRequest(from_sequence=from_sequence, to_sequence=to_sequence),
            timeout,
        )
        return AuditVerdict.from_proto(response)

    async def list_audit_checkpoints(
        self,
        from_sequence: int = 0,
        *,
        page_size: int = 0,
        page_token: str = "",
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> AuditCheckpointsPage:
        """One page of signed checkpoints at or after `from_sequence`, oldest first."""
        request = pb.ListAuditCheckpointsRequest(
            from_sequence=from_sequence, page_size=page_size, page_token=page_token
        )
        response = await self._unary(self._stub.ListAuditCheckpoints, request, timeout)
        return AuditCheckpointsPage(
            checkpoints=tuple(AuditCheckpoint.from_proto(c) for c in response.checkpoints),
            next_page_token=response.next_page_token,
        )

    async def iter_audit_checkpoints(
        self,
        from_sequence: int = 0,
        *,
        page_size: int = 1000,
        timeout: float = 30.0,  # noqa: ASYNC109 - the deadline of each page's call
    ) -> AsyncGenerator[AuditCheckpoint, None]:
        """Every checkpoint at or after `from_sequence`, page after page."""
        token = ""
        while True:
            page = await self.list_audit_checkpoints(
                from_sequence, page_size=page_size, page_token=token, timeout=timeout
            )
            for checkpoint in page.checkpoints:
                yield checkpoint
            token = page.next_page_token
            if not token:
                return

    async def get_audit_public_key(
        self,
        *,
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> AuditPublicKey:
        """The active key: the one new checkpoint signatures verify against."""
        response = await self._unary(
            self._stub.GetAuditPublicKey, pb.GetAuditPublicKeyRequest(), timeout
        )
        return AuditPublicKey(
            algorithm=response.algorithm,
            public_key_pem=response.public_key_pem,
            key_id=response.key_id,
        )

    async def list_audit_public_keys(
        self,
        *,
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> tuple[AuditPublicKey, ...]:
        """Every key of the service's ring, the active one first (same RPC)."""
        response = await self._unary(
            self._stub.GetAuditPublicKey, pb.GetAuditPublicKeyRequest(), timeout
        )
        return tuple(
            AuditPublicKey(
                algorithm=key.algorithm,
                public_key_pem=key.public_key_pem,
                key_id=key.key_id,
                active=key.active,
            )
            for key in response.keys
        )
