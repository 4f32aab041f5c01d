"""Metering and audit events, as real sink servers receive them from the runner's adapters."""

from __future__ import annotations

import grpc
import pytest

from extplane.runner.servicer import REQUEST_ID_KEY
from tests.runner.handlers import failing
from tests.runner.runner_support import GLOBEX_TOKEN, NO_TENANT_TOKEN, WRONG_ROLE_TOKEN, World


async def test_each_execution_is_one_metering_event(world: World) -> None:
    world.registry.add_component("com.example.wasm", "2.1.0", b"\x00asm component bytes")
    await world.install("acme", "inst-w", extension_id="com.example.wasm", version="2.1.0")

    _, initial = await world.execute("inst-w")
    await world.delivered()

    [event] = world.metering.stored
    assert (event.namespace, event.agent, event.task, event.model) == (
        "acme",
        "com.example.wasm",
        "inst-w",
        "2.1.0",
    )
    # What the executor reported for the execution.
    assert (event.duration_ms, event.tool_calls) == (7, 3)
    assert event.event_id == initial[REQUEST_ID_KEY]
    assert event.timestamp.seconds > 0


async def test_a_grpc_handlers_execution_is_metered_too(world: World) -> None:
    await world.install("acme", "inst-1")

    await world.execute("inst-1")
    await world.delivered()

    [event] = world.metering.stored
    assert (event.namespace, event.agent, event.task) == ("acme", "com.example.echo", "inst-1")
    assert event.tool_calls == 0


async def test_a_trap_is_metered_and_audited(world: World) -> None:
    world.registry.add_component("com.example.wasm", "1.0.0", b"\x00asm component bytes")
    await world.install("acme", "inst-w", extension_id="com.example.wasm")
    world.executor.script.append(failing("trap: out of bounds memory access"))

    with pytest.raises(grpc.aio.AioRpcError):
        await world.execute("inst-w")
    await world.delivered()

    assert len(world.metering.stored) == 1
    [audit] = world.audit.stored
    assert (audit.action, audit.outcome, audit.actor, audit.namespace) == (
        "extension_execute",
        "error",
        "acme-app",
        "acme",
    )
    assert audit.resource == "install/inst-w"
    assert audit.details["reason"] == "GUEST_FAILED"
    assert audit.details["cause"] == "trap: out of bounds memory access"
    assert audit.details["extension"] == "com.example.wasm"
    assert audit.details["request_id"] == world.metering.stored[0].event_id


async def test_refusals_of_known_callers_are_audited_and_not_metered(world: World) -> None:
    await world.install("acme", "inst-1")

    for token in (GLOBEX_TOKEN, NO_TENANT_TOKEN, WRONG_ROLE_TOKEN):
        with pytest.raises(grpc.aio.AioRpcError):
            await world.execute("inst-1", token=token)
    with pytest.raises(grpc.aio.AioRpcError):
        await world.execute("inst-1", token=None)  # no actor to trust: not audited
    await world.delivered()

    assert world.metering.stored == []
    outcomes = [
        (event.actor, event.namespace, event.outcome, event.details["reason"])
        for event in world.audit.stored
    ]
    assert outcomes == [
        ("globex-app", "globex", "denied", "NOT_FOUND"),
        ("tenantless", "", "denied", "PERMISSION_DENIED"),
        ("reader", "acme", "denied", "PERMISSION_DENIED"),
    ]


async def test_a_limit_hit_is_audited_as_an_error(world: World) -> None:
    world.registry.add_component("com.example.wasm", "1.0.0", b"\x00asm component bytes")
    await world.install("acme", "inst-w", extension_id="com.example.wasm")
    world.executor.script.append(failing("memory"))

    with pytest.raises(grpc.aio.AioRpcError):
        await world.execute("inst-w")
    await world.delivered()

    [audit] = world.audit.stored
    assert (audit.outcome, audit.details["reason"], audit.details["cause"]) == (
        "error",
        "LIMIT_EXCEEDED",
        "memory",
    )


async def test_executions_and_idempotency_are_counted_in_the_metrics(world: World) -> None:
    world.registry.add_component("com.example.wasm", "1.0.0", b"\x00asm component bytes")
    await world.install("acme", "inst-w", extension_id="com.example.wasm")
    world.executor.script.append(failing("timeout"))
    with pytest.raises(grpc.aio.AioRpcError):
        await world.execute("inst-w")
    key = (("idempotency-key", "k-1"),)
    await world.execute("inst-w", metadata=key)
    await world.execute("inst-w", metadata=key)

    registry = world.runner._kit.registry

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    executions = "extplane_runner_executions_total"
    assert sample(executions, kind="component", outcome="TIMEOUT") == 1
    assert sample(executions, kind="component", outcome="ok") == 1
    assert sample("extplane_runner_idempotency_total", result="executed") == 1
    assert sample("extplane_runner_idempotency_total", result="replayed") == 1
    assert sample("extplane_runner_idempotency_entries") == 1
