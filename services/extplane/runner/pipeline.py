"""One execution, from an authenticated caller's request to the handler's response.

The caller names only the install (`context.install_id`); the rest of the
context is the runner's: a fresh request id, the tenant of the caller's
token, and the install's extension and version as the registry holds them.
Whatever the client put there is overwritten. Then a fresh install token for
this install and request id (minted from the install as the host stores it
now: when the extension or version it names is not the remembered one,
`target_cache`, the install is looked up again), and the dispatch: a
component version to the executor, a `grpc_address` version to that HandlerService. Each execution
that reached a handler is metered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import uuid_utils

from extplane.runner.component_dispatch import ComponentRunner, response_of
from extplane.runner.config import RunnerLimits
from extplane.runner.directory import HostDirectory, HostUnavailableError, InstallTarget
from extplane.runner.errors import ExecutionError
from extplane.runner.events import Execution, metering_event
from extplane.runner.guest_logs import GuestLogs
from extplane.runner.limits import execution_limits
from extplane.runner.metrics import RunnerMetrics
from extplane.runner.polyglot import GrpcHandlers
from extplane.runner.target_cache import token_names
from extplane_client import MeteringSink
from extplane_protos.alga.extension.v1 import handler_pb2, types_pb2

PLATFORM_PREFIX = "x-extplane-"


def _names(token: str, target: InstallTarget) -> bool:
    """The token was minted for the target's extension and version."""
    return token_names(token) == (target.install.extension_id, target.install.version)


@dataclass(frozen=True)
class Answer:
    response: handler_pb2.ExecuteResponse
    request_id: str


class ExecutionRecord:
    """What is known of an execution so far, for its audit event if it fails."""

    def __init__(self, execution: Execution) -> None:
        self.execution = execution


class Pipeline:
    def __init__(
        self,
        directory: HostDirectory,
        components: ComponentRunner,
        handlers: GrpcHandlers,
        metering: MeteringSink,
        limits: RunnerLimits,
        metrics: RunnerMetrics,
        guest_logs: GuestLogs,
    ) -> None:
        self._metrics = metrics
        self._guest_logs = guest_logs
        self._directory = directory
        self._components = components
        self._handlers = handlers
        self._metering = metering
        self._limits = limits

    async def execute(
        self,
        request: handler_pb2.ExecuteRequest,
        record: ExecutionRecord,
        remaining_s: Callable[[], float | None],
    ) -> Answer:
        """`remaining_s()`: what the caller has left (None: no deadline), asked at
        each step, so the execution never outlives the caller's wait."""
        request_id = str(uuid_utils.uuid7())
        caller = record.execution = replace(record.execution, request_id=request_id)
        target = await self._directory.target(caller.tenant, caller.install_id, remaining_s())
        token = await self._directory.install_token(target.install, request_id, remaining_s())
        if not _names(token, target):
            target = await self._directory.target(
                caller.tenant, caller.install_id, remaining_s(), fresh=True
            )
            if not _names(token, target):
                # Changed again between the token and the lookup: never run a version
                # under another's token.
                raise HostUnavailableError("the install changed while the execution started")
        install = target.install
        execution = record.execution = replace(
            caller, extension_id=install.extension_id, version=install.version
        )
        filled = handler_pb2.ExecuteRequest()
        filled.CopyFrom(request)
        # The platform speaks to a handler in the context and the metadata only: a
        # client's `x-extplane-*` header must not pass for either.
        kept = [h for h in request.http.headers if not h.name.lower().startswith(PLATFORM_PREFIX)]
        del filled.http.headers[:]
        filled.http.headers.extend(kept)
        filled.context.CopyFrom(
            types_pb2.ContextData(
                request_id=request_id,
                tenant_id=install.tenant,
                extension_id=install.extension_id,
                install_id=install.install_id,
                version_id=install.version,
            )
        )
        limits = execution_limits(target.version.limits, self._limits, remaining_s())
        version = target.version
        if version.WhichOneof("handler") == "component":
            outcome = await self._components.execute(version.component, filled, token, limits)
            self._meter(execution, outcome.duration_ms, outcome.host_calls)
            self._guest_logs.forward(outcome.guest_output, token, install.granted_capabilities)
            with self._counted("component"):
                return Answer(response_of(outcome, limits), request_id)
        started = time.monotonic()
        try:
            with self._counted("grpc"):
                response = await self._handlers.execute(version.grpc_address, filled, token, limits)
        finally:
            # The host calls a gRPC handler makes are its own, not counted here.
            self._meter(execution, round((time.monotonic() - started) * 1000), 0)
        return Answer(response, request_id)

    @contextmanager
    def _counted(self, kind: str) -> Iterator[None]:
        try:
            yield
        except ExecutionError as failure:
            self._metrics.executed(kind, failure.reason)
            raise
        self._metrics.executed(kind, "ok")

    def _meter(self, execution: Execution, duration_ms: int, host_calls: int) -> None:
        self._metering.record(
            metering_event(execution, duration_ms=duration_ms, host_calls=host_calls)
        )
