"""The limits of one execution: the version's own, the runner's defaults where it
sets none, and never more time than the caller has left."""

from __future__ import annotations

import math

from extplane.runner.config import RunnerLimits
from extplane.runner.jobs import ExecutionLimits
from extplane_protos.extplane.admin.v1 import extensions_pb2


def execution_limits(
    spec: extensions_pb2.ExecutionLimitsSpec,
    defaults: RunnerLimits,
    remaining_s: float | None,
) -> ExecutionLimits:
    timeout_ms = spec.timeout_ms or defaults.timeout_ms
    if remaining_s is not None:
        # The caller stops waiting then: running past it only wastes a worker.
        timeout_ms = max(1, min(timeout_ms, math.floor(remaining_s * 1000)))
    fuel = spec.fuel or defaults.fuel
    return ExecutionLimits(
        timeout_ms=timeout_ms,
        memory_bytes=spec.memory_bytes or defaults.memory_bytes,
        fuel=fuel or None,
        max_request_bytes=defaults.max_request_bytes,
        max_response_bytes=defaults.max_response_bytes,
    )
