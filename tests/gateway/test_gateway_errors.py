"""gRPC failures become the right HTTP status with a `google.rpc.Status` body."""

from __future__ import annotations

import logging

import grpc
import httpx
import pytest
from gateway_servers import (
    Failure,
    Gateway,
    Upstream,
    close_gateway,
    open_gateway,
)
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2

from extplane.gateway import (
    HTTP_STATUS_BY_GRPC_CODE,
    GatewayServer,
    GatewaySettings,
    http_status_for,
)
from extplane.gateway import errors as gateway_errors
from extplane.runtime.log_budget import LogBudget
from tests.loopback import unused_port

ROUTE = "/v1/capabilities"


def _packed(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def test_the_table_covers_every_grpc_code() -> None:
    assert set(HTTP_STATUS_BY_GRPC_CODE) == set(grpc.StatusCode)


def test_an_unknown_code_number_is_logged_and_answered_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="extplane.gateway.errors"):
        assert http_status_for(99) == 500
    assert "unknown gRPC status code 99" in caplog.text
    assert http_status_for(5) == 404


@pytest.mark.parametrize(
    ("code", "http_status"),
    [
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.INVALID_ARGUMENT, 400),
        (grpc.StatusCode.PERMISSION_DENIED, 403),
        (grpc.StatusCode.UNAUTHENTICATED, 401),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
        (grpc.StatusCode.FAILED_PRECONDITION, 400),
        (grpc.StatusCode.ABORTED, 409),
        (grpc.StatusCode.OUT_OF_RANGE, 400),
        (grpc.StatusCode.UNIMPLEMENTED, 501),
        (grpc.StatusCode.CANCELLED, 499),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.INTERNAL, 500),
        (grpc.StatusCode.DATA_LOSS, 500),
    ],
)
async def test_status_with_details_maps_and_round_trips(
    gateway: Gateway, upstream: Upstream, code: grpc.StatusCode, http_status: int
) -> None:
    info = error_details_pb2.ErrorInfo(
        reason="NO_SNAPSHOT", domain="extplane.test", metadata={"tenant": "acme"}
    )
    upstream.provider.failure = Failure(code, f"it went {code.name}", [_packed(info)])
    response = await gateway.client.get(ROUTE)
    assert response.status_code == http_status
    assert response.headers["content-type"] == "application/json"
    assert "etag" not in response.headers
    assert response.json() == {
        "code": code.value[0],
        "message": f"it went {code.name}",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "NO_SNAPSHOT",
                "domain": "extplane.test",
                "metadata": {"tenant": "acme"},
            }
        ],
    }


async def test_bad_request_details_round_trip(gateway: Gateway, upstream: Upstream) -> None:
    bad = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field="namespace", description="empty")
        ]
    )
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2))
    upstream.provider.failure = Failure(
        grpc.StatusCode.INVALID_ARGUMENT, "namespace is empty", [_packed(bad), _packed(retry)]
    )
    response = await gateway.client.get(ROUTE)
    assert response.status_code == 400
    assert response.json()["details"] == [
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": "namespace", "description": "empty"}],
        },
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"},
    ]


async def test_a_plain_status_keeps_its_message(gateway: Gateway, upstream: Upstream) -> None:
    upstream.provider.failure = Failure(grpc.StatusCode.NOT_FOUND, "no such tenant")
    response = await gateway.client.get(ROUTE)
    assert response.status_code == 404
    assert response.json() == {"code": 5, "message": "no such tenant", "details": []}


async def test_a_detail_of_a_type_unknown_here_stays_opaque(
    gateway: Gateway, upstream: Upstream
) -> None:
    opaque = any_pb2.Any(type_url="type.googleapis.com/acme.v1.Secretive", value=b"\x08\x01")
    upstream.provider.failure = Failure(grpc.StatusCode.ABORTED, "retry", [opaque])
    response = await gateway.client.get(ROUTE)
    assert response.status_code == 409
    assert response.json()["details"] == [
        {"@type": "type.googleapis.com/acme.v1.Secretive", "value": "CAE="}
    ]


