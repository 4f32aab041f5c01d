"""A typed async client for `extplane.admin.v1.ExtensionLogsService`.

    async with ExtensionLogsClient("127.0.0.1:50054", token=reader_token) as client:
        page = await client.list_extension_logs(tenant="acme", install_id="inst-1")
        later = await client.list_extension_logs(
            tenant="acme", install_id="inst-1", after_sequence=page.next_after_sequence
        )

Needs a token with `installs.reader` or `installs.admin`. A failed call raises
`ExtensionLogsError` carrying the gRPC status code.
"""

from __future__ import annotations

import functools
from typing import Literal

from extplane_client._rpc import ChannelClient, choice
from extplane_client.errors import ExtplaneError
from extplane_protos.extplane.admin.v1 import extension_logs_pb2 as pb
from extplane_protos.extplane.admin.v1 import extension_logs_pb2_grpc

ExtensionLogRecord = pb.ExtensionLogRecord
LogLevel = Literal["info", "warn", "error"]
_LEVELS: dict[str, pb.ExtensionLogLevel.ValueType] = {
    "info": pb.EXTENSION_LOG_LEVEL_INFO,
    "warn": pb.EXTENSION_LOG_LEVEL_WARN,
    "error": pb.EXTENSION_LOG_LEVEL_ERROR,
}


class ExtensionLogsError(ExtplaneError):
    """An extension logs call failed; `code` says how."""


class ExtensionLogsClient(ChannelClient):
    """Reads the extension logs a host service keeps."""

    error_type = ExtensionLogsError

    @functools.cached_property
    def _stub(self) -> extension_logs_pb2_grpc.ExtensionLogsServiceAsyncStub:
        return extension_logs_pb2_grpc.ExtensionLogsServiceStub(self._channel)

    async def list_extension_logs(
        self,
        *,
        tenant: str,
        install_id: str,
        after_sequence: int = 0,
        page_size: int = 0,
        min_level: LogLevel | None = None,
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> pb.ListExtensionLogsResponse:
        """The install's kept records numbered above `after_sequence`, oldest first
        (page_size 0: 100; at most 1000); pass `next_after_sequence` back to continue."""
        request = pb.ListExtensionLogsRequest(
            tenant=tenant,
            install_id=install_id,
            after_sequence=after_sequence,
            page_size=page_size,
            min_level=(
                choice(_LEVELS, min_level, "min_level")
                if min_level
                else pb.EXTENSION_LOG_LEVEL_UNSPECIFIED
            ),
        )
        response: pb.ListExtensionLogsResponse = await self._unary(
            self._stub.ListExtensionLogs, request, timeout
        )
        return response
