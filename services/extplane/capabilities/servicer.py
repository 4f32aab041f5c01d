"""The gRPC face of the capability service."""

from __future__ import annotations

import grpc

from extplane.capabilities.types import SnapshotSource
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

Request = capabilities_pb2.CapabilitiesRequest
Response = capabilities_pb2.CapabilitiesResponse


def caller_remaining_s(context: grpc.aio.ServicerContext[Request, Response]) -> float | None:
    """Seconds left before the caller's deadline; None when the caller set none.

    The type stubs promise a float, but grpc.aio returns None without a deadline.
    """
    remaining: float | None = context.time_remaining()
    return remaining


class CapabilityProviderServicer(capabilities_pb2_grpc.CapabilityProviderServicer):
    """Serves the merged snapshot; the request is empty, so there is nothing to validate."""

    def __init__(self, snapshot: SnapshotSource) -> None:
        self._snapshot = snapshot

    async def Capabilities(  # noqa: N802 - the generated servicer names the RPC method
        self, request: Request, context: grpc.aio.ServicerContext[Request, Response]
    ) -> Response:
        # Before start() or after stop() this raises NotStartedError (UNAVAILABLE).
        snapshot = await self._snapshot(caller_remaining_s(context))
        return Response(snapshot=snapshot.to_proto())
