"""Baseline servers and benchmark clients, all on 127.0.0.1 in the running event loop.

The baselines are deliberately bare: no interceptors, health, reflection,
middleware or logging, so a ratio against them prices everything extplane adds.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator

import grpc
import httpx
import uvicorn
from starlette.types import ASGIApp

LOOPBACK = "127.0.0.1"

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "grpc_proxy", "no_proxy")


def forget_proxies() -> None:
    """Drop proxy settings from this process, so no request is routed through one."""
    for name in _PROXY_VARIABLES:
        os.environ.pop(name, None)
        os.environ.pop(name.upper(), None)


@contextlib.asynccontextmanager
async def bare_grpc_server(register: Callable[[grpc.aio.Server], None]) -> AsyncIterator[str]:
    """A `grpc.aio` server with only what `register` adds; yields its "host:port"."""
    server = grpc.aio.server()
    register(server)
    port = server.add_insecure_port(f"{LOOPBACK}:0")
    await server.start()
    try:
        yield f"{LOOPBACK}:{port}"
    finally:
        await server.stop(None)


class _QuietUvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Ctrl-C belongs to the benchmark script, as it does to the suite's gateway.
        yield


@contextlib.asynccontextmanager
async def serve_asgi(app: ASGIApp) -> AsyncIterator[str]:
    """`app` on uvicorn as uvicorn binds by default, in this loop; yields the base URL.

    Uvicorn binds the port itself, so its sockets get asyncio's TCP_NODELAY, as a
    plain `uvicorn app:app` deployment would.
    """
    config = uvicorn.Config(
        app,
        host=LOOPBACK,
        port=0,
        log_config=None,
        access_log=False,
        lifespan="off",
        server_header=False,  # as the gateway: response headers of the same size
    )
    server = _QuietUvicorn(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the baseline HTTP server stopped during start")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def grpc_channel(address: str) -> AsyncIterator[grpc.aio.Channel]:
    """A plain channel (no interceptors): client cost is the same on both sides."""
    async with grpc.aio.insecure_channel(address, options=[("grpc.enable_http_proxy", 0)]) as ch:
        yield ch


def _remember_missing_sniffio() -> None:
    # httpcore runs `import sniffio` on every request to learn the async library;
    # when sniffio is not installed, each miss searches sys.path again (about a
    # quarter of a millisecond, twice per request). Recording the miss once makes
    # it a dict lookup. An installed sniffio is left alone.
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


@contextlib.asynccontextmanager
async def http_clients(base_url: str, count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`count` HTTP/1.1 clients, each holding one keep-alive connection, no proxy.

    One client per connection rather than one client with `count` connections:
    httpcore 1.0's pool rescans every connection on each request and release, a
    per-request client cost that grows with the pool (encode/httpx#3215) and
    would swamp both sides of the comparison.
    """
    _remember_missing_sniffio()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0, trust_env=False)
            )
            for _ in range(count)
        ]
        yield clients