async def test_a_crashing_upstream_is_a_500_that_leaks_nothing(
    gateway: Gateway, upstream: Upstream
) -> None:
    upstream.provider.crash = True
    response = await gateway.client.get(ROUTE)
    assert response.status_code == 500
    assert response.json() == {
        "code": 2,
        "message": "upstream orloj.extensions.v1.CapabilityProvider failed",
        "details": [],
    }
    assert "sqlite" not in response.text


async def test_a_flood_of_upstream_crashes_logs_a_bounded_number_of_lines(
    gateway: Gateway,
    upstream: Upstream,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The budget is the process's; earlier tests may have spent some of it.
    monkeypatch.setattr(gateway_errors, "_UPSTREAM_FAILURES_LOGGED", LogBudget())
    caplog.set_level(logging.WARNING, logger="extplane.gateway.errors")
    upstream.provider.crash = True
    for _ in range(60):
        assert (await gateway.client.get(ROUTE)).status_code == 500

    lines = [r for r in caplog.records if r.name == "extplane.gateway.errors"]
    # A client can crash an upstream at will: a burst of 10, then about one a second.
    assert 1 <= len(lines) <= 15


async def test_a_dead_upstream_is_503_unavailable() -> None:
    gateway = await open_gateway(f"127.0.0.1:{unused_port()}")
    try:
        response = await gateway.client.get(ROUTE)
    finally:
        await close_gateway(gateway)
    assert response.status_code == 503
    assert response.json() == {
        "code": 14,
        "message": "upstream orloj.extensions.v1.CapabilityProvider unavailable",
        "details": [],
    }


async def test_a_slow_upstream_hits_the_configured_deadline(upstream: Upstream) -> None:
    upstream.provider.delay_s = 5.0
    gateway = await open_gateway(
        upstream.address, settings=GatewaySettings(port=0, request_timeout_s=0.2)
    )
    try:
        response = await gateway.client.get(ROUTE)
    finally:
        await close_gateway(gateway)
    assert response.status_code == 504
    assert response.json()["code"] == 4


async def test_a_client_timeout_header_shortens_the_deadline(
    gateway: Gateway, upstream: Upstream
) -> None:
    upstream.provider.delay_s = 5.0
    by_grpc = await gateway.client.get(ROUTE, headers={"Grpc-Timeout": "200m"})
    assert by_grpc.status_code == 504
    by_seconds = await gateway.client.get(ROUTE, headers={"X-Request-Timeout": "0.2"})
    assert by_seconds.status_code == 504


@pytest.mark.parametrize(
    ("header", "value", "named"),
    [
        ("Grpc-Timeout", "soon", "Grpc-Timeout"),
        ("Grpc-Timeout", "0S", "Grpc-Timeout"),
        ("X-Request-Timeout", "-1", "X-Request-Timeout"),
        ("X-Request-Timeout", "nan", "X-Request-Timeout"),
    ],
)
async def test_a_malformed_timeout_header_is_400(
    gateway: Gateway, header: str, value: str, named: str
) -> None:
    response = await gateway.client.get(ROUTE, headers={header: value})
    assert response.status_code == 400
    assert response.json()["message"].startswith(f'header "{named}"')


async def test_an_unresolvable_upstream_is_503(upstream: Upstream) -> None:
    def nowhere(service: str) -> str:
        raise LookupError(f"no upstream configured for {service}")

    server = GatewayServer(GatewaySettings(port=0), host="127.0.0.1", upstream_for=nowhere)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            response = await client.get(ROUTE)
    finally:
        await server.stop()
    assert response.status_code == 503
    assert response.json()["code"] == 14


async def test_an_answer_over_the_message_limit_is_a_502_without_transport_text(
    gateway: Gateway, upstream: Upstream
) -> None:
    upstream.provider.snapshot.metadata["blob"] = "x" * (5 * 1024 * 1024)

    response = await gateway.client.get(ROUTE)

    assert response.status_code == 502
    body = response.json()
    assert body["code"] == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert "larger than max" not in body["message"]
    assert "too large" in body["message"]


async def test_a_real_quota_stays_a_429_with_its_message(
    gateway: Gateway, upstream: Upstream
) -> None:
    upstream.provider.failure = Failure(grpc.StatusCode.RESOURCE_EXHAUSTED, "tenant quota spent")

    response = await gateway.client.get(ROUTE)

    assert response.status_code == 429
    assert response.json()["message"] == "tenant quota spent"
