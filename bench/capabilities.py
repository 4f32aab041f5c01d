"""Benchmark the capability path against bare servers of the same shape, in one run.

    .venv/bin/python bench/capabilities.py           # about a minute
    .venv/bin/python bench/capabilities.py --quick   # a few seconds, rough figures

Rows (see bench/README.md): the `Capabilities` RPC on the real capability
service vs. a bare grpc.aio servicer returning the same reply; `GET
/v1/capabilities` through the real gateway vs. a bare Starlette app returning the
same JSON bytes; the same GET revalidated with `If-None-Match` (a 304); and
the GET again, one request at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable

import grpc
import httpx
from _harness import BenchmarkError, Comparison, Op, Plan, bench_arguments, compare, plan_from
from _loopback import (
    LOOPBACK,
    bare_grpc_server,
    forget_proxies,
    grpc_channel,
    http_clients,
    serve_asgi,
)
from _report import format_table, run_header
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from extplane.capabilities.config import CapabilitiesSettings
from extplane.config import LoggingSettings, MetricsSettings, Settings
from extplane.gateway.config import GatewaySettings
from extplane.runtime.logs import configure_logging
from extplane.runtime.tracing import configure_tracing
from extplane.suite import Suite
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

GRPC_CONCURRENCY = 64
HTTP_CONCURRENCY = 32
PATH = "/v1/capabilities"

CapRequest = capabilities_pb2.CapabilitiesRequest
Reply = capabilities_pb2.CapabilitiesResponse


class FixedCapabilities(capabilities_pb2_grpc.CapabilityProviderServicer):
    """The gRPC baseline: answers every call with one prebuilt reply."""

    def __init__(self, reply: Reply) -> None:
        self._reply = reply

    async def Capabilities(  # noqa: N802 - the generated servicer names the RPC method
        self, request: CapRequest, context: grpc.aio.ServicerContext[CapRequest, Reply]
    ) -> Reply:
        return self._reply


def fixed_json_app(body: bytes, etag: str) -> Starlette:
    """The HTTP baseline: the gateway's bytes and ETag, precomputed, and a plain 304."""
    headers = {"etag": etag, "cache-control": "no-cache"}

    async def capabilities(request: Request) -> Response:
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, headers=headers, media_type="application/json")

    return Starlette(routes=[Route(PATH, capabilities, methods=["GET"])])


def rpc_op(channel: grpc.aio.Channel) -> Callable[[], Awaitable[Reply]]:
    stub = capabilities_pb2_grpc.CapabilityProviderStub(channel)
    request = CapRequest()

    async def call() -> Reply:
        return await stub.Capabilities(request, timeout=30.0)

    return call


def get_op(
    client: httpx.AsyncClient, expect: int, headers: dict[str, str] | None = None
) -> Callable[[], Awaitable[httpx.Response]]:
    async def get() -> httpx.Response:
        response = await client.get(PATH, headers=headers)
        if response.status_code != expect:
            raise BenchmarkError(
                f"GET {client.base_url}{PATH} answered {response.status_code}, expected {expect}"
            )
        return response

    return get


def suite_settings() -> Settings:
    """The defaults of `extplane up` (cache on, default TTL), on ephemeral ports."""
    return Settings(
        capabilities=CapabilitiesSettings(port=0),
        gateway=GatewaySettings(port=0),
        metrics=MetricsSettings(port=0),
        logging=LoggingSettings(level="WARNING"),
    )


async def run(plan: Plan, show: Callable[[str], None]) -> list[Comparison]:
    settings = suite_settings()
    # As `extplane up` runs: JSON logs at the configured level, and spans created
    # (propagated, not exported) on every call.
    configure_logging(settings.logging, service="bench")
    configure_tracing(settings.tracing, service_name="extplane-bench")
    async with contextlib.AsyncExitStack() as stack:
        suite = await stack.enter_async_context(Suite(settings, names=("capabilities", "gateway")))
        if suite.gateway is None:
            raise BenchmarkError("the suite started without its gateway")
        real_channel = await stack.enter_async_context(
            grpc_channel(f"{LOOPBACK}:{suite.servers['capabilities'].port}")
        )
        real_rpc = rpc_op(real_channel)
        reply = await real_rpc()

        def register(server: grpc.aio.Server) -> None:
            capabilities_pb2_grpc.add_CapabilityProviderServicer_to_server(
                FixedCapabilities(reply), server
            )

        bare_channel = await stack.enter_async_context(
            grpc_channel(await stack.enter_async_context(bare_grpc_server(register)))
        )

        gateways = await stack.enter_async_context(
            http_clients(f"http://{LOOPBACK}:{suite.gateway.port}", HTTP_CONCURRENCY)
        )
        first = await get_op(gateways[0], 200)()
        body, etag = first.content, first.headers.get("etag")
        if not etag:
            raise BenchmarkError(f"GET {PATH} on the gateway answered without an ETag")
        bare_url = await stack.enter_async_context(serve_asgi(fixed_json_app(body, etag)))
        bares = await stack.enter_async_context(http_clients(bare_url, HTTP_CONCURRENCY))
        show(
            f"reply: {reply.ByteSize()} B protobuf, {len(body)} B JSON, ETag {etag}; "
            f"capability cache TTL {settings.capabilities.cache_ttl_s:g} s"
        )

        revalidate = {"if-none-match": etag}
        workloads: list[tuple[str, list[Op], list[Op]]] = [
            (
                "grpc.Capabilities",
                [real_rpc] * GRPC_CONCURRENCY,
                [rpc_op(bare_channel)] * GRPC_CONCURRENCY,
            ),
            (
                "http.GET",
                [get_op(client, 200) for client in gateways],
                [get_op(client, 200) for client in bares],
            ),
            (
                "http.GET.304",
                [get_op(client, 304, revalidate) for client in gateways],
                [get_op(client, 304, revalidate) for client in bares],
            ),
            # One request at a time: the latency a lone caller sees, which a
            # stall per request (Nagle against delayed ACKs, say) dominates.
            ("http.GET.serial", [get_op(gateways[0], 200)], [get_op(bares[0], 200)]),
        ]
        rows: list[Comparison] = []
        for name, subject, baseline in workloads:
            row = await compare(name, subject, baseline, plan=plan)
            show(f"  measured {name}: ratio {row.ratio:.2f}")
            rows.append(row)
    return rows


def _print(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments(__doc__.splitlines()[0] if __doc__ else "").parse_args(argv)
    plan = plan_from(args)
    # The run measures the defaults, wherever it runs: no EXTPLANE_* overrides,
    # and no proxy between the client, the gateway and the services.
    for name in [n for n in os.environ if n.startswith("EXTPLANE_")]:
        del os.environ[name]
    forget_proxies()
    notes = [
        f"clients in the same process and event loop: gRPC {GRPC_CONCURRENCY} calls in flight "
        f"on one channel; HTTP/1.1 {HTTP_CONCURRENCY} in flight (.serial: 1), "
        "one keep-alive connection each",
    ]
    _print(run_header("extplane bench: capabilities", plan, notes=notes))
    try:
        rows = asyncio.run(run(plan, _print))
    except (BenchmarkError, grpc.aio.AioRpcError, httpx.HTTPError, OSError) as err:
        print(f"bench: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    _print("")
    _print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
