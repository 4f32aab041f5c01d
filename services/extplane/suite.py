"""Which services exist and how one process hosts any set of them.

`extplane up` hosts every service here in one process; `extplane serve NAME`
hosts one (the mesh topology). A new service adds one `GrpcServiceEntry` to
`GRPC_SERVICES`; the CLI, the gateway's default upstreams and the capability
snapshot follow from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from extplane.audit.service import QUERY_SERVICE as AUDIT_QUERY
from extplane.audit.service import SINK_SERVICE as AUDIT_SINK
from extplane.audit.service import AuditService
from extplane.capabilities.service import SERVICE_NAME as CAPABILITY_PROVIDER
from extplane.capabilities.service import CapabilitiesService
from extplane.config import Settings
from extplane.gateway.server import GatewayServer
from extplane.host.capability_names import required_capabilities
from extplane.host.catalogs.part import CATALOG_SERVICES
from extplane.host.egress.provider import HTTP_SERVICE
from extplane.host.extension_logs import LOGGING_SERVICE
from extplane.host.extension_logs.query import EXTENSION_LOGS_SERVICE
from extplane.host.extensions.servicer import EXTENSION_REGISTRY
from extplane.host.secrets.admin import SECRETS_ADMIN
from extplane.host.secrets.provider import SECRETS_SERVICE
from extplane.host.service import INSTALL_REGISTRY, HostService
from extplane.host.storage.servicer import STORAGE_SERVICE
from extplane.host.ui_proxy.servicer import UI_PROXY_SERVICE
from extplane.metering.service import QUERY_SERVICE as METERING_QUERY
from extplane.metering.service import SINK_SERVICE as METERING_SINK
from extplane.metering.service import MeteringService
from extplane.runner.service import HANDLER_SERVICE, RunnerService
from extplane.runtime import Metrics, MetricsEndpoint
from extplane.runtime.kit import ServiceKit
from extplane.runtime.lifecycle import AsyncLifecycle, Lifecycle
from extplane.runtime.server import GrpcServer, host_port
from extplane.runtime.service import GrpcServiceDefinition
from extplane_protos.alga.extension.v1 import context_pb2, user_pb2, user_v2_pb2

GATEWAY = "gateway"


@dataclass(frozen=True)
class GrpcServiceEntry:
    """How the suite builds, places and routes to one gRPC service."""

    # factory(settings, the process's kit, names of every service this deployment runs)
    build: Callable[[Settings, ServiceKit, Sequence[str]], GrpcServiceDefinition]
    port: Callable[[Settings], int]
    # Fully-qualified gRPC services it serves: the gateway's default upstreams.
    serves: tuple[str, ...]
    # Its section of the settings, when not named like the service (`host` is the
    # bind address, so the host service's section is `host_providers`).
    section: str = ""

    def settings_section(self, name: str) -> str:
        return self.section or name


def _capabilities(
    settings: Settings, kit: ServiceKit, running: Sequence[str]
) -> GrpcServiceDefinition:
    return CapabilitiesService(
        settings.capabilities,
        running_services=running,
        registry=kit.registry,
        client_tls=kit.client_tls,
        host_capabilities=host_capabilities(),
    )


def host_capabilities() -> tuple[str, ...]:
    """The capabilities the host entry's Alga providers require: what can be called."""
    required = required_capabilities()
    return tuple(
        sorted({required[name] for name in GRPC_SERVICES["host"].serves if name in required})
    )


def _metering(settings: Settings, kit: ServiceKit, running: Sequence[str]) -> GrpcServiceDefinition:
    return MeteringService(settings.metering, kit)


def _audit(settings: Settings, kit: ServiceKit, running: Sequence[str]) -> GrpcServiceDefinition:
    return AuditService(settings.audit, kit)


def _host(settings: Settings, kit: ServiceKit, running: Sequence[str]) -> GrpcServiceDefinition:
    return HostService(settings.host_providers, kit, audit_in_process="audit" in running)


def _runner(settings: Settings, kit: ServiceKit, running: Sequence[str]) -> GrpcServiceDefinition:
    return RunnerService(settings.runner, kit, running=running)


def service_kit(settings: Settings, registry: CollectorRegistry) -> ServiceKit:
    """The kit every service of this process is built with."""
    return ServiceKit.for_directory(
        settings.data_dir,
        auth=settings.auth,
        page_token_key=settings.page_token_key,
        registry=registry,
        bind_host=settings.host,
        client_certificates_required=settings.tls.client_certificates_required,
        client_tls=settings.client_tls,
    )


GRPC_SERVICES: dict[str, GrpcServiceEntry] = {
    "capabilities": GrpcServiceEntry(
        build=_capabilities,
        port=lambda settings: settings.capabilities.port,
        serves=(CAPABILITY_PROVIDER,),
    ),
    "metering": GrpcServiceEntry(
        build=_metering,
        port=lambda settings: settings.metering.port,
        serves=(METERING_SINK, METERING_QUERY),
    ),
    "audit": GrpcServiceEntry(
        build=_audit,
        port=lambda settings: settings.audit.port,
        serves=(AUDIT_SINK, AUDIT_QUERY),
    ),
    # After audit: the install registry's change events go to it (start order).
    "host": GrpcServiceEntry(
        build=_host,
        port=lambda settings: settings.host_providers.port,
        serves=(
            INSTALL_REGISTRY,
            context_pb2.DESCRIPTOR.services_by_name["ContextService"].full_name,
            user_pb2.DESCRIPTOR.services_by_name["UserService"].full_name,
            user_v2_pb2.DESCRIPTOR.services_by_name["UserV2Service"].full_name,
            STORAGE_SERVICE,
            LOGGING_SERVICE,
            EXTENSION_LOGS_SERVICE,
            SECRETS_SERVICE,
            SECRETS_ADMIN,
            *CATALOG_SERVICES,
            UI_PROXY_SERVICE,
            HTTP_SERVICE,
            EXTENSION_REGISTRY,
        ),
        section="host_providers",
    ),
    # After host: it reads installs and issues tokens there.
    "runner": GrpcServiceEntry(
        build=_runner,
        port=lambda settings: settings.runner.port,
        serves=(HANDLER_SERVICE,),
    ),
}

