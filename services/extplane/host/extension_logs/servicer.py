"""`alga.extension.v1.LoggingService`: each call becomes one record of the
`extplane.extension` logger, tagged from the verified install token
(`current_install()`), never from the request.

The WIT functions cannot fail, so a record over the install's rate limit is
dropped and counted (`extplane_host_log_records_dropped_total`) while the
call still answers OK: an extension is not failed for logging too much.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc.aio
from prometheus_client import CollectorRegistry

from extplane.host.enforcement import current_install
from extplane.host.extension_logs.message import is_truncated, safe_message
from extplane.host.extension_logs.metrics import dropped_records
from extplane.host.extension_logs.rate import LogRateLimits
from extplane.host.extension_logs.ring import LogRecord, RecentLogs
from extplane_protos.alga.extension.v1 import logging_pb2, logging_pb2_grpc

_Context = grpc.aio.ServicerContext[Any, Any]
LOGGING_SERVICE: str = logging_pb2.DESCRIPTOR.services_by_name["LoggingService"].full_name
EXTENSION_LOGGER = "extplane.extension"

_logger = logging.getLogger(EXTENSION_LOGGER)
_LEVELS = {"info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


class LoggingServicer(logging_pb2_grpc.LoggingServiceServicer):
    """`limit_of(tenant, install)`: the install's records per minute."""

    def __init__(
        self,
        limit_of: Callable[[str, str], Awaitable[int]],
        registry: CollectorRegistry,
        *,
        recent: RecentLogs | None = None,
        clock: Callable[[], float] = time.monotonic,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.recent = recent if recent is not None else RecentLogs()
        self._limits = LogRateLimits(limit_of, clock=clock)
        self._dropped = dropped_records(registry)
        self._clock_ns = clock_ns

    async def _record(self, level: str, message: str) -> None:
        install = current_install()
        if not await self._limits.allow(install.tenant_id, install.install_id):
            self._dropped.labels(level).inc()
            self.recent.count_dropped(install.tenant_id, install.install_id)
            return
        record = LogRecord(
            level=level,
            message=safe_message(message),
            truncated=is_truncated(message),
            tenant_id=install.tenant_id,
            extension_id=install.extension_id,
            install_id=install.install_id,
            request_id=install.request_id,
            time_ns=self._clock_ns(),
        )
        record = self.recent.add(record)
        _logger.log(
            _LEVELS[level],
            "%s: %s",
            install.actor,
            record.message,
            extra={
                "tenant_id": record.tenant_id,
                "extension_id": record.extension_id,
                "install_id": record.install_id,
                "request_id": record.request_id,
                "extension_level": level,
            },
        )

    async def Info(  # noqa: N802 - the generated servicer's name
        self, request: logging_pb2.LoggingServiceInfoRequest, context: _Context
    ) -> logging_pb2.LoggingServiceInfoResponse:
        await self._record("info", request.message)
        return logging_pb2.LoggingServiceInfoResponse()

    async def Warn(  # noqa: N802
        self, request: logging_pb2.LoggingServiceWarnRequest, context: _Context
    ) -> logging_pb2.LoggingServiceWarnResponse:
        await self._record("warn", request.message)
        return logging_pb2.LoggingServiceWarnResponse()

    async def Error(  # noqa: N802
        self, request: logging_pb2.LoggingServiceErrorRequest, context: _Context
    ) -> logging_pb2.LoggingServiceErrorResponse:
        await self._record("error", request.message)
        return logging_pb2.LoggingServiceErrorResponse()
