"""What a deployable gRPC service hands to the shared server runtime."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import grpc


class GrpcServiceDefinition(Protocol):
    """One deployable service: its servicers plus the lifecycle of what backs them.

    The runtime calls `add_to_server` before binding, then `start()`; health turns
    SERVING for every name in `service_names` only after `start()` returned, and
    NOT_SERVING when draining begins, before `stop()`.
    """

    @property
    def name(self) -> str:
        """Short name used by the CLI, logs and metrics, e.g. "capabilities"."""
        ...

    @property
    def service_names(self) -> Sequence[str]:
        """Fully-qualified gRPC service names, e.g. "orloj.extensions.v1.CapabilityProvider"."""
        ...

    def add_to_server(self, server: grpc.aio.Server) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
