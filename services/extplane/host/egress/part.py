"""The `http.fetch` part of the host service (`HostPart`): `HttpService` over the
egress guard, the guard built at start from `[host_providers.egress]` unless
one is given (tests give one with their resolver and loopback-only dialer)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc.aio

from extplane.host.egress.audit import EgressRefusals
from extplane.host.egress.guard import EgressGuard, tls_context
from extplane.host.egress.metrics import egress_metrics
from extplane.host.egress.provider import HTTP_SERVICE, HttpServicer
from extplane.host.egress.settings import EgressSettings
from extplane.host.installs.store import InstallStore
from extplane.host.parts import PartContext
from extplane.runtime import ServiceKit, Serving
from extplane_client import AuditSink
from extplane_protos.alga.extension.v1 import http_pb2_grpc


class EgressPart:
    def __init__(
        self,
        installs: InstallStore,
        settings: EgressSettings,
        kit: ServiceKit,
        *,
        guard: EgressGuard | None = None,
    ) -> None:
        self._settings = settings
        self._given = guard
        self._audit: AuditSink | None = None
        self.serving: Serving[EgressGuard] = Serving("host")
        self._servicer = HttpServicer(
            installs,
            self.serving,
            egress_metrics(kit.registry),
            EgressRefusals(lambda: self._audit),
        )

    @property
    def service_names(self) -> Sequence[str]:
        return (HTTP_SERVICE,)

    def add_to_server(self, server: grpc.aio.Server) -> None:
        http_pb2_grpc.add_HttpServiceServicer_to_server(self._servicer, server)

    async def start(self, context: PartContext) -> None:
        if self.serving.is_open:
            return
        guard = self._given
        if guard is None:
            # Reading the CA files is blocking file I/O: off the loop.
            tls = await asyncio.to_thread(tls_context, self._settings.extra_ca_file)
            guard = EgressGuard(limits=self._settings.limits(), tls=tls)
        self._audit = context.audit
        self.serving.open(guard)

    async def stop(self) -> None:
        if self.serving.close() is None:
            return
        self._audit = None
