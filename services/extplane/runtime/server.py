"""The gRPC server every extplane service runs in.

Around the service's own servicers it adds tracing, metrics and RPC logs, the
standard health service and server reflection. Health answers NOT_SERVING until
the service's `start()` returned, and again from the moment draining begins.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import grpc.aio
from grpc_health.v1 import health as health_names
from grpc_health.v1 import health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from extplane.runtime.health import NOT_SERVING, SERVING, DrainingHealth
from extplane.runtime.interceptors import server_interceptors
from extplane.runtime.lifecycle import AsyncLifecycle
from extplane.runtime.process_metrics import process_metrics
from extplane.runtime.rpc_metrics import Metrics
from extplane.runtime.server_credentials import server_credentials
from extplane.runtime.service import GrpcServiceDefinition
from extplane.runtime.tls import TlsSettings

_logger = logging.getLogger("extplane.server")

SERVER_OPTIONS: tuple[tuple[str, Any], ...] = (
    # gRPC sets SO_REUSEPORT by default, which lets a second server "bind" a
    # port that is already in use; a clash must fail at start instead.
    ("grpc.so_reuseport", 0),
    # Accept the keepalive pings of `create_channel` clients (every 60 s) on
    # idle streams such as health watches without answering "too many pings".
    ("grpc.http2.min_ping_interval_without_data_ms", 30_000),
)


def host_port(host: str, port: int) -> str:
    """`host:port`, with an IPv6 literal host in brackets."""
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


class GrpcServer(AsyncLifecycle):
    """Serves one `GrpcServiceDefinition` on `host:port` (port 0: an ephemeral port),
    over TLS when `tls` enables it (mTLS with its client CA), else plaintext;
    `interceptors` (e.g. the host's capability enforcement) run inside the kit's;
    `max_receive_message_bytes` raises gRPC's 4 MiB limit on a request message."""

    def __init__(
        self,
        definition: GrpcServiceDefinition,
        *,
        host: str,
        port: int,
        shutdown_grace_s: float,
        metrics: Metrics | None = None,
        tls: TlsSettings | None = None,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
        max_receive_message_bytes: int | None = None,
    ) -> None:
        self._definition = definition
        self._options = SERVER_OPTIONS
        if max_receive_message_bytes is not None:
            self._options += (("grpc.max_receive_message_length", max_receive_message_bytes),)
        # Run inside the kit's own interceptor, so what they refuse is observed.
        self._interceptors = tuple(interceptors)
        self._tls = tls if tls is not None and tls.enabled else None
        self._host = host
        self._requested_port = port
        self._shutdown_grace_s = shutdown_grace_s
        self._metrics = metrics if metrics is not None else process_metrics()
        self._server: grpc.aio.Server | None = None
        self._health: DrainingHealth | None = None
        self._bound_port: int | None = None
        self._definition_stopped = False
        self._definition_stop_lock = asyncio.Lock()

    @property
    def definition(self) -> GrpcServiceDefinition:
        return self._definition

    @property
    def port(self) -> int:
        """The bound port, known as soon as `start()` has bound it."""
        if self._bound_port is None:
            raise RuntimeError(f"gRPC server {self._definition.name!r} is not bound yet")
        return self._bound_port

    @property
    def address(self) -> str:
        return host_port(self._host, self.port)

    def _health_names(self) -> list[str]:
        return ["", *self._definition.service_names]

    async def start(self) -> None:
        if self._server is not None:
            return
        health = DrainingHealth()
        for name in self._health_names():
            await health.set(name, NOT_SERVING)
        server = grpc.aio.server(
            interceptors=[*server_interceptors(self._metrics), *self._interceptors],
            options=self._options,
        )
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        reflection.enable_server_reflection(
            [*self._definition.service_names, health_names.SERVICE_NAME, reflection.SERVICE_NAME],
            server,
        )
        self._definition.add_to_server(server)
        self._server, self._health = server, health
        self._definition_stopped = False
        try:
            address = host_port(self._host, self._requested_port)
            if self._tls is None:
                self._bound_port = server.add_insecure_port(address)
            else:
                self._bound_port = server.add_secure_port(address, server_credentials(self._tls))
            await server.start()
            await self._definition.start()
        except BaseException:
            await self.stop(0)
            raise
        for name in self._health_names():
            await health.set(name, SERVING)
        _logger.info(
            "gRPC server %s serving on %s (%s)",
            self._definition.name,
            self.address,
            _security(self._tls),
            extra={"service_names": list(self._definition.service_names)},
        )

    async def stop(self, grace: float | None = None) -> None:
        """Drain: NOT_SERVING, refuse new calls, let calls in flight run for at most
        `grace` seconds (default `shutdown_grace_s`), then stop the service.

        Called again while draining, a smaller grace cuts the wait short.
        """
        server, health = self._server, self._health
        if server is None or health is None:
            return
        if grace is None:
            grace = self._shutdown_grace_s
        await health.enter_graceful_shutdown()
        await server.stop(grace)
        async with self._definition_stop_lock:
            if self._definition_stopped:
                return
            self._definition_stopped = True
            await self._definition.stop()
            _logger.info("gRPC server %s stopped", self._definition.name)

    async def drain(self, grace: float) -> None:
        await self.stop(grace)


def _security(tls: TlsSettings | None) -> str:
    if tls is None:
        return "plaintext"
    return "mTLS" if tls.client_certificates_required else "TLS"
