"""Small fakes of MeteringQueryService and AuditQueryService for the gateway tests.

They check the `authorization` metadata themselves, as the real services do
(UNAUTHENTICATED without a known bearer token, PERMISSION_DENIED without the
role), record what the gateway sent, and let a test script the export stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.api import httpbody_pb2
from google.rpc import status_pb2
from grpc_status import rpc_status

from extplane_protos.orloj.extensions.v1 import (
    audit_query_pb2,
    audit_query_pb2_grpc,
    metering_query_pb2,
    metering_query_pb2_grpc,
)

METERING_SERVICE = "orloj.extensions.v1.MeteringQueryService"
AUDIT_SERVICE = "orloj.extensions.v1.AuditQueryService"
METERING_READER = "metering.reader"
AUDIT_READER = "audit.reader"

METERING_TOKEN = "metering-token"
AUDIT_TOKEN = "audit-token"
ROLELESS_TOKEN = "roleless-token"
ROLES_BY_TOKEN: dict[str, tuple[str, ...]] = {
    METERING_TOKEN: (METERING_READER,),
    AUDIT_TOKEN: (AUDIT_READER,),
    ROLELESS_TOKEN: (),
}

CSV = "text/csv"
JSONL = "application/x-ndjson"
CSV_HEADER = b"sequence,actor,action\r\n"

Context = grpc.aio.ServicerContext[Any, Any]
ExportScript = Callable[
    [audit_query_pb2.ExportAuditEventsRequest, Context], AsyncIterator[httpbody_pb2.HttpBody]
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def require_role(context: Context, role: str) -> None:
    metadata = dict(context.invocation_metadata() or ())
    authorization = metadata.get("authorization", "")
    assert isinstance(authorization, str)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or token not in ROLES_BY_TOKEN:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "a known bearer token is required")
    if role not in ROLES_BY_TOKEN[token]:
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"the token lacks {role}")


async def abort_with(context: Context, status: status_pb2.Status) -> None:
    await context.abort_with_status(rpc_status.to_status(status))


def export_rows(request: audit_query_pb2.ExportAuditEventsRequest, count: int) -> list[bytes]:
    """The chunks the default export sends: `count` records in the requested format."""
    actor = request.actor or "alice"
    if request.format == audit_query_pb2.AUDIT_EXPORT_FORMAT_CSV:
        return [CSV_HEADER] + [f"{n},{actor},read\r\n".encode() for n in range(1, count + 1)]
    return [
        f'{{"sequence":"{n}","event":{{"actor":"{actor}","action":"read"}}}}\n'.encode()
        for n in range(1, count + 1)
    ]


async def default_export(
    request: audit_query_pb2.ExportAuditEventsRequest, context: Context
) -> AsyncIterator[httpbody_pb2.HttpBody]:
    """What the audit service is expected to send: the content type in the first
    message (with no data), then one message per record."""
    csv = request.format == audit_query_pb2.AUDIT_EXPORT_FORMAT_CSV
    yield httpbody_pb2.HttpBody(content_type=CSV if csv else JSONL)
    for row in export_rows(request, 3):
        yield httpbody_pb2.HttpBody(data=row)


@dataclass
class FakeMeteringQuery(metering_query_pb2_grpc.MeteringQueryServiceServicer):
    usage_requests: list[metering_query_pb2.GetUsageRequest] = field(default_factory=list)
    events_requests: list[metering_query_pb2.ListMeteringEventsRequest] = field(
        default_factory=list
    )
    metadata: list[dict[str, str | bytes]] = field(default_factory=list)

    async def GetUsage(  # noqa: N802 - the RPC name
        self, request: metering_query_pb2.GetUsageRequest, context: Context
    ) -> metering_query_pb2.GetUsageResponse:
        self.metadata.append(dict(context.invocation_metadata() or ()))
        await require_role(context, METERING_READER)
        self.usage_requests.append(request)
        total = metering_query_pb2.UsageBucket(events=2, tokens_in=10, cost="0.000020")
        return metering_query_pb2.GetUsageResponse(currency="EUR", total=total)

    async def ListMeteringEvents(  # noqa: N802 - the RPC name
        self, request: metering_query_pb2.ListMeteringEventsRequest, context: Context
    ) -> metering_query_pb2.ListMeteringEventsResponse:
        self.metadata.append(dict(context.invocation_metadata() or ()))
        await require_role(context, METERING_READER)
        self.events_requests.append(request)
        return metering_query_pb2.ListMeteringEventsResponse(next_page_token="next")


@dataclass
class FakeAuditQuery(audit_query_pb2_grpc.AuditQueryServiceServicer):
    """`export` scripts ExportAuditEvents; the wrapper counts what it sent and notes a
    call that ended before the script ran out (cancelled: the gateway's client left;
    scripts that abort do not use it)."""

    export: ExportScript = default_export
    list_requests: list[audit_query_pb2.ListAuditEventsRequest] = field(default_factory=list)
    export_requests: list[audit_query_pb2.ExportAuditEventsRequest] = field(default_factory=list)
    verify_requests: list[audit_query_pb2.VerifyAuditLogRequest] = field(default_factory=list)
    metadata: list[dict[str, str | bytes]] = field(default_factory=list)
    export_called: asyncio.Event = field(default_factory=asyncio.Event)
    export_sent: int = 0
    export_cancelled: asyncio.Event = field(default_factory=asyncio.Event)

    async def ListAuditEvents(  # noqa: N802 - the RPC name
        self, request: audit_query_pb2.ListAuditEventsRequest, context: Context
    ) -> audit_query_pb2.ListAuditEventsResponse:
        self.metadata.append(dict(context.invocation_metadata() or ()))
        await require_role(context, AUDIT_READER)
        self.list_requests.append(request)
        record = audit_query_pb2.AuditRecord(sequence=1, hash="ab" * 32, previous_hash="0" * 64)
        return audit_query_pb2.ListAuditEventsResponse(events=[record])

    async def ExportAuditEvents(  # noqa: N802 - the RPC name
        self, request: audit_query_pb2.ExportAuditEventsRequest, context: Context
    ) -> AsyncIterator[httpbody_pb2.HttpBody]:
        self.metadata.append(dict(context.invocation_metadata() or ()))
        await require_role(context, AUDIT_READER)
        self.export_requests.append(request)

        ran_out = False

        def done(finished: object) -> None:
            # The call ended while the script still had messages: the gateway cancelled it.
            if not ran_out:
                self.export_cancelled.set()

        context.add_done_callback(done)  # type: ignore[arg-type]  # the stub wants a Protocol class
        self.export_called.set()
        async for body in self.export(request, context):
            yield body
            self.export_sent += 1
        ran_out = True

    async def VerifyAuditLog(  # noqa: N802 - the RPC name
        self, request: audit_query_pb2.VerifyAuditLogRequest, context: Context
    ) -> audit_query_pb2.VerifyAuditLogResponse:
        self.metadata.append(dict(context.invocation_metadata() or ()))
        await require_role(context, AUDIT_READER)
        self.verify_requests.append(request)
        return audit_query_pb2.VerifyAuditLogResponse(
            intact=True,
            from_sequence=request.from_sequence or 1,
            to_sequence=request.to_sequence or 1,
        )

    async def ListAuditCheckpoints(  # noqa: N802 - the RPC name
        self, request: audit_query_pb2.ListAuditCheckpointsRequest, context: Context
    ) -> audit_query_pb2.ListAuditCheckpointsResponse:
        await require_role(context, AUDIT_READER)
        return audit_query_pb2.ListAuditCheckpointsResponse()

    async def GetAuditPublicKey(  # noqa: N802 - the RPC name
        self, request: audit_query_pb2.GetAuditPublicKeyRequest, context: Context
    ) -> audit_query_pb2.GetAuditPublicKeyResponse:
        await require_role(context, AUDIT_READER)
        return audit_query_pb2.GetAuditPublicKeyResponse(algorithm="Ed25519", key_id="00" * 32)


def add_query_fakes(server: grpc.aio.Server) -> tuple[FakeMeteringQuery, FakeAuditQuery]:
    metering, audit = FakeMeteringQuery(), FakeAuditQuery()
    metering_query_pb2_grpc.add_MeteringQueryServiceServicer_to_server(metering, server)
    audit_query_pb2_grpc.add_AuditQueryServiceServicer_to_server(audit, server)
    return metering, audit
