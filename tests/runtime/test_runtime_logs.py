"""Structured logs: JSON lines carrying the service and the caller's trace id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import pytest
from runtime_slow_service import SlowCapabilities

from extplane.config import LoggingSettings, TracingSettings
from extplane.runtime.logs import configure_logging
from extplane.runtime.server import GrpcServer
from extplane.runtime.tracing import configure_tracing
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
REQUEST = capabilities_pb2.CapabilitiesRequest()

pytestmark = pytest.mark.usefixtures("restore_logging")


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def by_message(stream: io.StringIO, start: str) -> list[dict[str, Any]]:
    return [r for r in records(stream) if r["message"].startswith(start)]


@pytest.fixture
async def stub(running: GrpcServer) -> AsyncIterator[capabilities_pb2_grpc.CapabilityProviderStub]:
    """A foreign caller's plain channel: the traceparent is whatever it puts in the metadata.

    (`create_channel` would replace it with the current OpenTelemetry context.)
    """
    async with grpc.aio.insecure_channel(running.address) as channel:
        yield capabilities_pb2_grpc.CapabilityProviderStub(channel)


@pytest.fixture
def log_stream() -> io.StringIO:
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="DEBUG"), "slow", stream=stream)
    return stream


async def test_servicer_logs_carry_the_trace_id_from_traceparent_metadata(
    log_stream: io.StringIO, stub: capabilities_pb2_grpc.CapabilityProviderStub
) -> None:
    # As a server runs it: spans recorded, no exporter.
    configure_tracing(TracingSettings(), "slow")
    await stub.Capabilities(REQUEST, metadata=[("traceparent", TRACEPARENT)], timeout=30)

    [served] = by_message(log_stream, "capabilities called")
    assert served["trace_id"] == TRACE_ID
    assert len(served["span_id"]) == 16
    assert served["service"] == "slow"
    assert served["level"] == "INFO"
    assert served["logger"] == "tests.runtime.slow"
    assert served["timestamp"]


async def test_each_rpc_completion_is_logged_at_the_level_of_whose_problem_it_is(
    log_stream: io.StringIO, stub: capabilities_pb2_grpc.CapabilityProviderStub
) -> None:
    await stub.Capabilities(REQUEST, metadata=[("traceparent", TRACEPARENT)], timeout=30)
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.Capabilities(
            REQUEST, metadata=[("traceparent", TRACEPARENT), ("x-fail", "NOT_FOUND")], timeout=30
        )
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.Capabilities(REQUEST, metadata=[("x-crash", "1")], timeout=30)

    ok, not_found, crashed = by_message(log_stream, "rpc /")
    assert (ok["level"], ok["grpc_method"], ok["grpc_code"]) == ("DEBUG", "Capabilities", "OK")
    assert ok["grpc_service"] == "orloj.extensions.v1.CapabilityProvider"
    assert ok["trace_id"] == TRACE_ID
    assert ok["duration_ms"] >= 0
    # The client's own failure is no warning: a client could flood the log with it.
    assert (not_found["level"], not_found["grpc_code"]) == ("DEBUG", "NOT_FOUND")
    assert not_found["trace_id"] == TRACE_ID
    # A crash is the server's: an error with the traceback (the client got INTERNAL).
    assert (crashed["level"], crashed["grpc_code"]) == ("ERROR", "INTERNAL")
    assert "crashing as asked" in crashed["exc_info"]


def test_configuring_twice_replaces_the_handler(restore_logging: None) -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(LoggingSettings(level="INFO"), "one", stream=first)
    configure_logging(LoggingSettings(level="WARNING"), "two", stream=second)

    logging.getLogger("tests.runtime").warning("once")
    logging.getLogger("tests.runtime").info("below the level")

    assert first.getvalue() == ""
    [line] = records(second)
    assert (line["message"], line["service"], line["level"]) == ("once", "two", "WARNING")
    assert "trace_id" not in line


def test_plain_text_format_when_json_is_off() -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(json_format=False), "slow", stream=stream)

    logging.getLogger("tests.runtime").warning("plain")

    assert stream.getvalue().rstrip().endswith("WARNING tests.runtime [slow trace=-] plain")


def test_json_lines_carry_no_terminal_colour_copies() -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(), service="gateway", stream=stream)
    colourful = "Finished server process [\x1b[36m%d\x1b[0m]"
    logging.getLogger("uvicorn.error").info(
        "Finished server process [%d]", 42, extra={"color_message": colourful}
    )
    (record,) = by_message(stream, "Finished server process")
    assert record["message"] == "Finished server process [42]"
    assert "color_message" not in record
    assert "\x1b" not in stream.getvalue()


async def test_an_unsampled_callers_trace_id_is_logged_with_one_span_id_per_call(
    log_stream: io.StringIO,
    stub: capabilities_pb2_grpc.CapabilityProviderStub,
    servicer: SlowCapabilities,
) -> None:
    # No exporter and an unsampled caller: the span is not recorded, and its ids
    # are drawn only when first read; every reader must see the same ones.
    configure_tracing(TracingSettings(), "slow")
    unsampled = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-00"
    await stub.Capabilities(REQUEST, metadata=[("traceparent", unsampled)], timeout=30)

    [served] = by_message(log_stream, "capabilities called")
    [finished] = by_message(log_stream, "rpc /")
    assert servicer.trace_ids == [TRACE_ID]
    assert served["trace_id"] == finished["trace_id"] == TRACE_ID
    assert served["span_id"] == finished["span_id"]
    assert served["span_id"] not in (PARENT_SPAN_ID, "0" * 16)


async def test_a_call_without_traceparent_still_logs_a_fresh_trace_id(
    log_stream: io.StringIO, stub: capabilities_pb2_grpc.CapabilityProviderStub
) -> None:
    # No exporter: a trace this process starts is not recorded, but it has ids.
    configure_tracing(TracingSettings(), "slow")
    await stub.Capabilities(REQUEST, timeout=30)
    await stub.Capabilities(REQUEST, timeout=30)

    first, second = by_message(log_stream, "capabilities called")
    for served in (first, second):
        assert len(served["trace_id"]) == 32
        assert int(served["trace_id"], 16) != 0
    assert first["trace_id"] != second["trace_id"]
    # The RPC log of each call carries that call's ids.
    finished = by_message(log_stream, "rpc /")
    assert [(r["trace_id"], r["span_id"]) for r in finished] == [
        (r["trace_id"], r["span_id"]) for r in (first, second)
    ]
