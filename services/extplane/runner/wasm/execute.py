"""One execution: a fresh Store and instance, the handler called once, then dropped.

Limits: the epoch deadline (`ExecutionLimits.timeout_ms`, in ticker ticks),
the store's memory limit, fuel when asked for, the request and response size
caps. Whatever the guest does, the outcome names it; the store and instance
are closed either way, so a trapped instance is never entered again.
"""

from __future__ import annotations

import time
from typing import Any

import wasmtime
from google.protobuf.message import DecodeError
from wasmtime.component import Component, Linker

from extplane.runner.jobs import WasmJob, WasmOutcome
from extplane.runner.wasm import failures, values
from extplane.runner.wasm.bindings import CURRENT, Execution, HostCallTrapError
from extplane.runner.wasm.host_imports import HostImports
from extplane.runner.wasm.output import GuestOutput
from extplane.runner.wasm.ticker import deadline_ticks
from extplane_protos.alga.extension.v1 import handler_pb2

HANDLER = "handler"


def execute(
    engine: wasmtime.Engine,
    component: Component,
    linker: Linker,
    job: WasmJob,
    imports: HostImports,
    *,
    started: float,
) -> WasmOutcome:
    limits = job.limits
    try:
        request = handler_pb2.ExecuteRequest.FromString(job.request)
    except DecodeError:
        return WasmOutcome(None, failure="request: not an ExecuteRequest")
    # From here: a first execution's compile is not the guest's time.
    deadline = time.monotonic() + limits.timeout_ms / 1000
    execution = Execution(imports=imports, deadline=deadline)
    output = GuestOutput()
    store = wasmtime.Store(engine)
    token = CURRENT.set(execution)
    try:
        store.set_wasi(output.wasi_config())
        store.set_limits(memory_size=limits.memory_bytes)
        store.set_epoch_deadline(deadline_ticks(limits.timeout_ms))
        if limits.fuel is not None:
            store.set_fuel(limits.fuel)
        failure: str | None
        try:
            response = _call_handler(store, linker, component, request)
            failure = None
        except HostCallTrapError as trap:
            response, failure = None, f"trap: {trap}"
        except (wasmtime.WasmtimeError, wasmtime.Trap) as err:
            response = None
            if execution.trap is not None:
                failure = f"trap: {execution.trap}"
            else:
                failure = failures.classify(
                    err,
                    timed_out=time.monotonic() >= deadline,
                    guest_output=output.stderr_tail(),
                )
        except (values.ContractValueError, TypeError, ValueError) as err:
            response, failure = None, f"trap: handler answered outside the contract: {err}"
        encoded: bytes | None = None
        if response is not None:
            encoded = response.SerializeToString()
            if len(encoded) > limits.max_response_bytes:
                encoded, failure = None, "response too large"
        return WasmOutcome(
            encoded,
            failure=failure,
            host_calls=execution.host_calls,
            duration_ms=int((time.monotonic() - started) * 1000),
            guest_output=output.lines(),
        )
    finally:
        CURRENT.reset(token)
        store.close()
        output.close()


def _call_handler(
    store: wasmtime.Store,
    linker: Linker,
    component: Component,
    request: handler_pb2.ExecuteRequest,
) -> handler_pb2.ExecuteResponse:
    instance = linker.instantiate(store, component)
    handler = instance.get_func(store, HANDLER)
    if handler is None:
        raise HostCallTrapError("the component exports no handler")
    result: Any = handler(store, values.to_record(request))
    handler.post_return(store)
    return values.to_message(result, handler_pb2.ExecuteResponse)
