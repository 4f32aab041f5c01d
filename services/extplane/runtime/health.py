"""The standard gRPC health service, made to let go of watchers when the server drains.

grpcio-health-checking's `Watch` streams never end on their own, so one watching
client (gRPC client-side health checking keeps a `Watch` open per connection)
would hold a draining server open for its whole grace period. Here a watch ends,
with OK, right after it has delivered the final NOT_SERVING.
"""

from __future__ import annotations

from typing import Any, cast

import grpc.aio
from grpc_health.v1 import health_pb2
from grpc_health.v1.health import aio as health_aio

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class _WatchEndedError(Exception):
    """Raised through the upstream `Watch` loop to end the stream after the drain notice."""


class _EndAfterDrainNotice:
    """A servicer context whose `write` ends the watch once NOT_SERVING went out in a drain."""

    def __init__(self, context: grpc.aio.ServicerContext[Any, Any], health: DrainingHealth):
        self._context = context
        self._health = health

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    async def write(self, message: health_pb2.HealthCheckResponse) -> None:
        await self._context.write(message)
        if self._health.draining and message.status == NOT_SERVING:
            raise _WatchEndedError


class DrainingHealth(health_aio.HealthServicer):
    """grpcio-health-checking's servicer whose watches end once draining was announced."""

    def __init__(self) -> None:
        super().__init__()
        self.draining = False

    async def Watch(  # noqa: N802 - the generated servicer's method name
        self,
        request: health_pb2.HealthCheckRequest,
        context: Any,
    ) -> None:
        try:
            await super().Watch(request, cast(Any, _EndAfterDrainNotice(context, self)))
        except _WatchEndedError:
            return

    async def enter_graceful_shutdown(self) -> None:
        self.draining = True
        await super().enter_graceful_shutdown()
