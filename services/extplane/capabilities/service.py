"""The deployable capability service: core snapshot + extension providers, cached."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence

import grpc
from prometheus_client import CollectorRegistry

from extplane.capabilities.builder import SnapshotBuilder
from extplane.capabilities.cache import SingleFlightCache
from extplane.capabilities.config import CapabilitiesSettings
from extplane.capabilities.core import core_snapshot
from extplane.capabilities.metrics import provider_queries
from extplane.capabilities.providers import ExtensionProviders
from extplane.capabilities.servicer import CapabilityProviderServicer
from extplane.capabilities.snapshot import Snapshot
from extplane.capabilities.types import ChannelFactory, Clock
from extplane.runtime import process_metrics
from extplane.runtime.channels import create_channel
from extplane.runtime.lifecycle import AsyncLifecycle
from extplane_client.tls import ClientTls
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

SERVICE_NAME: str = capabilities_pb2.DESCRIPTOR.services_by_name["CapabilityProvider"].full_name


class CapabilitiesService(AsyncLifecycle):
    """`orloj.extensions.v1.CapabilityProvider`, as a `GrpcServiceDefinition`.

    `running_services` are the suite services this deployment runs (see
    `core.KNOWN_SERVICES`), unless `settings.deployment_services` names them;
    an unknown name fails here, at construction. Providers are dialled with
    `channel_factory`, by default the runtime's channels with `client_tls`. Provider metrics go to
    `registry`, by default the process registry the metrics endpoint serves.
    `host_capabilities` are those the host service's providers serve, stated in
    the snapshot when the host runs.
    """

    def __init__(
        self,
        settings: CapabilitiesSettings,
        *,
        running_services: Sequence[str],
        channel_factory: ChannelFactory | None = None,
        clock: Clock = time.monotonic,
        registry: CollectorRegistry | None = None,
        client_tls: ClientTls | None = None,
        host_capabilities: Sequence[str] = (),
    ) -> None:
        if channel_factory is None:
            channel_factory = functools.partial(create_channel, tls=client_tls)
        if registry is None:
            registry = process_metrics().registry
        self._providers = ExtensionProviders(
            settings.providers,
            default_timeout_s=settings.provider_timeout_s,
            channel_factory=channel_factory,
            queries=provider_queries(registry),
        )
        if settings.deployment_services is not None:
            running_services = settings.deployment_services
        # Whatever the list says, the service answering this RPC is running.
        running = {*running_services, "capabilities"}
        core = core_snapshot(running, self._providers.names, host_capabilities)
        self._builder = SnapshotBuilder(core, self._providers)
        self._cache: SingleFlightCache[Snapshot] = SingleFlightCache(
            settings.cache_ttl_s, clock=clock
        )

    @property
    def name(self) -> str:
        return "capabilities"

    @property
    def service_names(self) -> Sequence[str]:
        return (SERVICE_NAME,)

    def add_to_server(self, server: grpc.aio.Server) -> None:
        capabilities_pb2_grpc.add_CapabilityProviderServicer_to_server(
            CapabilityProviderServicer(self.snapshot), server
        )

    async def start(self) -> None:
        await self._providers.start()

    async def stop(self) -> None:
        await self._cache.close()
        await self._providers.stop()

    async def snapshot(self, caller_remaining_s: float | None = None) -> Snapshot:
        """The merged snapshot, from the cache while fresh.

        Raises `NotStartedError` before `start()` and after `stop()`.
        """
        return await self._cache.get(lambda: self._builder.build(caller_remaining_s))
