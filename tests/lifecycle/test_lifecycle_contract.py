"""One lifecycle contract, run against every component the suite is built from.

`start()` returns once ready; `stop()` is safe without `start()` and safe twice;
`async with` runs both. A new component joins by adding a factory below.
"""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from extplane.audit.service import AuditService
from extplane.capabilities.config import CapabilitiesSettings
from extplane.capabilities.service import CapabilitiesService
from extplane.config import Settings
from extplane.gateway.server import GatewayServer
from extplane.host.service import HostService
from extplane.metering.service import MeteringService
from extplane.runner.service import RunnerService
from extplane.runtime import Metrics, MetricsEndpoint
from extplane.runtime.kit import ServiceKit
from extplane.runtime.lifecycle import AsyncLifecycle, Lifecycle
from extplane.runtime.retention import RetentionLoop
from extplane.runtime.server import GrpcServer
from extplane.suite import Suite
from tests.loopback import dead_address

# Stores of the stateful services go to a directory of their own, not ./data.
_DATA_DIR = Path(tempfile.mkdtemp(prefix="extplane-lifecycle-"))


def _settings() -> Settings:
    return Settings(
        data_dir=_DATA_DIR,
        capabilities={"port": 0},
        gateway={"port": 0},
        metering={"port": 0},
        audit={"port": 0},
        host_providers={"port": 0},
        runner={"port": 0},
        metrics={"port": 0},
    )


def _capabilities() -> CapabilitiesService:
    return CapabilitiesService(CapabilitiesSettings(port=0), running_services=["capabilities"])


def _metering() -> MeteringService:
    settings = _settings()
    return MeteringService(settings.metering, _kit(settings))


def _audit() -> AuditService:
    settings = _settings()
    return AuditService(settings.audit, _kit(settings))


def _host() -> HostService:
    settings = _settings()
    return HostService(settings.host_providers, _kit(settings))


def _runner() -> RunnerService:
    settings = _settings()
    return RunnerService(settings.runner, _kit(settings))


def _kit(settings: Settings) -> ServiceKit:
    return ServiceKit.for_directory(settings.data_dir, auth=settings.auth)


def _grpc_server() -> GrpcServer:
    return GrpcServer(
        _capabilities(), host="127.0.0.1", port=0, shutdown_grace_s=_settings().shutdown_grace_s
    )


def _gateway() -> GatewayServer:
    settings = _settings()
    return GatewayServer(settings.gateway, host="127.0.0.1", upstream_for=lambda _: dead_address())


def _metrics_endpoint() -> MetricsEndpoint:
    return MetricsEndpoint(_settings().metrics, Metrics())


def _suite() -> Suite:
    return Suite(_settings(), metrics=Metrics())


def _retention_loop() -> RetentionLoop:
    async def prune_nothing() -> int:
        return 0

    return RetentionLoop("test", prune_nothing, interval_s=3600)


COMPONENTS: dict[str, Callable[[], Lifecycle]] = {
    "capabilities service": _capabilities,
    "metering service": _metering,
    "audit service": _audit,
    "host service": _host,
    "runner service": _runner,
    "grpc server": _grpc_server,
    "gateway server": _gateway,
    "metrics endpoint": _metrics_endpoint,
    "suite": _suite,
    "retention loop": _retention_loop,
}

pytestmark = pytest.mark.parametrize("make", COMPONENTS.values(), ids=COMPONENTS.keys())


async def test_stop_is_safe_without_start(make: Callable[[], Lifecycle]) -> None:
    component = make()
    await component.stop()
    await component.stop()


def _listening_ports(component: Lifecycle) -> list[int]:
    if isinstance(component, Suite):
        return [port for part in component.components for port in _listening_ports(part)]
    port = getattr(component, "port", None)
    return [port] if isinstance(port, int) else []


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except OSError:
        return False
    return True


async def test_start_serves_and_stop_twice_releases(make: Callable[[], Lifecycle]) -> None:
    component = make()
    await component.start()
    ports = _listening_ports(component)
    assert all(_accepts(port) for port in ports)
    await component.stop()
    await component.stop()
    assert not any(_accepts(port) for port in ports)


async def test_async_with_starts_and_stops(make: Callable[[], Lifecycle]) -> None:
    component = make()
    assert isinstance(component, AsyncLifecycle)
    async with component as entered:
        assert entered is component
    await component.stop()
