"""The gateway as a lifecycle component: uvicorn serving the app in the running loop,
over HTTPS when TLS is configured (client certificates required with a client CA;
rotated certificate files are served to new connections without a restart)."""

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
from extplane.gateway.draining import RequestDrain
from extplane.gateway.registry import HttpBinding
from extplane.gateway.types import UpstreamResolver
from extplane.runtime.lifecycle import AsyncLifecycle
from extplane.runtime.server import host_port
from extplane.runtime.server_ssl_context import ReloadingSslContext
from extplane.runtime.tls import TlsSettings
from extplane_client.tls import ClientTls

logger = logging.getLogger(__name__)

# Once the requests left are cut short, how long a drain waits for uvicorn to
# finish before cancelling it outright.
_FORCED_EXIT_WAIT_S = 5.0


class _Uvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The suite's runtime owns SIGTERM/SIGINT and calls stop(); uvicorn must not
        # take the handlers over (nor re-raise the signal when it exits).
        yield


def _bind(host: str, port: int) -> socket.socket:
    host = host.removeprefix("[").removesuffix("]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # "::" takes IPv4 too when the system allows it, as the gRPC servers' "[::]" does.
    dualstack = host == "::" and socket.has_dualstack_ipv6()
    sock = socket.create_server((host, port), family=family, backlog=2048, dualstack_ipv6=dualstack)
    # asyncio sets TCP_NODELAY only on sockets created with proto=IPPROTO_TCP, and
    # create_server uses 0; without it each response waits ~40 ms for a delayed ACK.
    # Accepted connections inherit the option from the listening socket.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class GatewayServer(AsyncLifecycle):
    """`start()` returns once the port is listening (port 0 picks one: see `.port`).

    A `Drainable`, like `GrpcServer`: `drain(grace)` stops accepting connections,
    answers `/readyz` 503, lets the requests in flight run for at most `grace`
    seconds, then cuts the rest short (see `draining`) and stops. Called again
    while draining, a smaller grace shortens the wait; `drain(0)` cuts at once.
    `stop()` drains with `shutdown_grace_s`; it is safe without `start()` and twice.
    """

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
        tls: TlsSettings | None = None,
        upstream_tls: ClientTls | None = None,
    ) -> None:
        self._settings = settings
        self._host = host
        self._upstream_for = upstream_for
        self._bindings = bindings
        self._grace_s = shutdown_grace_s
        self._tracer_provider = tracer_provider
        self._metrics_registry = metrics_registry
        self._tls = tls if tls is not None and tls.enabled else None
        self._channels = UpstreamChannels(tls=upstream_tls)
        self._server: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self._requests: RequestDrain | None = None
        self._port: int | None = None
        # The drain in progress, and the loop time at which it cuts requests short.
        self._draining: asyncio.Future[None] | None = None
        self._cut_at = math.inf
        self._cut_at_moved = asyncio.Event()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the gateway is not started")
        return self._port

    async def start(self) -> None:
        if self._task is not None:
            return
        # Built first: unusable certificate files fail the start before anything binds.
        ssl_context = ReloadingSslContext(self._tls).listening if self._tls else None
        requests = RequestDrain()
        app = create_app(
            self._settings,
            self._upstream_for,
            bindings=self._bindings,
            channels=self._channels,
            tracer_provider=self._tracer_provider,
            metrics_registry=self._metrics_registry,
            drain=requests,
        )
        # Binding here, not in uvicorn, turns "address in use" into an OSError for
        # the caller instead of uvicorn's sys.exit.
        sock = _bind(self._host, self._settings.port)
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            requests.wrap(app),
            log_config=None,  # records go to the stdlib loggers, formatted by the suite
            access_log=self._settings.access_log,
            lifespan="on",
            # The grace period is drain()'s to enforce, and a second drain may shorten it.
            timeout_graceful_shutdown=None,
            server_header=False,
            ssl_context_factory=None if ssl_context is None else lambda _c, _d: ssl_context,
        )
        server = _Uvicorn(config)
        self._server, self._requests = server, requests
        task = asyncio.create_task(self._serve(server, sock), name="gateway-http")
        self._task = task
        try:
            while not server.started:
                if task.done():
                    await task
                    raise RuntimeError("the gateway HTTP server stopped during start")
                await asyncio.sleep(0.01)
        except BaseException:
            await self.drain(0)
            raise
        logger.info(
            "gateway listening on %s (%s)",
            host_port(self._host, self._port),
            "plaintext" if self._tls is None else "HTTPS",
        )

    @staticmethod
    async def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            await server.serve(sockets=[sock])
        except SystemExit as exc:  # uvicorn's answer to a failed lifespan start
            raise RuntimeError("the gateway HTTP server failed to start") from exc
        finally:
            sock.close()

    async def stop(self) -> None:
        await self.drain(self._grace_s)

    async def drain(self, grace: float) -> None:
        loop = asyncio.get_running_loop()
        self._cut_at = min(self._cut_at, loop.time() + max(0.0, grace))
        self._cut_at_moved.set()
        if self._draining is None:
            self._draining = asyncio.ensure_future(self._drain_and_stop())
        # Shielded: a caller that stops waiting does not abandon the drain halfway.
        await asyncio.shield(self._draining)

    async def _drain_and_stop(self) -> None:
        server, task, requests = self._server, self._task, self._requests
        try:
            if server is not None and task is not None and requests is not None:
                requests.begin()
                server.should_exit = True
                # Refuse connections now, not at uvicorn's next tick (up to 0.1 s away).
                for listener in server.servers:
                    listener.close()
                await self._until_exited_or_cut(task)
                if not task.done():
                    cut = requests.cut_short()
                    if cut:
                        logger.warning("gateway drain cut %d request(s) short", cut)
                    # The cut requests answer at once, so uvicorn finishes its own
                    # shutdown (lifespan included); forcing is for a server that does not.
                    done, _ = await asyncio.wait({task}, timeout=_FORCED_EXIT_WAIT_S)
                    if not done:
                        logger.error("the gateway HTTP server did not stop: cancelling it")
                        server.force_exit = True
                        task.cancel()
                with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                    await task
            await self._channels.stop()
        finally:
            self._server = self._task = self._requests = None
            self._draining = None
            self._cut_at = math.inf

    async def _until_exited_or_cut(self, task: asyncio.Task[None]) -> None:
        loop = asyncio.get_running_loop()
        while not task.done():
            # Cleared before reading the deadline, so a drain() in between is seen.
            self._cut_at_moved.clear()
            remaining = self._cut_at - loop.time()
            if remaining <= 0:
                return
            moved = asyncio.ensure_future(self._cut_at_moved.wait())
            try:
                await asyncio.wait(
                    {task, moved}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                moved.cancel()
