"""`extplane serve host` on its own, and where its change events go by default."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from host_support import ADMIN_TOKEN, AUTH
from prometheus_client import CollectorRegistry

from extplane.config import Settings
from extplane.host.config import HostSettings
from extplane.host.parts import HostPart, PartContext
from extplane.host.service import INSTALL_REGISTRY, HostService
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from extplane_client import InstallsClient, NoopAuditSink
from tests.e2e.cli_process import ephemeral_env, start_cli


def test_serve_host_runs_the_registry_alone(tmp_path: Path) -> None:
    env = ephemeral_env(tmp_path, {"EXTPLANE_AUTH__TOKENS": json.dumps(AUTH["tokens"])})
    running = start_cli(["serve", "host"], env, {"host"})
    try:
        assert set(running.addresses) <= {"host", "metrics"}
        target = running.grpc_target("host")
        with grpc.insecure_channel(target) as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=INSTALL_REGISTRY), timeout=10
            )
        assert health.status == health_pb2.HealthCheckResponse.SERVING

        async def register() -> str:
            async with InstallsClient(target, token=ADMIN_TOKEN) as client:
                made = await client.register_install(
                    tenant="acme", install_id="alone", extension_id="e", version="1"
                )
            return made.install_id

        assert asyncio.run(register()) == "alone"
        assert (tmp_path / "data" / "host.db").exists()
    finally:
        assert running.terminate() == 0


async def test_without_an_audit_service_changes_go_to_a_no_op_sink(tmp_path: Path) -> None:
    kit = ServiceKit.for_directory(
        tmp_path, auth=AuthSettings.model_validate(AUTH), registry=CollectorRegistry()
    )
    alone = HostService(HostSettings(port=0), kit)
    assert alone.audit_target() is None
    async with alone:
        assert isinstance(alone.audit_sink, NoopAuditSink)


def test_the_suite_points_the_host_at_its_own_audit_service(tmp_path: Path) -> None:
    settings = Settings.model_validate({"host_providers": {"audit_address": "audit.example:1"}})
    assert settings.host_providers.audit_address == "audit.example:1"
    kit = ServiceKit.for_directory(tmp_path, registry=CollectorRegistry())
    kit.upstream_for = lambda service: "127.0.0.1:7777"
    in_process = HostService(HostSettings(), kit, audit_in_process=True)
    assert in_process.audit_target() == "127.0.0.1:7777"
    configured = HostService(settings.host_providers, kit, audit_in_process=True)
    assert configured.audit_target() == "audit.example:1"


class _Recorded:
    """A part as the host runs it, and what the host held when it did."""

    def __init__(self, part: HostPart, service: HostService, seen: list[tuple[Any, ...]]) -> None:
        self._part = part
        self._service = service
        self._seen = seen

    @property
    def service_names(self) -> Sequence[str]:
        return self._part.service_names

    def add_to_server(self, server: grpc.aio.Server) -> None:
        self._part.add_to_server(server)

    async def start(self, context: PartContext) -> None:
        self._seen.append(("start", type(self._part).__name__))
        await self._part.start(context)

    async def stop(self) -> None:
        # The sink is still the host's while parts stop: what they record is delivered.
        self._seen.append(("stop", type(self._part).__name__, self._service.audit_sink))
        await self._part.stop()


async def test_parts_start_in_order_and_stop_in_reverse_before_the_audit_sink(
    tmp_path: Path,
) -> None:
    kit = ServiceKit.for_directory(
        tmp_path, auth=AuthSettings.model_validate(AUTH), registry=CollectorRegistry()
    )
    service = HostService(HostSettings(port=0), kit)
    names = [type(part).__name__ for part in service.parts]
    assert names == [
        "HostProviders",
        "StoragePart",
        "LogsPart",
        "SecretsPart",
        "CatalogsPart",
        "UiProxyPart",
        "EgressPart",
        "ExtensionsPart",
    ]
    assert tuple(service.service_names) == (
        INSTALL_REGISTRY,
        *(name for part in service.parts for name in part.service_names),
    )
    assert len(set(service.service_names)) == len(service.service_names)

    seen: list[tuple[Any, ...]] = []
    service.parts = tuple(_Recorded(part, service, seen) for part in service.parts)
    async with service:
        sink = service.audit_sink
        assert sink is not None
        assert seen == [("start", name) for name in names]
    assert seen[len(names) :] == [("stop", name, sink) for name in reversed(names)]
    assert service.audit_sink is None


async def test_without_an_audit_token_the_host_says_which_events_are_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kit = ServiceKit.for_directory(
        tmp_path, auth=AuthSettings.model_validate(AUTH), registry=CollectorRegistry()
    )
    # Port 9 on loopback: nothing listens; no event is sent in this test anyway.
    host = HostService(HostSettings(port=0, audit_address="127.0.0.1:9"), kit)
    with caplog.at_level(logging.WARNING, logger="extplane.host.service"):
        async with host:
            pass
    (warning,) = [r for r in caplog.records if r.name == "extplane.host.service"]
    message = warning.getMessage()
    assert "EXTPLANE_HOST_PROVIDERS__AUDIT_TOKEN" in message
    assert "capability denials" in message
    assert "127.0.0.1:9" in message
    assert "audit.writer" in message
