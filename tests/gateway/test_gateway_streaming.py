"""Server-streaming RPCs over real HTTP -> real gRPC: the audit export (HttpBody,
raw bytes) and a stream of plain messages (NDJSON)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable

import grpc
import httpx
import pytest
from gateway_servers import Gateway, Upstream, close_gateway, open_gateway
from gateway_support import FAIL_AFTER, FAIL_FIRST, echo_handler, thing_bindings, thing_pool
from google.api import httpbody_pb2
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from prometheus_client import CollectorRegistry
from query_fakes import (
    AUDIT_TOKEN,
    CSV,
    JSONL,
    Context,
    abort_with,
    bearer,
    default_export,
    export_rows,
)

from extplane.gateway import GatewaySettings
from extplane_protos.orloj.extensions.v1 import audit_query_pb2

EXPORT = "/v1/audit/export"
AUTH = bearer(AUDIT_TOKEN)
# Long enough for any loaded machine; a wait that ends early never fails a test.
PATIENCE_S = 20.0

Request = audit_query_pb2.ExportAuditEventsRequest


def _streams(registry: CollectorRegistry, outcome: str) -> float:
    value = registry.get_sample_value(
        "extplane_gateway_streams_total", {"route": EXPORT, "outcome": outcome}
    )
    return value or 0.0


async def _read_until_cut(response: httpx.Response) -> tuple[bytes, bool]:
    """The bytes received, and whether the transfer ended without its terminator."""
    received = bytearray()
    try:
        async for piece in response.aiter_raw():
            received += piece
    except httpx.RemoteProtocolError:
        return bytes(received), True
    return bytes(received), False


async def _eventually(condition: Callable[[], bool]) -> None:
    """Wait (at most PATIENCE_S) for a condition a background task makes true."""
    deadline = asyncio.get_running_loop().time() + PATIENCE_S
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.01)


@pytest.fixture
async def metered(upstream: Upstream) -> AsyncIterator[tuple[Gateway, CollectorRegistry]]:
    registry = CollectorRegistry()
    gateway = await open_gateway(upstream.address, metrics_registry=registry)
    try:
        yield gateway, registry
    finally:
        await close_gateway(gateway)


async def test_a_csv_export_is_the_chunks_byte_for_byte(
    gateway: Gateway, upstream: Upstream
) -> None:
    response = await gateway.client.get(EXPORT, params={"format": "csv"}, headers=AUTH)
    assert response.status_code == 200
    # As the first message said: no charset appended, no JSON.
    assert response.headers["content-type"] == CSV
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "etag" not in response.headers
    assert response.headers["x-request-id"]
    (request,) = upstream.audit.export_requests
    assert request.format == audit_query_pb2.AUDIT_EXPORT_FORMAT_CSV
    assert response.content == b"".join(export_rows(request, 3))
    assert response.content.startswith(b"sequence,actor,action\r\n1,alice,read\r\n")


async def test_a_jsonl_export_is_the_chunks_byte_for_byte(
    gateway: Gateway, upstream: Upstream
) -> None:
    response = await gateway.client.get(
        EXPORT, params={"format": "JSONL", "actor": "bob"}, headers=AUTH
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == JSONL
    (request,) = upstream.audit.export_requests
    assert response.content == b"".join(export_rows(request, 3))
    lines = response.content.splitlines()
    assert [json.loads(line)["event"]["actor"] for line in lines] == ["bob"] * 3


async def test_only_the_first_message_sets_the_content_type(
    gateway: Gateway, upstream: Upstream
) -> None:
    async def script(request: Request, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        yield httpbody_pb2.HttpBody(content_type="text/csv; charset=utf-8", data=b"a,b\r\n")
        yield httpbody_pb2.HttpBody(content_type="application/json", data=b"1,2\r\n")
        yield httpbody_pb2.HttpBody(data=b"")  # empty chunks are skipped, not a terminator
        yield httpbody_pb2.HttpBody(data=b"3,4\r\n")

    upstream.audit.export = script
    response = await gateway.client.get(EXPORT, headers=AUTH)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content == b"a,b\r\n1,2\r\n3,4\r\n"


async def test_no_content_type_is_served_as_octet_stream(
    gateway: Gateway, upstream: Upstream
) -> None:
    async def script(request: Request, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        yield httpbody_pb2.HttpBody(data=b"\x00\x01")

    upstream.audit.export = script
    response = await gateway.client.get(EXPORT, headers=AUTH)
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == b"\x00\x01"


async def test_an_empty_stream_is_an_empty_body(gateway: Gateway, upstream: Upstream) -> None:
    async def script(request: Request, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        return
        yield  # an async generator that sends nothing

    upstream.audit.export = script
    response = await gateway.client.get(EXPORT, headers=AUTH)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "application/octet-stream"


async def test_a_large_export_of_many_chunks_arrives_whole(
    metered: tuple[Gateway, CollectorRegistry], upstream: Upstream
) -> None:
    gateway, registry = metered
    # 3,000 chunks of varied sizes and content (about 3 MB).
    chunks = [(f"{n:06d}," + "x" * (n % 1500) + "\r\n").encode() for n in range(3000)]

    async def script(request: Request, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        yield httpbody_pb2.HttpBody(content_type=CSV)
        for chunk in chunks:
            yield httpbody_pb2.HttpBody(data=chunk)

    upstream.audit.export = script
    received = bytearray()
    async with gateway.client.stream("GET", EXPORT, headers=AUTH) as response:
        assert response.status_code == 200
        async for piece in response.aiter_raw():
            received += piece
    assert bytes(received) == b"".join(chunks)
    assert upstream.audit.export_sent == len(chunks) + 1
    assert _streams(registry, "completed") == 1


async def test_chunks_are_forwarded_as_they_arrive(gateway: Gateway, upstream: Upstream) -> None:
    release = asyncio.Event()

    async def script(request: Request, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        yield httpbody_pb2.HttpBody(content_type=CSV, data=b"head\r\n")
        await release.wait()
        yield httpbody_pb2.HttpBody(data=b"tail\r\n")

    upstream.audit.export = script
    async with gateway.client.stream("GET", EXPORT, headers=AUTH) as response:
        pieces = response.aiter_raw()
        # The first chunk reaches the client while the upstream still holds the second.
        assert await anext(pieces) == b"head\r\n"
        assert not release.is_set()
        release.set()
        rest = b"".join([piece async for piece in pieces])
    assert rest == b"tail\r\n"


def _packed(message: error_details_pb2.ErrorInfo) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


async def test_an_error_before_the_first_chunk_is_an_ordinary_error_answer(
    gateway: Gateway, upstream: Upstream
) -> None:
    info = error_details_pb2.ErrorInfo(reason="NO_RANGE", domain="extplane.audit")

    async def script(request: Request, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        status = status_pb2.Status(
            code=grpc.StatusCode.FAILED_PRECONDITION.value[0],
            message="the range was pruned",
            details=[_packed(info)],
        )
        await abort_with(context, status)
        yield httpbody_pb2.HttpBody()  # never reached

    upstream.audit.export = script
    response = await gateway.client.get(EXPORT, headers=AUTH)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "code": 9,
        "message": "the range was pruned",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "NO_RANGE",
                "domain": "extplane.audit",
            }
        ],
    }


async def test_a_crash_before_the_first_chunk_is_500_without_internals(
    gateway: Gateway, upstream: Upstream
) -> None:
    async def script(request: Request, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        raise RuntimeError("secret path /srv/audit.sqlite")
        yield httpbody_pb2.HttpBody()

    upstream.audit.export = script
    response = await gateway.client.get(EXPORT, headers=AUTH)
    assert response.status_code == 500
    assert response.json()["message"] == "upstream orloj.extensions.v1.AuditQueryService failed"
    assert "sqlite" not in response.text


async def test_an_error_mid_stream_cuts_the_transfer_short(
    metered: tuple[Gateway, CollectorRegistry],
    upstream: Upstream,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gateway, registry = metered

    async def script(request: Request, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        yield httpbody_pb2.HttpBody(content_type=CSV, data=b"sequence\r\n")
        yield httpbody_pb2.HttpBody(data=b"1\r\n")
        await context.abort(grpc.StatusCode.INTERNAL, "the disk went away")

    upstream.audit.export = script
    with caplog.at_level(logging.WARNING, logger="extplane.gateway.streaming"):
        async with gateway.client.stream("GET", EXPORT, headers=AUTH) as response:
            assert response.status_code == 200
            received, cut = await _read_until_cut(response)
    # The body is never terminated: the client cannot mistake it for complete.
    assert cut
    assert received == b"sequence\r\n1\r\n"
    assert "cut short after 13 bytes" in caplog.text
    assert "INTERNAL the disk went away" in caplog.text
    assert _streams(registry, "upstream_error") == 1
    # The gateway still serves the next request.
    upstream.audit.export = default_export
    after = await gateway.client.get(EXPORT, params={"format": "csv"}, headers=AUTH)
    assert after.status_code == 200


async def test_a_deadline_mid_stream_cuts_the_transfer_short(
    gateway: Gateway, upstream: Upstream
) -> None:
    async def script(request: Request, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        yield httpbody_pb2.HttpBody(content_type=CSV, data=b"head\r\n")
        await asyncio.Event().wait()  # stalls until the deadline cancels the call
        yield httpbody_pb2.HttpBody()

    upstream.audit.export = script
    # Generous, so the first message always beats it; the rest never comes.
    headers = {**AUTH, "X-Request-Timeout": "3"}
    async with gateway.client.stream("GET", EXPORT, headers=headers) as response:
        assert response.status_code == 200
        received, cut = await _read_until_cut(response)
    assert (received, cut) == (b"head\r\n", True)


async def test_a_stream_is_not_held_to_the_unary_deadline(upstream: Upstream) -> None:
    async def script(request: Request, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        yield httpbody_pb2.HttpBody(content_type=CSV, data=b"head\r\n")
        await asyncio.sleep(0.5)  # longer than request_timeout_s below
        yield httpbody_pb2.HttpBody(data=b"tail\r\n")

    upstream.audit.export = script
    settings = GatewaySettings(port=0, request_timeout_s=0.2)
    gateway = await open_gateway(upstream.address, settings=settings)
    try:
        response = await gateway.client.get(EXPORT, headers=AUTH)
    finally:
        await close_gateway(gateway)
    assert response.content == b"head\r\ntail\r\n"


async def test_a_client_leaving_mid_stream_cancels_the_upstream_call(
    metered: tuple[Gateway, CollectorRegistry], upstream: Upstream
) -> None:
    gateway, registry = metered

    async def script(request: Request, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        yield httpbody_pb2.HttpBody(content_type=CSV, data=b"head\r\n")
        await asyncio.Event().wait()  # an export that would run forever
        yield httpbody_pb2.HttpBody()

    upstream.audit.export = script
    async with gateway.client.stream("GET", EXPORT, headers=AUTH) as response:
        assert await anext(response.aiter_raw()) == b"head\r\n"
    # Leaving the block unread closes the connection.
    await asyncio.wait_for(upstream.audit.export_cancelled.wait(), PATIENCE_S)
    await _eventually(lambda: _streams(registry, "client_disconnected") == 1)


async def test_a_client_leaving_before_the_first_chunk_cancels_the_upstream_call(
    gateway: Gateway, upstream: Upstream
) -> None:
    async def script(request: Request, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        await asyncio.Event().wait()  # thinks forever before its first message
        yield httpbody_pb2.HttpBody()

    upstream.audit.export = script
    port = gateway.server.port
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {EXPORT} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {AUDIT_TOKEN}\r\n\r\n".encode()
    )
    await writer.drain()
    await asyncio.wait_for(upstream.audit.export_called.wait(), PATIENCE_S)
    writer.close()
    await writer.wait_closed()
    await asyncio.wait_for(upstream.audit.export_cancelled.wait(), PATIENCE_S)


async def test_a_client_that_stops_reading_holds_the_upstream_back(
    gateway: Gateway, upstream: Upstream
) -> None:
    chunk = b"x" * (256 * 1024)
    total = 400  # 100 MiB if nothing held the producer back

    async def script(request: Request, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        yield httpbody_pb2.HttpBody(content_type="application/octet-stream")
        for _ in range(total):
            yield httpbody_pb2.HttpBody(data=chunk)

    upstream.audit.export = script
    async with gateway.client.stream("GET", EXPORT, headers=AUTH) as response:
        await anext(response.aiter_raw())
        # Read nothing more; wait until the upstream stops making progress.
        steady, last = 0, -1
        while steady < 10 and upstream.audit.export_sent < total:
            await asyncio.sleep(0.1)
            steady = steady + 1 if upstream.audit.export_sent == last else 0
            last = upstream.audit.export_sent
        # Socket and HTTP/2 window buffers hold some chunks; the gateway holds none.
        assert upstream.audit.export_sent < total / 2
    await asyncio.wait_for(upstream.audit.export_cancelled.wait(), PATIENCE_S)


@pytest.fixture
async def things() -> AsyncIterator[Gateway]:
    _, file = thing_pool()
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((echo_handler(file),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    gateway = await open_gateway(f"127.0.0.1:{port}", bindings=thing_bindings())
    try:
        yield gateway
    finally:
        await close_gateway(gateway)
        await server.stop(None)


async def test_a_stream_of_messages_is_ndjson(things: Gateway) -> None:
    response = await things.client.get("/v1/watch", params={"name": "w", "size": "3"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.content.splitlines()]
    assert [line["result"]["name"] for line in lines] == ["w-1", "w-2", "w-3"]
    assert lines[0]["result"]["size"] == 1
    assert response.content.endswith(b"\n")


async def test_an_ndjson_error_before_the_first_line_is_an_error_answer(things: Gateway) -> None:
    response = await things.client.get("/v1/watch", params={"tags": FAIL_FIRST})
    assert response.status_code == 404
    assert response.json() == {"code": 5, "message": "no things to watch", "details": []}


async def test_an_ndjson_error_mid_stream_is_a_last_line_then_a_cut(things: Gateway) -> None:
    params = {"name": "w", "size": "2", "tags": FAIL_AFTER}
    async with things.client.stream("GET", "/v1/watch", params=params) as response:
        assert response.status_code == 200
        received, cut = await _read_until_cut(response)
    assert cut
    lines = [json.loads(line) for line in received.splitlines()]
    assert [line.get("result", {}).get("name") for line in lines[:2]] == ["w-1", "w-2"]
    # DATA_LOSS without details is opaque: its message never reaches the client.
    assert lines[2] == {
        "error": {
            "code": 15,
            "message": "upstream test.gateway.v1.ThingService failed",
            "details": [],
        }
    }


async def test_a_unary_http_body_is_served_raw(things: Gateway) -> None:
    params = {"name": "plain words", "inner.label": "text/plain"}
    response = await things.client.get("/v1/raw", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == b"plain words"
    again = await things.client.get(
        "/v1/raw", params=params, headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
