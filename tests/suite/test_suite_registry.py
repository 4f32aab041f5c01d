"""The suite's registry of services agrees with the services and the gateway's routes."""

from __future__ import annotations

from pathlib import Path

import pytest

from extplane.capabilities.core import KNOWN_SERVICES
from extplane.config import Settings
from extplane.gateway.registry import load_bindings
from extplane.runtime.kit import ServiceKit
from extplane.suite import GRPC_SERVICES, SERVICE_NAMES, served_by


@pytest.mark.parametrize("name", GRPC_SERVICES)
def test_each_entry_serves_what_its_definition_registers(name: str, tmp_path: Path) -> None:
    entry = GRPC_SERVICES[name]
    definition = entry.build(Settings(), ServiceKit.for_directory(tmp_path), [name])
    assert definition.name == name
    assert tuple(definition.service_names) == entry.serves


def test_every_routed_grpc_service_has_a_default_upstream_in_the_suite() -> None:
    routed = {binding.method.containing_service.full_name for binding in load_bindings()}
    assert routed
    assert all(served_by(service) is not None for service in routed)


def test_every_suite_service_is_a_capability_feature() -> None:
    assert set(SERVICE_NAMES) <= set(KNOWN_SERVICES)
