"""`extplane.admin.v1.ExtensionLogsService`: an operator reads an install's
kept log records, numbered, from a cursor (docs/host.md, `logging`).

Reads need `installs.reader` or `installs.admin`, like the install registry's.
The ring is keyed by (tenant, install), so a query never sees another
install's records whatever it names.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from extplane.host.extension_logs.ring import LogRecord, RecentLogs
from extplane.host.installs import validation
from extplane.runtime import (
    INSTALLS_ADMIN,
    INSTALLS_READER,
    InvalidRequestError,
    ServiceKit,
    bounds,
    fill_page,
    page_size,
)
from extplane_protos.extplane.admin.v1 import extension_logs_pb2 as pb
from extplane_protos.extplane.admin.v1 import extension_logs_pb2_grpc as pb_grpc

EXTENSION_LOGS_SERVICE: str = pb.DESCRIPTOR.services_by_name["ExtensionLogsService"].full_name
_Context = grpc.aio.ServicerContext[Any, Any]
_READERS = (INSTALLS_READER, INSTALLS_ADMIN)
_LEVEL_OF = {
    "info": pb.EXTENSION_LOG_LEVEL_INFO,
    "warn": pb.EXTENSION_LOG_LEVEL_WARN,
    "error": pb.EXTENSION_LOG_LEVEL_ERROR,
}
_NAME_OF = {value: name for name, value in _LEVEL_OF.items()}
_LEVELS_ASKABLE = frozenset(pb.ExtensionLogLevel.values())


def record_proto(record: LogRecord) -> pb.ExtensionLogRecord:
    seconds, nanos = divmod(record.time_ns, 1_000_000_000)
    return pb.ExtensionLogRecord(
        sequence=record.sequence,
        time=Timestamp(seconds=seconds, nanos=nanos),
        level=_LEVEL_OF[record.level],
        message=record.message,
        truncated=record.truncated,
        tenant=record.tenant_id,
        extension_id=record.extension_id,
        install_id=record.install_id,
        request_id=record.request_id or "",
    )


class ExtensionLogsServicer(pb_grpc.ExtensionLogsServiceServicer):
    def __init__(self, recent: RecentLogs, kit: ServiceKit) -> None:
        self._recent = recent
        self._kit = kit

    async def ListExtensionLogs(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.ListExtensionLogsRequest, context: _Context
    ) -> pb.ListExtensionLogsResponse:
        await self._kit.authorizer.require(context, _READERS)
        bounds.check(request)
        validation.check_names(request.tenant, request.install_id)
        if request.min_level not in _LEVELS_ASKABLE:
            raise InvalidRequestError.field(
                "min_level", "must be one of " + ", ".join(pb.ExtensionLogLevel.keys())
            )
        size = page_size(request.page_size)
        read = self._recent.after(
            request.tenant,
            request.install_id,
            request.after_sequence,
            min_level=_NAME_OF.get(request.min_level, "info"),
        )
        page = fill_page(read.records[: size + 1], size, record_proto)
        # The last record on a full page; else everything kept was looked at,
        # the filtered-out records too, so the cursor passes them.
        cursor = page.last.sequence if page.last is not None else read.last_sequence
        return pb.ListExtensionLogsResponse(
            records=page.messages,
            next_after_sequence=max(cursor, 0 if read.missed else request.after_sequence),
            has_more=page.last is not None,
            records_missed=read.missed,
            evicted_count=read.evicted,
            dropped_count=read.dropped,
        )
