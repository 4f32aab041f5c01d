"""The parts the host service is composed of, and the one shape they share.

Each part (the providers, storage, the extension logs, secrets, catalogs)
serves some gRPC services on the host's server. `HostService` builds them in
its constructor, adds their servicers before the server starts, starts them
in order once its store and audit sink are ready, and stops them in reverse.
What exists only from `start()` on is handed over then, in `PartContext`, so
every part takes its audit sink the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc.aio

from extplane.runtime import ServiceKit
from extplane_client import AuditSink


@dataclass(frozen=True)
class PartContext:
    """What a starting part is given: the kit it was built with, and the host's
    audit sink (events recorded while the host runs reach the sink it holds)."""

    kit: ServiceKit
    audit: AuditSink


class HostPart(Protocol):
    @property
    def service_names(self) -> Sequence[str]:
        """The fully-qualified gRPC services `add_to_server` adds."""
        ...

    def add_to_server(self, server: grpc.aio.Server) -> None: ...

    async def start(self, context: PartContext) -> None:
        """Open what the part holds; the host starts each part once."""
        ...

    async def stop(self) -> None:
        """Close what `start` opened; safe without `start` and safe twice."""
        ...
