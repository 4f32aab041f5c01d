"""The deployable runner service: `alga.extension.v1.HandlerService` on the runner port.

It reaches the host (install registry, install tokens) at `host_address`, the
extension registry at `registry_address` (the host's, unless set), runs
component versions on an `Executor` (`executor.default_executor`, unless one
is given) and gRPC handler versions itself (`polyglot`), and reports each
execution to the metering adapter and each refusal, trap and limit hit to the
audit adapter (no-op adapters when neither is configured nor in the process).

`start()` creates the cache directory, starts the executor, opens the channels
and the adapters, then serves; `stop()` stops serving, stops the executor,
closes the channels and delivers what the adapters hold.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import grpc

from extplane.host.config import HostSettings
from extplane.host.service import INSTALL_REGISTRY
from extplane.runner.component_dispatch import ComponentRunner
from extplane.runner.components import ComponentFiles
from extplane.runner.config import RunnerSettings
from extplane.runner.directory import MAX_COMPONENT_MESSAGE, HostDirectory
from extplane.runner.executor import Executor, default_executor
from extplane.runner.guest_logs import GuestLogs
from extplane.runner.idempotency import IdempotencyStore
from extplane.runner.metrics import RunnerMetrics
from extplane.runner.pipeline import Answer, Pipeline
from extplane.runner.polyglot import GrpcHandlers
from extplane.runner.servicer import HandlerServicer
from extplane.runtime import ServiceKit, Serving, host_port
from extplane.runtime.channels import create_channel
from extplane.runtime.lifecycle import AsyncLifecycle
from extplane_client import (
    AuditSink,
    GrpcAuditSink,
    GrpcMeteringSink,
    MeteringSink,
    NoopAuditSink,
    NoopMeteringSink,
)
from extplane_protos.alga.extension.v1 import handler_pb2, handler_pb2_grpc
from extplane_protos.orloj.extensions.v1 import audit_pb2, metering_pb2

HANDLER_SERVICE: str = handler_pb2.DESCRIPTOR.services_by_name["HandlerService"].full_name
METERING_SINK: str = metering_pb2.DESCRIPTOR.services_by_name["MeteringSink"].full_name
AUDIT_SINK: str = audit_pb2.DESCRIPTOR.services_by_name["AuditSink"].full_name
# How long stop() waits for queued events to reach their services.
FLUSH_S = 5.0

_logger = logging.getLogger(__name__)


class RunnerService(AsyncLifecycle):
    """`HandlerService.Execute`, as a `GrpcServiceDefinition`.

    `running`: the suite services this process runs; metering and audit events go
    to those of the process when no address is configured. `executor`: where
    component executions go (the worker pool); `default_executor` without one.
    """

    def __init__(
        self,
        settings: RunnerSettings,
        kit: ServiceKit,
        *,
        running: Sequence[str] = (),
        executor: Executor | None = None,
    ) -> None:
        self.settings = settings
        self._kit = kit
        self._running = frozenset(running)
        self.cache_dir = settings.cache_directory(kit.data_dir)
        self.executor = (
            executor
            if executor is not None
            else default_executor(settings, self.cache_dir, kit.registry)
        )
        self.serving: Serving[Pipeline] = Serving(self.name)
        self.guest_logs: GuestLogs | None = None
        self.metrics = RunnerMetrics(kit.registry)
        self.idempotency: IdempotencyStore[Answer] = IdempotencyStore(
            ttl_s=settings.idempotency_ttl_s,
            capacity=settings.idempotency_capacity,
            metrics=self.metrics,
        )
        self.audit_sink: AuditSink = NoopAuditSink()
        self.metering_sink: MeteringSink = NoopMeteringSink()
        self._servicer = HandlerServicer(
            self.serving,
            kit.authorizer,
            _AuditOfService(self),
            self.idempotency,
            settings.limits.max_request_bytes,
        )
        self._channels: list[grpc.aio.Channel] = []
        self._handlers: GrpcHandlers | None = None
        self.components: ComponentFiles | None = None

    @property
    def name(self) -> str:
        return "runner"

    @property
    def service_names(self) -> Sequence[str]:
        return (HANDLER_SERVICE,)

    def add_to_server(self, server: grpc.aio.Server) -> None:
        handler_pb2_grpc.add_HandlerServiceServicer_to_server(self._servicer, server)

    def host_address(self) -> str:
        if self.settings.host_address:
            return self.settings.host_address
        if self._kit.upstream_for is not None:
            return self._kit.upstream_for(INSTALL_REGISTRY)
        return host_port("127.0.0.1", HostSettings().port)

    def _target(self, configured: str | None, service: str, suite_name: str) -> str | None:
        if configured:
            return configured
        if suite_name in self._running and self._kit.upstream_for is not None:
            return self._kit.upstream_for(service)
        return None

    def _warn_without_token(self, sink: str, address: str, role: str) -> None:
        if self._kit.authorizer.has_tokens:
            # Said in full: without it the events are silently refused, every one.
            _logger.warning(
                "runner.%s_token (EXTPLANE_RUNNER__%s_TOKEN) is unset while auth tokens are "
                "configured: the %s service at %s will refuse the runner's events; set it to "
                "a token with the %s role",
                sink,
                sink.upper(),
                sink,
                address,
                role,
            )

    def _sinks(self) -> tuple[MeteringSink, AuditSink]:
        settings = self.settings
        metering_at = self._target(settings.metering_address, METERING_SINK, "metering")
        audit_at = self._target(settings.audit_address, AUDIT_SINK, "audit")
        metering: MeteringSink = NoopMeteringSink()
        audit: AuditSink = NoopAuditSink()
        if metering_at is not None:
            token = settings.metering_token
            if token is None:
                self._warn_without_token("metering", metering_at, "metering.writer")
            metering = GrpcMeteringSink(
                metering_at,
                token=token.get_secret_value() if token is not None else None,
                tls=self._kit.client_tls,
                registry=self._kit.registry,
                name="runner_metering",
            )
        else:
            _logger.info("no metering service configured: executions are not metered")
        if audit_at is not None:
            token = settings.audit_token
            if token is None:
                self._warn_without_token("audit", audit_at, "audit.writer")
            audit = GrpcAuditSink(
                audit_at,
                token=token.get_secret_value() if token is not None else None,
                tls=self._kit.client_tls,
                registry=self._kit.registry,
                name="runner_audit",
            )
        else:
            _logger.info("no audit service configured: execution refusals are not audited")
        return metering, audit

    async def start(self) -> None:
        if self.serving.is_open:
            return
        settings = self.settings
        host_address = self.host_address()
        if settings.host_token is None:
            _logger.warning(
                "runner.host_token (EXTPLANE_RUNNER__HOST_TOKEN) is unset: the host at %s "
                "refuses the runner's install lookups, so every execution fails; set it to a "
                "token holding installs.issuer",
                host_address,
            )
        host = create_channel(host_address, tls=self._kit.client_tls)
        registry = create_channel(
            settings.registry_address or host_address,
            tls=self._kit.client_tls,
            options=[("grpc.max_receive_message_length", MAX_COMPONENT_MESSAGE)],
        )
        self._channels = [host, registry]
        token = settings.host_token.get_secret_value() if settings.host_token else None
        directory = HostDirectory(
            host, registry, token=token, target_ttl_s=settings.install_cache_ttl_s
        )
        self.components = ComponentFiles(self.cache_dir, directory.component)
        self.guest_logs = GuestLogs(host, self._kit.registry)
        await asyncio.to_thread(self.components.open)
        await self.executor.start()
        self.metering_sink, self.audit_sink = self._sinks()
        self._handlers = GrpcHandlers(
            host_address=host_address,
            tls=self._kit.client_tls,
            max_response_bytes=settings.limits.max_response_bytes,
        )
        pipeline = Pipeline(
            directory,
            ComponentRunner(self.components, self.executor, host_address),
            self._handlers,
            self.metering_sink,
            settings.limits,
            self.metrics,
            self.guest_logs,
        )
        self.serving.open(pipeline)
        _logger.info("runner ready: host %s, components cached in %s", host_address, self.cache_dir)

    async def stop(self) -> None:
        if self.serving.close() is None:
            return
        await self.executor.stop()
        if self.guest_logs is not None:
            await self.guest_logs.drain(FLUSH_S)
            self.guest_logs = None
        if self._handlers is not None:
            await self._handlers.stop()
        channels, self._channels = self._channels, []
        for channel in channels:
            await channel.close(None)
        metering, audit = self.metering_sink, self.audit_sink
        self.metering_sink, self.audit_sink = NoopMeteringSink(), NoopAuditSink()
        await asyncio.gather(
            asyncio.to_thread(metering.close, FLUSH_S), asyncio.to_thread(audit.close, FLUSH_S)
        )


class _AuditOfService:
    """The service's audit sink of the moment (made at start, after the servicer)."""

    def __init__(self, service: RunnerService) -> None:
        self._service = service

    def record(self, event: audit_pb2.AuditEvent) -> None:
        self._service.audit_sink.record(event)

    def flush(self, timeout: float | None = 10.0) -> bool:
        return self._service.audit_sink.flush(timeout)

    def close(self, timeout: float | None = 10.0) -> bool:
        return True
