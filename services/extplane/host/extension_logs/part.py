"""The extension logs part of the host service (`HostPart`): the Alga
`LoggingService` an extension logs to, and `ExtensionLogsService`, where an
operator reads the records it keeps (`recent`, in memory)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import grpc.aio

from extplane.host.extension_logs.query import EXTENSION_LOGS_SERVICE, ExtensionLogsServicer
from extplane.host.extension_logs.ring import RecentLogs
from extplane.host.extension_logs.servicer import LOGGING_SERVICE, LoggingServicer
from extplane.host.parts import PartContext
from extplane.runtime import ServiceKit
from extplane_protos.alga.extension.v1 import logging_pb2_grpc
from extplane_protos.extplane.admin.v1 import extension_logs_pb2_grpc


class LogsPart:
    """`limit_of(tenant, install)`: the install's records per minute."""

    def __init__(self, limit_of: Callable[[str, str], Awaitable[int]], kit: ServiceKit) -> None:
        self._kit = kit
        self._provider = LoggingServicer(limit_of, kit.registry, clock_ns=kit.clock_ns)

    @property
    def recent(self) -> RecentLogs:
        return self._provider.recent

    @property
    def service_names(self) -> Sequence[str]:
        return (LOGGING_SERVICE, EXTENSION_LOGS_SERVICE)

    def add_to_server(self, server: grpc.aio.Server) -> None:
        logging_pb2_grpc.add_LoggingServiceServicer_to_server(self._provider, server)
        extension_logs_pb2_grpc.add_ExtensionLogsServiceServicer_to_server(
            ExtensionLogsServicer(self.recent, self._kit), server
        )

    async def start(self, context: PartContext) -> None:
        return None

    async def stop(self) -> None:
        return None
