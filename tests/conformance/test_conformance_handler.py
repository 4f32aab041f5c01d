"""The handler suite against HandlerServices implemented here, against the contract
(the runner that will call real ones has not landed): a correct one with an echo
route passes; each broken one fails on the check meant for its fault."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc

from extplane_client.conformance import Level, Options, Verdict, exit_status, run_conformance
from extplane_protos.alga.extension.v1 import handler_pb2 as pb
from extplane_protos.alga.extension.v1 import handler_pb2_grpc
from extplane_protos.alga.extension.v1 import types_pb2 as types
from tests.conformance.reference import serve

ECHO = "/echo"


@dataclass
class Handler(handler_pb2_grpc.HandlerServiceServicer):
    """GET / answers a greeting, ECHO echoes x-conformance-* headers and the body,
    anything else is an HTTP 404. The flags each break one clause."""

    headers_as_dict: bool = False
    empty_body_unset: bool = False
    crlf_header: bool = False
    grpc_error_for_unknown_route: bool = False

    async def Execute(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.ExecuteRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ExecuteResponse:
        path = request.http.url.split("://", 1)[-1].partition("/")[2]
        value = "text/plain\r\nx-injected: 1" if self.crlf_header else "text/plain"
        plain = [types.HttpHeader(name="content-type", value=value)]
        if f"/{path}" == "/":
            return pb.ExecuteResponse(status=200, headers=plain, body=b"hello")
        if f"/{path}" != ECHO:
            if self.grpc_error_for_unknown_route:
                await context.abort(grpc.StatusCode.NOT_FOUND, "no such route")
            return pb.ExecuteResponse(status=404, headers=plain)
        echoed = [(h.name, h.value) for h in request.http.headers]
        if self.headers_as_dict:
            echoed = list(dict(echoed).items())
        response = pb.ExecuteResponse(
            status=200, headers=[types.HttpHeader(name=n, value=v) for n, v in echoed]
        )
        if request.http.HasField("body") and (request.http.body or not self.empty_body_unset):
            response.body = request.http.body
        return response


@asynccontextmanager
async def serve_handler(handler: Handler) -> AsyncIterator[str]:
    def add(server: grpc.aio.Server) -> None:
        handler_pb2_grpc.add_HandlerServiceServicer_to_server(handler, server)

    async with serve(add, health_of="alga.extension.v1.HandlerService") as address:
        yield address


async def check(handler: Handler, **settings: Any) -> Any:
    async with serve_handler(handler) as address:
        return await run_conformance(
            "handler", address, options=Options(level=Level.FULL, settings=settings)
        )


async def test_a_correct_handler_with_an_echo_route_passes_every_check() -> None:
    report = await check(Handler(), echo_path=ECHO)
    assert [r.check.name for r in report.results if r.verdict is not Verdict.PASS] == []
    assert exit_status(report) == 0


async def test_without_an_echo_route_the_round_trips_are_unverifiable() -> None:
    report = await check(Handler())
    assert report.names(Verdict.FAIL) == []
    assert report.names(Verdict.UNVERIFIABLE) == [
        "handler.echo.body_bytes",
        "handler.echo.body_presence",
        "handler.echo.headers_in_order",
    ]
    assert exit_status(report) == 4


async def test_headers_through_a_map_lose_repeats_and_fail_headers_in_order() -> None:
    report = await check(Handler(headers_as_dict=True), echo_path=ECHO)
    assert report.names(Verdict.FAIL) == ["handler.echo.headers_in_order"]


async def test_an_empty_body_returned_as_none_fails_body_presence() -> None:
    report = await check(Handler(empty_body_unset=True), echo_path=ECHO)
    assert report.names(Verdict.FAIL) == ["handler.echo.body_presence"]


async def test_a_header_value_with_crlf_fails_response_headers_valid() -> None:
    report = await check(Handler(crlf_header=True), echo_path=ECHO)
    assert report.names(Verdict.FAIL) == ["handler.response_headers_valid"]
    assert "x-injected" in report.of("handler.response_headers_valid").finding.note


async def test_a_grpc_error_instead_of_an_http_404_fails_unknown_route() -> None:
    report = await check(Handler(grpc_error_for_unknown_route=True), echo_path=ECHO)
    assert report.names(Verdict.FAIL) == ["handler.answers.unknown_route"]
    assert "NOT_FOUND" in report.of("handler.answers.unknown_route").finding.got
