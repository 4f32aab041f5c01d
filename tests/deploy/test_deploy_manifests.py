"""deploy/: one Deployment + Service per service, configured with settings extplane accepts,
run as the image's user with the volumes its settings point at."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import kubernetes_validate
import pytest
from starlette.routing import Route

from extplane.config import CONFIG_FILE_ENV, Settings
from extplane.gateway import GatewaySettings, create_app
from extplane.gateway.registry import load_bindings
from extplane.suite import GATEWAY, GRPC_SERVICES, SERVICE_NAMES, grpc_port
from tests.deploy.image import load_image
from tests.deploy.manifests import (
    DEPLOY,
    ENV_PREFIX,
    PROXYLESS_MTLS,
    VARIANTS,
    container,
    documents,
    mount_holding,
    mounts,
    pod_env,
    pod_spec,
    ports,
    setting_path,
)

IMAGE = load_image()
# The oldest Kubernetes the manifests are written for, and the newest schema known.
KUBERNETES_VERSIONS = ("1.31.0", kubernetes_validate.utils.latest_version())
WILDCARDS = ("0.0.0.0", "::")


@pytest.fixture(params=VARIANTS, ids=lambda variant: variant.relative_to(DEPLOY.parent).as_posix())
def variant(request: pytest.FixtureRequest) -> Path:
    """Each test of the manifests runs for both shapes: mesh sidecar and proxyless mTLS."""
    folder: Path = request.param
    return folder


def _container(name: str, variant: Path) -> dict[str, Any]:
    return container(name, variant)


def _documents(name: str, variant: Path) -> dict[str, dict[str, Any]]:
    return documents(name, variant)


def _settings_from(name: str, monkeypatch: pytest.MonkeyPatch, variant: Path) -> Settings:
    for variable in list(os.environ):
        if variable.startswith(ENV_PREFIX):
            monkeypatch.delenv(variable)
    for variable, value in pod_env(IMAGE, name, variant).items():
        if variable != CONFIG_FILE_ENV:  # a Secret's file: not on this machine
            monkeypatch.setenv(variable, value)
    return Settings()


def _ports(container: dict[str, Any]) -> dict[str, int]:
    return {port["name"]: port["containerPort"] for port in container["ports"]}


def _has_store(name: str) -> bool:
    if name not in GRPC_SERVICES:
        return False
    section = getattr(Settings(), GRPC_SERVICES[name].settings_section(name))
    return "database_url" in type(section).model_fields


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_each_service_runs_alone_with_settings_extplane_accepts(
    variant: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = _container(name, variant)
    assert container["args"] == ["serve", name]
    settings = _settings_from(name, monkeypatch, variant)  # raises on an unknown or bad setting
    ports = _ports(container)
    assert ports["metrics"] == settings.metrics.port
    assert settings.host == "0.0.0.0"  # reachable from other pods
    if name in GRPC_SERVICES:
        assert ports["grpc"] == grpc_port(settings, name)
        if settings.tls.client_certificates_required:
            # The kubelet's gRPC probe cannot present a client certificate.
            assert container["readinessProbe"]["tcpSocket"]["port"] == "grpc"
        else:
            assert container["readinessProbe"]["grpc"]["port"] == ports["grpc"]
    else:
        assert ports["http"] == settings.gateway.port
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        scheme = container["readinessProbe"]["httpGet"].get("scheme", "HTTP")
        assert scheme == ("HTTPS" if settings.tls.enabled else "HTTP")


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_each_service_object_selects_its_pods_and_targets_named_ports(
    variant: Path, name: str
) -> None:
    documents = _documents(name, variant)
    deployment, service = documents["Deployment"], documents["Service"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    named = set(_ports(_container(name, variant)))
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= named


def test_the_gateway_reaches_every_routed_service_through_its_kubernetes_service(
    variant: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings_from(GATEWAY, monkeypatch, variant)
    routed = {binding.method.containing_service.full_name for binding in load_bindings()}
    assert routed <= settings.gateway.upstreams.keys()
    services = {
        _documents(name, variant)["Service"]["metadata"]["name"]: _documents(name, variant)[
            "Service"
        ]
        for name in GRPC_SERVICES
    }
    for upstream, address in settings.gateway.upstreams.items():
        host, _, port = address.rpartition(":")
        assert host in services, f"{upstream} -> {address}: no such Service in deploy/"
        assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}


def test_the_capability_service_is_told_the_whole_deployment(
    variant: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings_from("capabilities", monkeypatch, variant)
    deployed = {path.stem for path in variant.glob("*.yaml")}
    assert settings.capabilities.deployment_services is not None
    assert set(settings.capabilities.deployment_services) == deployed
    assert deployed <= set(SERVICE_NAMES)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_object_is_valid_for_kubernetes(variant: Path, name: str, version: str) -> None:
    for document in _documents(name, variant).values():
        kubernetes_validate.validate(document, version, strict=True)


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_variable_set_is_a_setting_extplane_knows(variant: Path, name: str) -> None:
    for variable in pod_env(IMAGE, name, variant):
        if variable.startswith(ENV_PREFIX):
            setting_path(variable)  # raises for a setting that does not exist


def test_the_image_binds_every_server_to_a_wildcard_and_keeps_data_in_its_volume(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in list(os.environ):
        if variable.startswith(ENV_PREFIX):
            monkeypatch.delenv(variable)
    for variable, value in IMAGE.env.items():
        if variable.startswith(ENV_PREFIX):
            setting_path(variable)
            monkeypatch.setenv(variable, value)
    settings = Settings()
    assert settings.host in WILDCARDS
    assert settings.metrics.host in WILDCARDS
    data_dir = PurePosixPath(settings.data_dir)
    assert data_dir.is_absolute(), "a relative data_dir lands in the root-owned WORKDIR"
    assert IMAGE.workdir not in (data_dir, *data_dir.parents)
    assert any(volume in data_dir.parents for volume in IMAGE.volumes), (data_dir, IMAGE.volumes)


def test_the_image_runs_its_console_script_as_a_fixed_non_root_user() -> None:
    assert IMAGE.uid != 0
    assert IMAGE.gid != 0
    assert (IMAGE.created_uid, IMAGE.created_gid) == (IMAGE.uid, IMAGE.gid)
    project = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())["project"]
    assert IMAGE.entrypoint == ("extplane",)
    assert "extplane" in project["scripts"]
    assert IMAGE.cmd == ("up",)


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_each_pod_runs_as_the_image_user_with_nothing_to_escalate(variant: Path, name: str) -> None:
    pod = pod_spec(name, variant)["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == IMAGE.uid
    assert pod["runAsGroup"] == IMAGE.gid
    assert pod["fsGroup"] == IMAGE.gid
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    own = _container(name, variant)["securityContext"]
    assert own["allowPrivilegeEscalation"] is False
    assert own["readOnlyRootFilesystem"] is True
    assert own["capabilities"] == {"drop": ["ALL"]}
    # Nothing in the container overrides the pod's user back.
    assert not {"runAsUser", "runAsGroup", "runAsNonRoot", "privileged"} & own.keys()
    assert pod_spec(name, variant)["automountServiceAccountToken"] is False


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_path_the_service_writes_is_a_writable_volume(
    variant: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings_from(name, monkeypatch, variant)
    tmp = mount_holding(name, PurePosixPath("/tmp"), variant)
    assert tmp is not None
    assert not tmp.read_only
    assert "emptyDir" in tmp.volume
    if _has_store(name):
        data = mount_holding(name, PurePosixPath(settings.data_dir), variant)
        assert data is not None, f"{name}: nothing mounted at {settings.data_dir}"
        assert not data.read_only
        assert data.volume.keys() & {"emptyDir", "persistentVolumeClaim", "ephemeral"}
        # The service creates (and owns) its data directory inside the mount point.
        assert data.path != PurePosixPath(settings.data_dir)
    for mount in mounts(name, variant):
        if "emptyDir" in mount.volume:
            assert mount.volume["emptyDir"].get("sizeLimit"), f"{mount.path}: unbounded"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_file_setting_names_a_file_of_a_mounted_secret_the_user_can_read(
    variant: Path, name: str
) -> None:
    files = {
        variable: PurePosixPath(value)
        for variable, value in pod_env(IMAGE, name, variant).items()
        if variable == CONFIG_FILE_ENV or variable.endswith("_FILE")
    }
    for variable, path in files.items():
        mount = mount_holding(name, path, variant)
        assert mount is not None, f"{variable}={path}: not in any volume"
        assert mount.read_only
        secret = mount.volume["secret"]
        mode = secret["defaultMode"]
        # Files of a Secret belong to root; fsGroup makes them the user's group's.
        assert mode & 0o040, f"{variable}: mode {mode:o} is not group-readable"
        assert not mode & 0o007, f"{variable}: mode {mode:o} is readable by others"
    for mount in mounts(name, variant):
        if "secret" in mount.volume:
            assert mount.read_only


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_the_drain_ends_before_kubernetes_kills_the_pod(
    variant: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings_from(name, monkeypatch, variant)
    assert settings.shutdown_grace_s < pod_spec(name, variant)["terminationGracePeriodSeconds"]


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_probe_targets_a_port_the_container_serves(variant: Path, name: str) -> None:
    served = ports(name, variant)
    for probe_name in ("readinessProbe", "livenessProbe"):
        probe = _container(name, variant)[probe_name]
        if "grpc" in probe:
            assert probe["grpc"]["port"] in served.values()
            assert probe["grpc"].get("service", "") == ""  # the server's overall health
        elif "tcpSocket" in probe:
            assert probe["tcpSocket"]["port"] in served
        else:
            port = probe["httpGet"]["port"]
            assert port in served or port in served.values()


def test_the_gateway_probes_are_routes_of_the_gateway_app(variant: Path) -> None:
    app = create_app(GatewaySettings(), lambda service: "127.0.0.1:1")
    paths = {route.path for route in app.routes if isinstance(route, Route)}
    for probe_name in ("readinessProbe", "livenessProbe"):
        assert _container(GATEWAY, variant)[probe_name]["httpGet"]["path"] in paths


def test_the_deploy_folder_holds_one_manifest_per_service(variant: Path) -> None:
    assert {path.stem for path in variant.glob("*.yaml")} == set(SERVICE_NAMES)


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_the_mesh_shape_is_plaintext_and_the_proxyless_shape_is_mtls(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh = _settings_from(name, monkeypatch, DEPLOY)
    assert not mesh.tls.enabled
    assert mesh.client_tls is None
    proxyless = _settings_from(name, monkeypatch, PROXYLESS_MTLS)
    assert proxyless.tls.enabled
    # People and dashboards call the gateway with bearer tokens; the services,
    # called only by extplane's own clients, require their certificates.
    assert proxyless.tls.client_certificates_required == (name in GRPC_SERVICES)
    if name in (GATEWAY, "capabilities"):  # they dial upstreams / providers
        assert proxyless.client_tls is not None
        assert proxyless.client_tls.cert_file is not None


@pytest.mark.parametrize("name", GRPC_SERVICES)
def test_proxyless_services_are_not_announced_as_plaintext_h2c(name: str) -> None:
    (grpc,) = [
        p
        for p in _documents(name, PROXYLESS_MTLS)["Service"]["spec"]["ports"]
        if p["name"] == "grpc"
    ]
    assert "appProtocol" not in grpc
    (mesh,) = [
        p for p in _documents(name, DEPLOY)["Service"]["spec"]["ports"] if p["name"] == "grpc"
    ]
    assert mesh["appProtocol"] == "kubernetes.io/h2c"
