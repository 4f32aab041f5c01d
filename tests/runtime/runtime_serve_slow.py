"""Serves the slow CapabilityProvider until SIGTERM/SIGINT, as a deployed service would.

Prints `port <n>` once serving, `entered` when a call reaches the servicer,
`draining` when shutdown begins, `finished` when a call returns; configured
from `EXTPLANE_*` like any extplane server. A call with `x-until-drain` is held
until shutdown begins, then answered a second later, so it is surely in flight
while the server drains.
"""

from __future__ import annotations

import asyncio
from typing import Any

from runtime_slow_service import SlowCapabilities, SlowDefinition

from extplane.config import load_settings
from extplane.runtime import Metrics, MetricsEndpoint
from extplane.runtime.lifecycle import AsyncLifecycle
from extplane.runtime.logs import configure_logging
from extplane.runtime.server import GrpcServer
from extplane.runtime.signals import run_until_signal
from extplane.runtime.tracing import configure_tracing
from extplane_protos.orloj.extensions.v1 import capabilities_pb2

ANSWER_AFTER_DRAIN_BEGAN_S = 1.0


def say(line: str) -> None:
    print(line, flush=True)


class DrainNotice(AsyncLifecycle):
    """Stopped first: tells the test draining began, and lets held calls go on."""

    def __init__(self, servicer: SlowCapabilities) -> None:
        self._servicer = servicer

    async def stop(self) -> None:
        say("draining")
        self._servicer.release.set()


class DrainAwareCapabilities(SlowCapabilities):
    async def Capabilities(  # noqa: N802
        self, request: capabilities_pb2.CapabilitiesRequest, context: Any
    ) -> capabilities_pb2.CapabilitiesResponse:
        metadata = dict(context.invocation_metadata() or ())
        say("entered")
        if "x-until-drain" in metadata:
            await self.release.wait()
            await asyncio.sleep(ANSWER_AFTER_DRAIN_BEGAN_S)
        response = await super().Capabilities(request, context)
        say("finished")
        return response


async def main() -> None:
    settings = load_settings()
    configure_logging(settings.logging, "slow")
    tracer_provider = configure_tracing(settings.tracing, "slow")
    servicer = DrainAwareCapabilities()
    metrics = Metrics()
    server = GrpcServer(
        SlowDefinition(servicer),
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=settings.shutdown_grace_s,
        metrics=metrics,
    )

    async def announce() -> None:
        say(f"port {server.port}")

    try:
        await run_until_signal(
            [MetricsEndpoint(settings.metrics, metrics), server, DrainNotice(servicer)],
            grace=settings.shutdown_grace_s,
            on_started=announce,
        )
    finally:
        tracer_provider.shutdown()
    say("exited")


if __name__ == "__main__":
    asyncio.run(main())
