"""One log record per finished RPC: DEBUG when it succeeded, WARNING when it did not.

The record runs inside the RPC's span, so the log configuration adds its trace id.
"""

from __future__ import annotations

import logging

import grpc

from extplane.runtime.observing import RpcCall, RpcOutcome

_logger = logging.getLogger("extplane.rpc")


class RpcLog:
    """An `RpcObserver` that writes each RPC's completion to the `extplane.rpc` logger."""

    def __init__(self, logger: logging.Logger = _logger) -> None:
        self._logger = logger

    def rpc_started(self, call: RpcCall) -> None:
        return None

    def rpc_finished(self, outcome: RpcOutcome) -> None:
        failed = outcome.code is not grpc.StatusCode.OK
        level = logging.WARNING if failed else logging.DEBUG
        if not self._logger.isEnabledFor(level):
            return
        call = outcome.call
        self._logger.log(
            level,
            "rpc /%s/%s finished %s in %.1f ms",
            call.service,
            call.method,
            outcome.code.name,
            outcome.duration_s * 1000,
            exc_info=outcome.unexpected_error,
            extra={
                "grpc_service": call.service,
                "grpc_method": call.method,
                "grpc_code": outcome.code.name,
                "duration_ms": round(outcome.duration_s * 1000, 3),
            },
        )
