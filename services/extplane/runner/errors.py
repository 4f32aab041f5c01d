"""How an execution that produced no response fails, as the caller sees it.

Every failure carries a `google.rpc.ErrorInfo` (domain `extplane.runner`)
whose `reason` names the cause, so a client (and the gateway) can tell a
guest's trap from a limit hit from a busy runner without parsing text:

| cause | gRPC status | HTTP | reason |
|---|---|---|---|
| `timeout` (wall clock, or the caller's deadline) | DEADLINE_EXCEEDED | 504 | `TIMEOUT` |
| `memory`, `fuel`, `response too large` | RESOURCE_EXHAUSTED | 429 | `LIMIT_EXCEEDED` |
| `trap: <message>`, anything else the guest did | INTERNAL | 500 | `GUEST_FAILED` |
| the worker process died | INTERNAL | 500 | `WORKER_LOST` |
| a gRPC handler failed or is unreachable | UNAVAILABLE | 503 | `HANDLER_FAILED` |
| the pool's queue is full | RESOURCE_EXHAUSTED + RetryInfo | 429 + Retry-After | `RUNNER_BUSY` |

A trap is INTERNAL rather than ABORTED: ABORTED tells a client that a retry
of the same request may succeed (HTTP 409), and a guest that trapped traps
again. A limit hit has no RetryInfo: only `RUNNER_BUSY` says "retry later".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.rpc.error_details_pb2 import ErrorInfo, RetryInfo

from extplane.errors import ExtplaneServerError

DOMAIN = "extplane.runner"
TIMEOUT = "TIMEOUT"
LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
GUEST_FAILED = "GUEST_FAILED"
WORKER_LOST = "WORKER_LOST"
HANDLER_FAILED = "HANDLER_FAILED"
RUNNER_BUSY = "RUNNER_BUSY"

_LIMIT_CAUSES = frozenset({"memory", "fuel", "response too large"})


class ExecutionError(ExtplaneServerError):
    """An execution ended without a response; `cause` in the caller's words."""

    def __init__(
        self,
        code: grpc.StatusCode,
        reason: str,
        cause: str,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"the execution failed: {cause}")
        self.code = code
        self.reason = reason
        self.cause = cause
        self._metadata = dict(metadata or {})

    def status_details(self) -> Sequence[Message]:
        return (ErrorInfo(reason=self.reason, domain=DOMAIN, metadata=self._info()),)

    def _info(self) -> dict[str, str]:
        return {"cause": self.cause, **self._metadata}


class RunnerBusyError(ExecutionError):
    """No worker took the execution: retry after `retry_after_s`."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(grpc.StatusCode.RESOURCE_EXHAUSTED, RUNNER_BUSY, "the runner is busy")
        self.retry_after_s = retry_after_s

    def __str__(self) -> str:
        return f"the runner is busy; retry after {self.retry_seconds()} s"

    def retry_seconds(self) -> int:
        # Retry-After takes whole seconds; never 0, which invites a retry storm.
        return max(1, math.ceil(self.retry_after_s))

    def status_details(self) -> Sequence[Message]:
        return (
            *super().status_details(),
            RetryInfo(retry_delay=Duration(seconds=self.retry_seconds())),
        )


def failure_error(failure: str) -> ExecutionError:
    """The error of a `WasmOutcome.failure` (`timeout`, `memory`, `trap: …`, …)."""
    if failure == "timeout":
        return ExecutionError(grpc.StatusCode.DEADLINE_EXCEEDED, TIMEOUT, failure)
    if failure in _LIMIT_CAUSES:
        return ExecutionError(grpc.StatusCode.RESOURCE_EXHAUSTED, LIMIT_EXCEEDED, failure)
    return ExecutionError(grpc.StatusCode.INTERNAL, GUEST_FAILED, failure)


def worker_lost() -> ExecutionError:
    return ExecutionError(
        grpc.StatusCode.INTERNAL, WORKER_LOST, "the worker running it stopped before answering"
    )


def handler_failed(cause: str) -> ExecutionError:
    return ExecutionError(grpc.StatusCode.UNAVAILABLE, HANDLER_FAILED, cause)