# Every service that exists, in start order (the gateway last: it needs upstreams).
SERVICE_NAMES: tuple[str, ...] = (*GRPC_SERVICES, GATEWAY)


def grpc_port(settings: Settings, name: str) -> int:
    return GRPC_SERVICES[name].port(settings)


def ephemeral_ports() -> dict[str, dict[str, int]]:
    """Settings that put every gRPC service on a free port (tests, smoke runs)."""
    return {entry.settings_section(name): {"port": 0} for name, entry in GRPC_SERVICES.items()}


def served_by(service_full_name: str) -> str | None:
    """The suite service serving a fully-qualified gRPC service, if any."""
    for name, entry in GRPC_SERVICES.items():
        if service_full_name in entry.serves:
            return name
    return None


def connect_host(bind_host: str) -> str:
    """An address to dial for a server bound to `bind_host` (wildcards mean loopback)."""
    if bind_host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if bind_host in ("::", "[::]"):
        return "::1"
    return bind_host


class Suite(AsyncLifecycle):
    """Hosts `names` in this process: metrics endpoint, gRPC servers, then the gateway.

    `components` are in start order; the CLI hands them to `run_until_signal`,
    which drains them in reverse (gateway first, so its calls in flight still
    reach their upstreams). A gateway hosted beside a service dials that
    server's bound port, which may be ephemeral.
    """

    def __init__(
        self,
        settings: Settings,
        names: Sequence[str] = SERVICE_NAMES,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        unknown = [n for n in names if n not in SERVICE_NAMES]
        if unknown:
            raise ValueError(
                f"unknown service {', '.join(unknown)}; choose from {', '.join(SERVICE_NAMES)}"
            )
        self.settings = settings
        self.metrics = MetricsEndpoint(settings.metrics, metrics)
        self.servers: dict[str, GrpcServer] = {}
        kit = service_kit(settings, self.metrics.metrics.registry)
        kit.upstream_for = self.upstream_for
        for name in names:
            if name in GRPC_SERVICES:
                definition = GRPC_SERVICES[name].build(settings, kit, list(names))
                self.servers[name] = GrpcServer(
                    definition,
                    host=settings.host,
                    port=grpc_port(settings, name),
                    shutdown_grace_s=settings.shutdown_grace_s,
                    metrics=self.metrics.metrics,
                    tls=settings.tls,
                    # A service with interceptors of its own (the host's enforcement).
                    interceptors=getattr(definition, "interceptors", ()),
                    # A service taking large requests (the host's extension uploads).
                    max_receive_message_bytes=getattr(
                        definition, "max_receive_message_bytes", None
                    ),
                )
        self.gateway: GatewayServer | None = None
        if GATEWAY in names:
            self.gateway = GatewayServer(
                settings.gateway,
                host=settings.host,
                upstream_for=self.upstream_for,
                shutdown_grace_s=settings.shutdown_grace_s,
                metrics_registry=self.metrics.metrics.registry,
                tls=settings.tls,
                upstream_tls=settings.client_tls,
            )
        self.components: list[Lifecycle] = [self.metrics, *self.servers.values()]
        if self.gateway is not None:
            self.components.append(self.gateway)
        self._started: list[Lifecycle] = []

    def upstream_for(self, service_full_name: str) -> str:
        configured = self.settings.gateway.upstreams.get(service_full_name)
        if configured:
            return configured
        name = served_by(service_full_name)
        if name is None:
            raise LookupError(f"no upstream configured for {service_full_name}")
        hosted = self.servers.get(name)
        port = hosted.port if hosted is not None else grpc_port(self.settings, name)
        return host_port(connect_host(self.settings.host), port)

    async def start(self) -> None:
        try:
            for component in self.components:
                self._started.append(component)
                await component.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        while self._started:
            await self._started.pop().stop()

    def addresses(self) -> list[tuple[str, str]]:
        """(name, address) of everything this process serves, for people and scripts."""
        host = connect_host(self.settings.host)
        # grpcs/https: the servers speak TLS, so a plaintext client would fail.
        secure = "s" if self.settings.tls.enabled else ""
        rows = [
            (name, f"grpc{secure}://{host_port(host, server.port)}")
            for name, server in self.servers.items()
        ]
        if self.gateway is not None:
            rows.append((GATEWAY, f"http{secure}://{host_port(host, self.gateway.port)}"))
        if self.metrics.port is not None:
            metrics_host = connect_host(self.settings.metrics.host)
            rows.append(("metrics", f"http://{host_port(metrics_host, self.metrics.port)}/metrics"))
        return rows
