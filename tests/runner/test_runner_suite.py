"""The runner in the suite (`extplane up`, `extplane serve runner`) and its settings."""

from __future__ import annotations

from pathlib import Path

import grpc
import httpx
import pytest
from pydantic import ValidationError

from extplane.config import Settings
from extplane.runner.config import RunnerSettings, machine_workers
from extplane.runner.service import HANDLER_SERVICE, RunnerService
from extplane.runtime import Metrics
from extplane.runtime.auth import AuthSettings, BearerToken
from extplane.suite import GRPC_SERVICES, Suite, ephemeral_ports
from extplane_client import InstallsClient
from extplane_protos.alga.extension.v1 import handler_pb2, handler_pb2_grpc, types_pb2

ADMIN = "suite-admin-token-0123456789"
RUNNER = "suite-runner-token-012345678"
CALLER = "suite-caller-token-012345678"
AUTH = {
    "tokens": [
        {"name": "admin", "token": ADMIN, "roles": ["installs.admin"]},
        {"name": "runner", "token": RUNNER, "roles": ["installs.issuer"]},
        {"name": "app", "token": CALLER, "roles": ["extensions.execute"], "tenant": "acme"},
    ]
}


def test_the_defaults_stand_alone(tmp_path: Path) -> None:
    settings = Settings().runner

    assert settings.port == 50055
    assert settings.worker_count() == machine_workers() >= 1
    assert settings.cache_directory(tmp_path) == tmp_path / "runner-cache"
    assert settings.host_token is None
    assert GRPC_SERVICES["runner"].serves == (HANDLER_SERVICE,)


def test_a_token_tenant_must_be_a_tenant_name() -> None:
    with pytest.raises(ValidationError, match="tenant"):
        BearerToken.model_validate(
            {"name": "x", "token": "0123456789abcdef", "roles": ["*"], "tenant": "no spaces"}
        )
    assert AuthSettings.model_validate(AUTH).tokens[2].tenant == "acme"


def test_bad_runner_settings_fail_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="queue_size"):
        RunnerSettings(queue_size=0)
    with pytest.raises(ValidationError, match="timeout_ms"):
        RunnerSettings.model_validate({"limits": {"timeout_ms": 300_001}})


async def test_extplane_up_runs_the_runner_against_its_own_host(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "data_dir": tmp_path,
            "auth": AUTH,
            "metrics": {"enabled": False},
            "gateway": {"port": 0},
            **ephemeral_ports(),
            "runner": {"port": 0, "host_token": RUNNER},
        }
    )
    async with Suite(settings, ["audit", "host", "runner", "gateway"], metrics=Metrics()) as suite:
        host = suite.upstream_for("extplane.admin.v1.InstallRegistryService")
        runner_service = suite.servers["runner"].definition
        assert isinstance(runner_service, RunnerService)
        assert runner_service.host_address() == host
        async with InstallsClient(host, token=ADMIN) as admin:
            await admin.register_install(
                tenant="acme", install_id="inst-1", extension_id="e", version="1"
            )
        async with grpc.aio.insecure_channel(suite.upstream_for(HANDLER_SERVICE)) as channel:
            stub = handler_pb2_grpc.HandlerServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as unknown:
                await stub.Execute(
                    handler_pb2.ExecuteRequest(
                        context=types_pb2.ContextData(install_id="inst-404"),
                        http=types_pb2.HttpRequest(method="GET", url="/"),
                    ),
                    metadata=(("authorization", f"Bearer {CALLER}"),),
                )
        assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
        assert suite.gateway is not None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{suite.gateway.port}") as http:
            answer = await http.get(
                "/v1/extensions/inst-404/x", headers={"Authorization": f"Bearer {CALLER}"}
            )
            anonymous = await http.get("/v1/extensions/inst-1/x")
        assert answer.status_code == 404
        assert anonymous.status_code == 401
