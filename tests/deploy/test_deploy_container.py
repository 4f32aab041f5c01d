"""The image's command, and each manifest's, run directly: bound where they say, serving.

Overrides, and only these: every port is 0 (ephemeral), since the servers of
four pods share this one machine; the gateway's upstream host names (cluster
DNS) become the 127.0.0.1 addresses of the processes started here; volumes and
the rest of the container's filesystem are folders of a temporary directory
(see `simulation`). The bind addresses are the image's and the manifests' own
(0.0.0.0): the test checks what each process listens on, and sends traffic to
127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from extplane.config import CONFIG_FILE_ENV, Settings
from extplane.keys import rotate
from extplane.suite import GATEWAY, GRPC_SERVICES
from extplane_client.tls import ClientTls, sync_channel
from tests.deploy.image import load_image
from tests.deploy.manifests import (
    DEPLOY,
    PROXYLESS_MTLS,
    VARIANTS,
    container,
    documents,
    mounts,
    pod_env,
)
from tests.deploy.simulation import (
    ContainerFilesystem,
    files_open_for_writing,
    listening,
    start_container,
)
from tests.e2e.cli_process import RunningCli
from tests.tls_certs import Pki

IMAGE = load_image()
WAIT_S = 30.0
EPHEMERAL_PORTS = {
    f"EXTPLANE_{setting}__PORT": "0"
    for setting in ("GATEWAY", "CAPABILITIES", "METERING", "AUDIT", "HOST_PROVIDERS", "METRICS")
}
TOKEN = "deploy-test-token-0123456789"
WRITER_TOKEN = "deploy-test-writer-0123456789"
# What an operator configures for the image's wildcard bind: an authenticated writer.
WRITER_TOKENS = json.dumps([{"name": "runtime", "token": WRITER_TOKEN, "roles": ["*"]}])
PAGE_TOKEN_KEY = "deploy-test-page-token-key-0123456789abcdef"
WILDCARDS = ("0.0.0.0", "::")


@pytest.fixture
def running() -> Iterator[list[RunningCli]]:
    started: list[RunningCli] = []
    yield started
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait(timeout=10)


def _target(process: RunningCli, name: str) -> str:
    return process.grpc_target(name)


def _port(address: str) -> int:
    port = urlsplit(address).port
    assert port is not None, address
    return port


def _assert_bound_where_configured(process: RunningCli, host: str) -> None:
    """Every port it prints, and no other, listens on `host`.

    gRPC binds a wildcard as "::" (dual-stack, IPv4 included: the health checks
    below reach it on 127.0.0.1), so either wildcard satisfies the other.
    """
    printed = {_port(address) for address in process.addresses.values()}
    bound = listening(process.process.pid)
    assert {port for _, port in bound} == printed
    accepted = set(WILDCARDS) if host in WILDCARDS else {host}
    assert {address for address, _ in bound} <= accepted, bound


def _assert_serving(target: str, tls: ClientTls | None = None, timeout: float = WAIT_S) -> None:
    with sync_channel(target, tls) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=timeout
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING, target


def _assert_writes_only_inside(process: RunningCli, folders: list[Path]) -> None:
    for path in files_open_for_writing(process.process.pid):
        assert any(folder in path.parents for folder in folders), f"writes {path}"


def test_the_image_command_serves_the_suite_bound_where_the_image_says(
    tmp_path: Path, running: list[RunningCli]
) -> None:
    filesystem = ContainerFilesystem.lay_out(tmp_path, IMAGE.volumes)
    env = {**IMAGE.env, **EPHEMERAL_PORTS, "EXTPLANE_AUTH__TOKENS": WRITER_TOKENS}
    suite = start_container(IMAGE, None, env, filesystem, {GATEWAY, *GRPC_SERVICES, "metrics"})
    running.append(suite)

    _assert_bound_where_configured(suite, IMAGE.env["EXTPLANE_HOST"])
    for name in GRPC_SERVICES:
        _assert_serving(_target(suite, name))
    base = suite.http_base()
    assert httpx.get(f"{base}/healthz", timeout=WAIT_S).status_code == 200
    assert httpx.get(f"{base}/readyz", timeout=WAIT_S).status_code == 200
    capabilities = httpx.get(f"{base}/v1/capabilities", timeout=WAIT_S)
    assert capabilities.status_code == 200
    assert capabilities.json()["features"]["metering"] is True

    data_dir = filesystem.host_path(PurePosixPath(IMAGE.env["EXTPLANE_DATA_DIR"]))
    assert any(data_dir.iterdir()), "the embedded stores are not in the data directory"
    _assert_writes_only_inside(suite, [data_dir])
    assert filesystem.rootfs_files() == [], "wrote outside its volume"
    assert suite.terminate() == 0


def _write_secret(folder: Path, name: str, database_url: str) -> None:
    """What the manifest's comment tells an operator to put in the Secret."""
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    writer = hashlib.sha256(WRITER_TOKEN.encode()).hexdigest()
    section = GRPC_SERVICES[name].settings_section(name) if name in GRPC_SERVICES else name
    # A stateless service (the runner) has no store to point at.
    stateful = "database_url" in type(getattr(Settings(), section)).model_fields
    store = f'[{section}]\ndatabase_url = "{database_url}"\n' if stateful else ""
    config = (
        f'page_token_key = "{PAGE_TOKEN_KEY}"\n'
        f"{store}"
        f'[[auth.tokens]]\nname = "deploy-test"\nsha256 = "{digest}"\nroles = ["{name}.reader"]\n'
        f'[[auth.tokens]]\nname = "runtime"\nsha256 = "{writer}"\nroles = ["{name}.writer"]\n'
    )
    tomllib.loads(config)
    (folder / "extplane.toml").write_text(config)


