"""The gateway as a lifecycle component: uvicorn serving the app in the running loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
from collections.abc import Iterator, Sequence

import uvicorn
from opentelemetry import trace
from prometheus_client import CollectorRegistry

from extplane.gateway.app import create_app
from extplane.gateway.channels import UpstreamChannels
from extplane.gateway.config import GatewaySettings
from extplane.gateway.registry import HttpBinding
from extplane.gateway.types import UpstreamResolver
from extplane.runtime.lifecycle import AsyncLifecycle

logger = logging.getLogger(__name__)

# Past the grace period uvicorn cancels what is left; this is how long stop()
# then waits for it to finish before giving up on a clean exit.
_FORCED_EXIT_WAIT_S = 5.0


class _Uvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The suite's runtime owns SIGTERM/SIGINT and calls stop(); uvicorn must not
        # take the handlers over (nor re-raise the signal when it exits).
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=2048)
    # asyncio sets TCP_NODELAY only on sockets created with proto=IPPROTO_TCP, and
    # create_server uses 0; without it each response waits ~40 ms for a delayed ACK.
    # Accepted connections inherit the option from the listening socket.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class GatewayServer(AsyncLifecycle):
    """`start()` returns once the port is listening (port 0 picks one: see `.port`)."""

    def __init__(
        self,
        settings: GatewaySettings,
        *,
        host: str,
        upstream_for: UpstreamResolver,
        bindings: Sequence[HttpBinding] | None = None,
        shutdown_grace_s: float = 10.0,
        tracer_provider: trace.TracerProvider | None = None,
        metrics_registry: CollectorRegistry | None = None,
    ) -> None:
        self._settings = settings
        self._host = host
        self._upstream_for = upstream_for
        self._bindings = bindings
        self._grace_s = shutdown_grace_s
        self._tracer_provider = tracer_provider
        self._metrics_registry = metrics_registry
        self._channels = UpstreamChannels()
        self._server: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the gateway is not started")
        return self._port

    async def start(self) -> None:
        if self._task is not None:
            return
        app = create_app(
            self._settings,
            self._upstream_for,
            bindings=self._bindings,
            channels=self._channels,
            tracer_provider=self._tracer_provider,
            metrics_registry=self._metrics_registry,
        )
        # Binding here, not in uvicorn, turns "address in use" into an OSError for
        # the caller instead of uvicorn's sys.exit.
        sock = _bind(self._host, self._settings.port)
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,  # records go to the stdlib loggers, formatted by the suite
            access_log=self._settings.access_log,
            lifespan="on",
            timeout_graceful_shutdown=max(1, math.ceil(self._grace_s)),
            server_header=False,
        )
        server = _Uvicorn(config)
        self._server = server
        task = asyncio.create_task(self._serve(server, sock), name="gateway-http")
        self._task = task
        try:
            while not server.started:
                if task.done():
                    await task
                    raise RuntimeError("the gateway HTTP server stopped during start")
                await asyncio.sleep(0.01)
        except BaseException:
            await self.stop()
            raise
        logger.info("gateway listening on %s:%d", self._host, self._port)

    @staticmethod
    async def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            await server.serve(sockets=[sock])
        except SystemExit as exc:  # uvicorn's answer to a failed lifespan start
            raise RuntimeError("the gateway HTTP server failed to start") from exc
        finally:
            sock.close()

    async def stop(self) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        if server is not None and task is not None:
            server.should_exit = True
            done, _ = await asyncio.wait({task}, timeout=self._grace_s + _FORCED_EXIT_WAIT_S)
            if not done:
                server.force_exit = True
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await task
        await self._channels.stop()
