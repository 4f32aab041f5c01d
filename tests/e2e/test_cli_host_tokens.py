"""`extplane serve host` as a process: it makes its token key ring on first
start, issues a token to the issuer role, and the providers on the same port
accept it (the wiring of the real command, not of the Suite class)."""

from __future__ import annotations

import json
from pathlib import Path

import grpc

from extplane_client import InstallsClient
from extplane_protos.alga.extension.v1 import context_pb2, context_pb2_grpc
from tests.e2e.cli_process import RunningCli, ephemeral_env, start_cli

ADMIN = "cli-installs-admin-0123456789"
ISSUER = "cli-installs-issuer-0123456789"


async def test_serve_host_issues_tokens_its_providers_accept(
    tmp_path: Path, cli_processes: list[RunningCli]
) -> None:
    tokens = [
        {"name": "admin", "token": ADMIN, "roles": ["installs.admin"]},
        {"name": "runner", "token": ISSUER, "roles": ["installs.issuer"]},
    ]
    env = ephemeral_env(tmp_path, {"EXTPLANE_AUTH__TOKENS": json.dumps(tokens)})
    host = start_cli(["serve", "host"], env, {"host"})
    cli_processes.append(host)
    target = host.grpc_target("host")

    async with InstallsClient(target, token=ADMIN) as admin:
        await admin.register_install(
            tenant="acme",
            install_id="cli-1",
            extension_id="com.example.cli",
            version="0.1.0",
            granted_capabilities=["cap:context.read"],
        )
    async with InstallsClient(target, token=ISSUER) as runner:
        issued = await runner.issue_install_token(tenant="acme", install_id="cli-1")
        jwks = await runner.get_install_token_keys()
    async with grpc.aio.insecure_channel(target) as channel:
        answer = await context_pb2_grpc.ContextServiceStub(channel).GetContext(
            context_pb2.GetContextRequest(),
            metadata=(("x-extplane-install-token", issued.token),),
            timeout=10,
        )

    assert answer.context.install_id == "cli-1"
    ring = tmp_path / "data" / "install-token-keys"
    assert (ring / f"{issued.key_id}.pem").is_file()
    assert [key.kid for key in jwks.keys] == [issued.key_id]
    assert host.terminate() == 0
