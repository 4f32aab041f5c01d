"""deploy/: one Deployment + Service per service, configured with settings extplane accepts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from extplane.config import Settings
from extplane.gateway.registry import load_bindings
from extplane.suite import GATEWAY, GRPC_SERVICES, SERVICE_NAMES, grpc_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _documents(name: str) -> dict[str, dict[str, Any]]:
    documents = list(yaml.safe_load_all((DEPLOY / f"{name}.yaml").read_text()))
    return {document["kind"]: document for document in documents}


def _container(name: str) -> dict[str, Any]:
    (container,) = _documents(name)["Deployment"]["spec"]["template"]["spec"]["containers"]
    return container


def _settings_from(container: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for variable in list(os.environ):
        if variable.startswith("EXTPLANE_"):
            monkeypatch.delenv(variable)
    for entry in container.get("env", []):
        monkeypatch.setenv(entry["name"], entry["value"])
    return Settings()


def _ports(container: dict[str, Any]) -> dict[str, int]:
    return {port["name"]: port["containerPort"] for port in container["ports"]}


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_each_service_runs_alone_with_settings_extplane_accepts(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = _container(name)
    assert container["args"] == ["serve", name]
    settings = _settings_from(container, monkeypatch)  # raises on an unknown or bad setting
    ports = _ports(container)
    assert ports["metrics"] == settings.metrics.port
    assert settings.host == "0.0.0.0"  # reachable from other pods
    if name in GRPC_SERVICES:
        assert ports["grpc"] == grpc_port(settings, name)
        assert container["readinessProbe"]["grpc"]["port"] == ports["grpc"]
    else:
        assert ports["http"] == settings.gateway.port
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_each_service_object_selects_its_pods_and_targets_named_ports(name: str) -> None:
    documents = _documents(name)
    deployment, service = documents["Deployment"], documents["Service"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    named = set(_ports(_container(name)))
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= named


def test_the_gateway_reaches_every_routed_service_through_its_kubernetes_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings_from(_container(GATEWAY), monkeypatch)
    routed = {binding.method.containing_service.full_name for binding in load_bindings()}
    assert routed <= settings.gateway.upstreams.keys()
    services = {
        _documents(name)["Service"]["metadata"]["name"]: _documents(name)["Service"]
        for name in GRPC_SERVICES
    }
    for upstream, address in settings.gateway.upstreams.items():
        host, _, port = address.rpartition(":")
        assert host in services, f"{upstream} -> {address}: no such Service in deploy/"
        assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}


def test_the_capability_service_is_told_the_whole_deployment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings_from(_container("capabilities"), monkeypatch)
    deployed = {path.stem for path in DEPLOY.glob("*.yaml")}
    assert settings.capabilities.deployment_services is not None
    assert set(settings.capabilities.deployment_services) == deployed
    assert deployed <= set(SERVICE_NAMES)
