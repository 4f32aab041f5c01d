"""Dispatch to a WebAssembly component version: its bytes on local disk
(`components`), a `WasmJob` for the executor, its outcome as a response or
the error naming why there is none."""

from __future__ import annotations

from google.protobuf.message import DecodeError

from extplane.runner.components import ComponentFiles
from extplane.runner.errors import RunnerBusyError, failure_error, worker_lost
from extplane.runner.executor import Executor
from extplane.runner.jobs import (
    ExecutionLimits,
    PoolBusyError,
    WasmJob,
    WasmOutcome,
    WorkerLostError,
)
from extplane_protos.alga.extension.v1 import handler_pb2
from extplane_protos.extplane.admin.v1 import extensions_pb2


class ComponentRunner:
    def __init__(self, files: ComponentFiles, executor: Executor, host_address: str) -> None:
        self._files = files
        self._executor = executor
        self._host_address = host_address

    async def execute(
        self,
        component: extensions_pb2.ComponentRef,
        request: handler_pb2.ExecuteRequest,
        install_token: str,
        limits: ExecutionLimits,
    ) -> WasmOutcome:
        """The outcome (failed or not); raises RunnerBusyError or the worker-lost error."""
        path = await self._files.local(component.sha256, limits.timeout_ms / 1000)
        job = WasmJob(
            component_sha256=component.sha256,
            component_path=str(path),
            request=request.SerializeToString(),
            host_address=self._host_address,
            install_token=install_token,
            limits=limits,
        )
        try:
            return await self._executor.run(job)
        except PoolBusyError as busy:
            raise RunnerBusyError(busy.retry_after_s) from None
        except WorkerLostError:
            raise worker_lost() from None


def response_of(outcome: WasmOutcome, limits: ExecutionLimits) -> handler_pb2.ExecuteResponse:
    """The outcome's response; raises the error naming its failure."""
    if outcome.failure is not None or outcome.response is None:
        raise failure_error(outcome.failure or "the guest answered nothing")
    if len(outcome.response) > limits.max_response_bytes + 64 * 1024:
        raise failure_error("response too large")
    try:
        response = handler_pb2.ExecuteResponse.FromString(outcome.response)
    except DecodeError:
        raise failure_error("the guest's response does not decode") from None
    if len(response.body) > limits.max_response_bytes:
        raise failure_error("response too large")
    return response