def _write_key_ring(filesystem: ContainerFilesystem, env: dict[str, str]) -> None:
    """What the audit manifest's comment tells an operator to put in the keys' Secret
    (`extplane audit rotate-key --first`); the files readable by the pod's group."""
    directory = filesystem.host_path(PurePosixPath(env["EXTPLANE_AUDIT__SIGNING_KEY_DIR"]))
    rotate(directory)
    for path in (directory, *directory.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _start_pod(
    name: str,
    tmp_path: Path,
    database_url: str,
    extra: dict[str, str] | None = None,
    *,
    variant: Path = DEPLOY,
    pki: Pki | None = None,
) -> tuple[RunningCli, ContainerFilesystem]:
    volumes = [m.path for m in mounts(name, variant)]
    filesystem = ContainerFilesystem.lay_out(tmp_path / name, volumes)
    env = pod_env(IMAGE, name, variant)
    if CONFIG_FILE_ENV in env:
        secret = filesystem.host_path(PurePosixPath(env[CONFIG_FILE_ENV])).parent
        _write_secret(secret, name, database_url)
    if name == "audit":
        _write_key_ring(filesystem, env)
    if "EXTPLANE_TLS__CERT_FILE" in env:
        assert pki is not None, f"{variant}: {name} serves TLS"
        pki.pod_secret(filesystem.host_path(PurePosixPath(env["EXTPLANE_TLS__CERT_FILE"])).parent)
    process = start_container(
        IMAGE,
        container(name, variant)["args"],
        {**env, **EPHEMERAL_PORTS, **(extra or {})},
        filesystem,
        {name, "metrics"},
    )
    return process, filesystem


def _upstreams_here(gateway_env: dict[str, str], pods: dict[str, RunningCli], variant: Path) -> str:
    """The gateway's upstreams with each Service name resolved to its process here."""
    by_service = {documents(name, variant)["Service"]["metadata"]["name"]: name for name in pods}
    upstreams = json.loads(gateway_env["EXTPLANE_GATEWAY__UPSTREAMS"])
    resolved = {}
    for grpc_service, address in upstreams.items():
        host, _, _ = address.rpartition(":")
        resolved[grpc_service] = _target(pods[by_service[host]], by_service[host])
    return json.dumps(resolved)


@pytest.mark.parametrize("variant", VARIANTS, ids=("mesh", "proxyless-mtls"))
def test_the_manifests_start_a_deployment_bound_where_they_say(
    tmp_path: Path, running: list[RunningCli], postgres_dsn: str, variant: Path, pki: Pki
) -> None:
    # Proxyless: a client of the services needs a certificate of the pods' CA.
    tls = ClientTls(
        ca_file=tmp_path / "client" / "ca.crt",
        cert_file=tmp_path / "client" / "tls.crt",
        key_file=tmp_path / "client" / "tls.key",
    )
    pki.pod_secret(tmp_path / "client")
    proxyless = variant == PROXYLESS_MTLS
    pods: dict[str, RunningCli] = {}
    filesystems: dict[str, ContainerFilesystem] = {}
    # All at once, as a rollout starts them: metering and audit migrate one fresh
    # PostgreSQL database at the same moment.
    with ThreadPoolExecutor(len(GRPC_SERVICES)) as starting:
        started = starting.map(
            lambda name: _start_pod(name, tmp_path, postgres_dsn, variant=variant, pki=pki),
            GRPC_SERVICES,
        )
        for name, (pod, filesystem) in zip(GRPC_SERVICES, started, strict=True):
            pods[name], filesystems[name] = pod, filesystem
            running.append(pod)
    upstreams = _upstreams_here(pod_env(IMAGE, GATEWAY, variant), pods, variant)
    pods[GATEWAY], filesystems[GATEWAY] = _start_pod(
        GATEWAY,
        tmp_path,
        postgres_dsn,
        {"EXTPLANE_GATEWAY__UPSTREAMS": upstreams},
        variant=variant,
        pki=pki,
    )
    running.append(pods[GATEWAY])

    for name, pod in pods.items():
        _assert_bound_where_configured(pod, pod_env(IMAGE, name, variant)["EXTPLANE_HOST"])
        if name in GRPC_SERVICES:
            _assert_serving(_target(pod, name), tls if proxyless else None)
            if proxyless:  # neither plaintext nor TLS without a client certificate
                for refused in (None, ClientTls(ca_file=tls.ca_file)):
                    with pytest.raises(grpc.RpcError):
                        _assert_serving(_target(pod, name), refused, timeout=2.0)
    base = pods[GATEWAY].http_base()
    # The gateway's certificate names 127.0.0.1 (as the pod's names its Service).
    assert base.startswith("https://" if proxyless else "http://")
    verify = ssl.create_default_context(cafile=tls.ca_file) if proxyless else True
    gateway = httpx.Client(verify=verify, timeout=WAIT_S)
    with gateway:
        for probe in ("readinessProbe", "livenessProbe"):
            path = container(GATEWAY, variant)[probe]["httpGet"]["path"]
            assert gateway.get(f"{base}{path}").status_code == 200, path
        # Through the gateway's upstream channels (mTLS in the proxyless shape).
        assert gateway.get(f"{base}/v1/capabilities").status_code == 200
        # The Secret's config was read: its token is accepted, its database serves.
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for route in ("/v1/metering/events", "/v1/audit/events"):
            response = gateway.get(f"{base}{route}", headers=auth)
            assert response.status_code == 200, (route, response.text)
        assert gateway.get(f"{base}/v1/audit/events").status_code == 401

    for name, pod in pods.items():
        writable = [
            filesystems[name].mounts[m.path]
            for m in mounts(name, variant)
            if not m.read_only and "emptyDir" in m.volume
        ]
        _assert_writes_only_inside(pod, writable)
        assert filesystems[name].rootfs_files() == [], f"{name} wrote outside its volumes"
        # The database is PostgreSQL, as the Secret says: no SQLite file appears.
        assert not list(filesystems[name].root.rglob("*.db")), name
    for name in (GATEWAY, *GRPC_SERVICES):
        assert pods[name].terminate() == 0, name
