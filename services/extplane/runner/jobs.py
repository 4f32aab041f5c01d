"""What the runner's service, its worker pool and its WebAssembly host agree on.

A `WasmJob` crosses a process boundary (the service hands it to a worker
process), so it holds only picklable plain values: serialized protobuf
messages travel as bytes. A worker answers a `WasmOutcome`; a job that did
not produce a response names its cause in `failure`, in the words the caller
sees (`timeout`, `memory`, `fuel`, `trap: <message>`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Defaults for a version that sets no limit (ExecutionLimitsSpec fields left 0).
DEFAULT_TIMEOUT_MS = 10_000
DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024
MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_RESPONSE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ExecutionLimits:
    """The limits of one execution, defaults filled in."""

    timeout_ms: int = DEFAULT_TIMEOUT_MS
    memory_bytes: int = DEFAULT_MEMORY_BYTES
    # None: no fuel limit (the engine without fuel is the faster default).
    fuel: int | None = None
    max_request_bytes: int = MAX_REQUEST_BYTES
    max_response_bytes: int = MAX_RESPONSE_BYTES


@dataclass(frozen=True)
class WasmJob:
    """One execution of a component's `handler`."""

    # sha256 (lower-case hex) of the component; the compile cache's key.
    component_sha256: str
    # A local file holding exactly the component's bytes (content-addressed).
    component_path: str
    # A serialized `alga.extension.v1.ExecuteRequest` (context filled by the runner).
    request: bytes
    # The host providers' gRPC address, and the install token the imports send.
    host_address: str
    install_token: str
    limits: ExecutionLimits = field(default_factory=ExecutionLimits)
    # The disk compile cache every worker of a runner shares (the executor sets
    # it); None: the worker's `EXTPLANE_WASM_CACHE_DIR`, else memory only.
    compile_cache_dir: str | None = None


@dataclass(frozen=True)
class WasmOutcome:
    """What one execution produced."""

    # A serialized `alga.extension.v1.ExecuteResponse`; None when it failed.
    response: bytes | None
    # Why there is no response: "timeout", "memory", "fuel", "trap: <message>",
    # "response too large", ...; None on success.
    failure: str | None = None
    # Host calls the guest made (the metering event's tool_calls).
    host_calls: int = 0
    duration_ms: int = 0
    # What the guest wrote to stdout / stderr, line by line (bounded).
    guest_output: tuple[str, ...] = ()


class PoolBusyError(Exception):
    """The worker pool's bounded queue is full: RESOURCE_EXHAUSTED / HTTP 429."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"the runner is busy; retry after {retry_after_s:g} s")
        self.retry_after_s = retry_after_s


class WorkerLostError(Exception):
    """The worker process running the job died before answering (the job fails
    alone; the pool replaces the worker)."""
