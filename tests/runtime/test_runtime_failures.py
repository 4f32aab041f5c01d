"""Bytes that do not parse and handlers that crash, answered over the real wire.

grpc.aio alone answers both with UNKNOWN "Unexpected <class '...'>" and a
traceback in the log per call; the runtime answers INVALID_ARGUMENT and
INTERNAL without Python names, and logs at a bounded rate.
"""

from __future__ import annotations

import logging

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from runtime_slow_service import SERVICE_NAME

from extplane.runtime.server import GrpcServer
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

CAPABILITIES = f"/{SERVICE_NAME}/Capabilities"
REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
HEALTH_WATCH = "/grpc.health.v1.Health/Watch"
# A field 1 of wire type 2 (length-delimited) whose length runs past the end.
TRUNCATED = b"\x0a\xff\xff\xff\x0f\x01"
# Not valid UTF-8 in a string field (CapabilitiesResponse would not matter:
# the request of Watch has `service`, field 1, a string).
BAD_UTF8 = b"\x0a\x02\xc3\x28"
WAIT_S = 10


def no_python_names(details: str | None) -> bool:
    text = details or ""
    return "class" not in text and "Error" not in text and "Traceback" not in text


def loud_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("garbage", [TRUNCATED, b"\xff" * 64], ids=["truncated", "noise"])
async def test_undecodable_bytes_on_a_unary_rpc_are_invalid_argument_and_not_logged(
    channel: grpc.aio.Channel,
    running: GrpcServer,
    caplog: pytest.LogCaptureFixture,
    garbage: bytes,
) -> None:
    caplog.set_level(logging.WARNING)
    raw = channel.unary_unary(CAPABILITIES, request_serializer=None, response_deserializer=None)

    for _ in range(50):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await raw(garbage, timeout=WAIT_S)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        details = refused.value.details()
        assert details is not None
        assert "orloj.extensions.v1.CapabilitiesRequest" in details
        assert no_python_names(details)

    assert loud_records(caplog) == []
    stub = capabilities_pb2_grpc.CapabilityProviderStub(channel)
    served = await stub.Capabilities(capabilities_pb2.CapabilitiesRequest(), timeout=WAIT_S)
    assert served.snapshot.features["slow"]


async def test_undecodable_bytes_on_streaming_rpcs_are_invalid_argument(
    channel: grpc.aio.Channel, running: GrpcServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    watch = channel.unary_stream(HEALTH_WATCH, request_serializer=None, response_deserializer=None)
    reflection = channel.stream_stream(
        REFLECTION, request_serializer=None, response_deserializer=None
    )

    with pytest.raises(grpc.aio.AioRpcError) as watched:
        async for _ in watch(BAD_UTF8, timeout=WAIT_S):
            pass
    with pytest.raises(grpc.aio.AioRpcError) as reflected:
        async for _ in reflection(iter([TRUNCATED]), timeout=WAIT_S):
            pass

    for refused in (watched.value, reflected.value):
        assert refused.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert no_python_names(refused.details())
    assert loud_records(caplog) == []
    health = health_pb2_grpc.HealthStub(channel)
    answer = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=WAIT_S)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_crashing_handler_answers_internal_without_its_exception(
    stub: capabilities_pb2_grpc.CapabilityProviderStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as crashed:
        await stub.Capabilities(
            capabilities_pb2.CapabilitiesRequest(), metadata=[("x-crash", "1")], timeout=WAIT_S
        )

    assert crashed.value.code() is grpc.StatusCode.INTERNAL
    assert crashed.value.details() == "internal error"


async def test_a_flood_of_crashes_logs_a_bounded_number_of_tracebacks(
    stub: capabilities_pb2_grpc.CapabilityProviderStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for _ in range(100):
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Capabilities(
                capabilities_pb2.CapabilitiesRequest(), metadata=[("x-crash", "1")], timeout=WAIT_S
            )

    ours = [r for r in loud_records(caplog) if r.name == "extplane.rpc"]
    # The default budget: a burst of 10, then one a second.
    assert 1 <= len(ours) <= 15
    assert all(r.levelno == logging.ERROR and r.exc_info for r in ours)
    # grpc.aio itself never saw the exception, so it logged nothing of its own.
    assert [r for r in loud_records(caplog) if r.name.startswith("grpc")] == []


async def test_client_refusals_are_not_warnings(
    stub: capabilities_pb2_grpc.CapabilityProviderStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="extplane.rpc")
    for code in ("INVALID_ARGUMENT", "NOT_FOUND", "UNAUTHENTICATED", "PERMISSION_DENIED"):
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Capabilities(
                capabilities_pb2.CapabilitiesRequest(), metadata=[("x-fail", code)], timeout=WAIT_S
            )
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.Capabilities(
            capabilities_pb2.CapabilitiesRequest(),
            metadata=[("x-fail", "UNAVAILABLE")],
            timeout=WAIT_S,
        )

    levels = {
        getattr(r, "grpc_code", ""): r.levelname for r in caplog.records if r.name == "extplane.rpc"
    }
    assert levels == {
        "INVALID_ARGUMENT": "DEBUG",
        "NOT_FOUND": "DEBUG",
        "UNAUTHENTICATED": "DEBUG",
        "PERMISSION_DENIED": "DEBUG",
        "UNAVAILABLE": "WARNING",
    }
