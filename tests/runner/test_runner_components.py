"""The component path: bytes fetched once and kept content-addressed, a WasmJob per
execution handed to the executor, and each failure of an outcome a clear error."""

from __future__ import annotations

import hashlib

import grpc
import pytest
from google.rpc import error_details_pb2
from host_support import token_metadata

from extplane.runner.jobs import DEFAULT_MEMORY_BYTES, PoolBusyError, WorkerLostError
from extplane_protos.alga.extension.v1 import context_pb2, context_pb2_grpc
from tests.runner.handlers import failing, raising
from tests.runner.runner_support import World, body_json, detail_of, error_info

COMPONENT = b"\x00asm\x0d\x00\x01\x00" + b"not really a component, the executor is a double"


async def _component_install(world: World, **limits: int) -> str:
    version = world.registry.add_component("com.example.wasm", "1.0.0", COMPONENT, **limits)
    await world.install("acme", "inst-w", extension_id="com.example.wasm")
    return version.component.sha256


async def test_a_component_is_fetched_once_and_kept_by_its_hash(world: World) -> None:
    sha256 = await _component_install(world)

    first, _ = await world.execute("inst-w")
    second, _ = await world.execute("inst-w")

    assert first.status == second.status == 201
    assert world.registry.calls["GetComponent"] == 1
    path = world.runner.cache_dir / "components" / f"{sha256}.wasm"
    assert path.read_bytes() == COMPONENT
    assert hashlib.sha256(COMPONENT).hexdigest() == sha256
    assert {job.component_path for job in world.executor.jobs} == {str(path)}


async def test_the_job_carries_the_filled_request_a_working_token_and_the_limits(
    world: World,
) -> None:
    await _component_install(world, timeout_ms=1500, fuel=1000)

    response, _ = await world.execute("inst-w")

    [job] = world.executor.jobs
    assert body_json(response)["context"]["tenant_id"] == "acme"
    assert job.host_address == world.host.address
    assert (job.limits.timeout_ms, job.limits.fuel) == (1500, 1000)
    assert job.limits.memory_bytes == DEFAULT_MEMORY_BYTES  # the version set none
    # The token the job carries is the install's, at the real host.
    stub = context_pb2_grpc.ContextServiceStub(world.host.channel)
    answer = await stub.GetContext(
        context_pb2.GetContextRequest(), metadata=token_metadata(job.install_token)
    )
    assert answer.context.install_id == "inst-w"
    assert answer.context.request_id == body_json(response)["context"]["request_id"]


@pytest.mark.parametrize(
    ("failure", "code", "reason"),
    [
        ("timeout", grpc.StatusCode.DEADLINE_EXCEEDED, "TIMEOUT"),
        ("memory", grpc.StatusCode.RESOURCE_EXHAUSTED, "LIMIT_EXCEEDED"),
        ("fuel", grpc.StatusCode.RESOURCE_EXHAUSTED, "LIMIT_EXCEEDED"),
        ("response too large", grpc.StatusCode.RESOURCE_EXHAUSTED, "LIMIT_EXCEEDED"),
        ("trap: unreachable executed", grpc.StatusCode.INTERNAL, "GUEST_FAILED"),
    ],
)
async def test_each_failure_is_an_error_naming_its_cause_and_the_runner_keeps_serving(
    world: World, failure: str, code: grpc.StatusCode, reason: str
) -> None:
    await _component_install(world)
    world.executor.script.append(failing(failure))

    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await world.execute("inst-w")
    after, _ = await world.execute("inst-w")

    assert failed.value.code() is code
    assert failure in (failed.value.details() or "")
    info = error_info(failed.value)
    assert (info.domain, info.reason, info.metadata["cause"]) == (
        "extplane.runner",
        reason,
        failure,
    )
    assert after.status == 201


async def test_a_busy_pool_says_when_to_retry(world: World) -> None:
    await _component_install(world)
    world.executor.script.append(raising(PoolBusyError(1.2)))

    with pytest.raises(grpc.aio.AioRpcError) as busy:
        await world.execute("inst-w")

    assert busy.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_info(busy.value).reason == "RUNNER_BUSY"
    retry = detail_of(busy.value, error_details_pb2.RetryInfo)
    assert retry.retry_delay.seconds == 2


async def test_a_lost_worker_fails_its_request_alone(world: World) -> None:
    await _component_install(world)
    world.executor.script.append(raising(WorkerLostError()))

    with pytest.raises(grpc.aio.AioRpcError) as lost:
        await world.execute("inst-w")
    after, _ = await world.execute("inst-w")

    assert lost.value.code() is grpc.StatusCode.INTERNAL
    assert error_info(lost.value).reason == "WORKER_LOST"
    assert after.status == 201


async def test_a_component_the_registry_lacks_is_a_failed_precondition(world: World) -> None:
    sha256 = await _component_install(world)
    del world.registry.components[sha256]

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.execute("inst-w")

    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert sha256 in (refused.value.details() or "")
    assert world.executor.jobs == []


async def test_bytes_that_are_not_the_hash_asked_for_are_never_run(world: World) -> None:
    sha256 = await _component_install(world)
    world.registry.components[sha256] = b"other bytes"

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.execute("inst-w")

    assert refused.value.code() is grpc.StatusCode.INTERNAL
    assert world.executor.jobs == []
    assert not (world.runner.cache_dir / "components" / f"{sha256}.wasm").exists()


async def test_the_executor_is_started_with_the_runner(world: World) -> None:
    assert world.executor.started
    await world.runner.stop()
    assert world.executor.stopped
