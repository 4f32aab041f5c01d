"""One log record per finished RPC, at a level that says whose problem it is.

* DEBUG: it succeeded, or the client caused the failure and was told so
  (INVALID_ARGUMENT, NOT_FOUND, UNAUTHENTICATED, ...). A WARNING per refused
  call would let any client flood the log.
* WARNING: the server could not do its job (UNAVAILABLE, INTERNAL, DEADLINE_EXCEEDED, ...).
* ERROR, with the traceback: the handler raised an exception it did not mean
  to (the client got INTERNAL and no detail of it).

WARNING and ERROR lines go through a `LogBudget` keyed by method and status
(and exception type), so a client that keeps causing them gets a bounded
number of lines; a line written after some were held back says how many.

The record runs inside the RPC's span, so the log configuration adds its trace id.
"""

from __future__ import annotations

import logging

import grpc

from extplane.runtime.log_budget import LogBudget
from extplane.runtime.observing import RpcCall, RpcOutcome

_logger = logging.getLogger("extplane.rpc")

_S = grpc.StatusCode
# Failures the caller caused and can act on; the server did its job.
CLIENT_CAUSED: frozenset[grpc.StatusCode] = frozenset(
    {
        _S.CANCELLED,
        _S.INVALID_ARGUMENT,
        _S.NOT_FOUND,
        _S.ALREADY_EXISTS,
        _S.PERMISSION_DENIED,
        _S.UNAUTHENTICATED,
        _S.FAILED_PRECONDITION,
        _S.OUT_OF_RANGE,
        _S.ABORTED,
        _S.RESOURCE_EXHAUSTED,
        _S.UNIMPLEMENTED,
    }
)


def level_for(outcome: RpcOutcome) -> int:
    if outcome.unexpected_error is not None:
        return logging.ERROR
    if outcome.code is _S.OK or outcome.code in CLIENT_CAUSED:
        return logging.DEBUG
    return logging.WARNING


class RpcLog:
    """An `RpcObserver` that writes each RPC's completion to the `extplane.rpc` logger."""

    def __init__(self, logger: logging.Logger = _logger, budget: LogBudget | None = None) -> None:
        self._logger = logger
        self._budget = budget if budget is not None else LogBudget()

    def rpc_started(self, call: RpcCall) -> None:
        return None

    def rpc_finished(self, outcome: RpcOutcome) -> None:
        level = level_for(outcome)
        if not self._logger.isEnabledFor(level):
            return
        call = outcome.call
        suppressed = 0
        if level > logging.DEBUG:
            error = outcome.unexpected_error
            key = (call.service, call.method, outcome.code, type(error).__name__ if error else "")
            admitted = self._budget.admit(key)
            if admitted is None:
                return
            suppressed = admitted
        message = "rpc /%s/%s finished %s in %.1f ms"
        args: tuple[object, ...] = (
            call.service,
            call.method,
            outcome.code.name,
            outcome.duration_s * 1000,
        )
        if suppressed:
            message += " (%d more like it not logged)"
            args += (suppressed,)
        self._logger.log(
            level,
            message,
            *args,
            exc_info=outcome.unexpected_error,
            extra={
                "grpc_service": call.service,
                "grpc_method": call.method,
                "grpc_code": outcome.code.name,
                "duration_ms": round(outcome.duration_s * 1000, 3),
                "suppressed": suppressed,
            },
        )
