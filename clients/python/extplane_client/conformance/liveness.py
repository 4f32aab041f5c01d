"""Checks every contract shares: answers in time, under concurrency, after an
expired deadline and a cancellation, and standard health.

Each suite passes the one call it considers harmless (`good`): a valid event for
a sink, a snapshot request, a GET for a handler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2

from extplane_client.conformance._model import (
    Check,
    Clause,
    Finding,
    Level,
    failed,
    passed,
)
from extplane_client.conformance._probe import Answer, Method, Probe

GoodCall = Callable[[Probe], tuple[Method[Any, Any], Message]]

UNRESPONSIVE = "unresponsive"
"""The fact set when the first call got no answer: the rest of the run is moot."""

CONCURRENT_CALLS = 16
_NO_ANSWER = (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE)
_HEALTH = Method(
    "/grpc.health.v1.Health/Check", health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
)
_LIVENESS = "docs/conformance.md#what-every-implementation-must-do"


def _answered(answer: Answer[Message]) -> bool:
    return answer.code not in _NO_ANSWER


async def _call(probe: Probe, good: GoodCall, timeout: float | None = None) -> Answer[Message]:  # noqa: ASYNC109
    method, request = good(probe)
    return await probe.call(method, request, timeout=timeout)


def liveness_checks(prefix: str, good: GoodCall, service: str) -> tuple[Check, ...]:
    """The shared checks of one suite; `service` is the full gRPC service name."""

    async def answers_in_time(probe: Probe) -> Finding:
        method, request = good(probe)
        answer = await probe.call(method, request)
        if _answered(answer):
            return passed(f"answered {answer.code.name} in {answer.seconds:.3f}s")
        probe.facts[UNRESPONSIVE] = True
        return failed(
            f"no answer within the {probe.deadline_s:g}s deadline; the other checks are skipped",
            sent=method.sent(request),
            got=answer.describe(),
        )

    async def concurrent_calls(probe: Probe) -> Finding:
        calls = [good(probe) for _ in range(CONCURRENT_CALLS)]
        answers = await asyncio.gather(*(probe.call(m, r) for m, r in calls))
        late = [a for a in answers if not _answered(a)]
        if late:
            return failed(
                f"{len(late)} of {CONCURRENT_CALLS} concurrent calls got no answer in time",
                sent=f"{CONCURRENT_CALLS} x {calls[0][0].sent(calls[0][1])}",
                got=late[0].describe(),
            )
        slowest = max(a.seconds for a in answers)
        return passed(f"{CONCURRENT_CALLS} calls, slowest {slowest:.3f}s")

    async def after(probe: Probe, what: str, disturbed: Answer[Message] | None) -> Finding:
        method, request = good(probe)
        answer = await probe.call(method, request)
        if _answered(answer):
            return passed(f"the next call answered {answer.code.name}")
        return failed(
            f"after {what}, the next call got no answer",
            sent=method.sent(request),
            got=answer.describe() + (f" (the first: {disturbed.describe()})" if disturbed else ""),
        )

    async def survives_expired_deadline(probe: Probe) -> Finding:
        first = await _call(probe, good, timeout=0.001)
        return await after(probe, "a call whose 1 ms deadline expired", first)

    async def survives_cancellation(probe: Probe) -> Finding:
        method, request = good(probe)
        call = probe.start(method, request)
        await asyncio.sleep(0.005)
        call.cancel()
        return await after(probe, "a call the client cancelled", None)

    async def health(probe: Probe) -> Finding:
        for name in (service, ""):
            request = health_pb2.HealthCheckRequest(service=name)
            answer = await probe.call(_HEALTH, request)
            if answer.code is grpc.StatusCode.NOT_FOUND and name:
                continue  # the server reports overall health only: ask for that
            if answer.response is not None and answer.response.status == _SERVING:
                return passed(f"SERVING for {name or 'the server'!r}")
            return failed(
                "no SERVING answer from grpc.health.v1.Health/Check",
                sent=_HEALTH.sent(request),
                got=answer.describe(),
            )
        raise AssertionError("unreachable: the overall health query always decides")

    seed = Level.SEED
    return (
        Check(
            f"{prefix}.answers_in_time",
            seed,
            Clause("a call is answered within its deadline (fast and non-blocking)", _LIVENESS),
            answers_in_time,
        ),
        Check(
            f"{prefix}.concurrent_calls",
            seed,
            Clause(f"{CONCURRENT_CALLS} concurrent calls are all answered in time", _LIVENESS),
            concurrent_calls,
        ),
        Check(
            f"{prefix}.survives_expired_deadline",
            seed,
            Clause("a call whose deadline expired leaves the server serving", _LIVENESS),
            survives_expired_deadline,
        ),
        Check(
            f"{prefix}.survives_cancellation",
            seed,
            Clause("a cancelled call leaves the server serving", _LIVENESS),
            survives_cancellation,
        ),
        Check(
            f"{prefix}.health",
            seed,
            Clause("standard gRPC health checking reports SERVING (recommended)", _LIVENESS),
            health,
            required=False,
        ),
    )


_SERVING = health_pb2.HealthCheckResponse.SERVING
