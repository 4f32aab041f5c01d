"""What the extension-logs tests share: a Suite as `extplane up` runs it, an
install granted `cap:log.emit` with its token, and logging through
LoggingService as the extension does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
from host_support import ADMIN_TOKEN, AUTH, token_metadata

from extplane.config import Settings
from extplane.runtime import Metrics
from extplane.suite import Suite, ephemeral_ports
from extplane_client import InstallsClient
from extplane_protos.alga.extension.v1 import logging_pb2, logging_pb2_grpc
from extplane_protos.extplane.admin.v1 import installs_pb2 as pb

ISSUER_TOKEN = "installs-issuer-token-0123456789"
LOGS_AUTH = {
    "tokens": [
        *AUTH["tokens"],
        {"name": "runner", "token": ISSUER_TOKEN, "roles": ["installs.issuer"]},
    ]
}


@asynccontextmanager
async def running_suite(data_dir: Path) -> AsyncIterator[Suite]:
    """Every service in this process, the gateway too, on ephemeral loopback ports."""
    settings = Settings.model_validate(
        {
            "data_dir": data_dir,
            "auth": LOGS_AUTH,
            "metrics": {"enabled": False},
            "gateway": {"port": 0},
            **ephemeral_ports(),
        }
    )
    async with Suite(settings, metrics=Metrics()) as running:
        yield running


def host_address(suite: Suite) -> str:
    return suite.servers["host"].address


async def install_token(
    suite: Suite,
    install_id: str,
    *,
    tenant: str = "acme",
    per_minute: int = 0,
    request_id: str = "",
) -> str:
    """Registers an install granted `cap:log.emit` and answers a token of it."""
    async with InstallsClient(host_address(suite), token=ADMIN_TOKEN) as admin:
        await admin.register_install(
            tenant=tenant,
            install_id=install_id,
            extension_id="com.example.tickets",
            version="1.2.0",
            granted_capabilities=["cap:log.emit"],
            limits=pb.InstallLimits(log_records_per_minute=per_minute),
        )
    async with InstallsClient(host_address(suite), token=ISSUER_TOKEN) as issuer:
        issued = await issuer.issue_install_token(
            tenant=tenant, install_id=install_id, request_id=request_id
        )
    return issued.token


async def log(suite: Suite, token: str, *messages: str, level: str = "info") -> None:
    """Logs each message through LoggingService, as the extension would."""
    async with grpc.aio.insecure_channel(host_address(suite)) as channel:
        stub = logging_pb2_grpc.LoggingServiceStub(channel)
        call, request = {
            "info": (stub.Info, logging_pb2.LoggingServiceInfoRequest),
            "warn": (stub.Warn, logging_pb2.LoggingServiceWarnRequest),
            "error": (stub.Error, logging_pb2.LoggingServiceErrorRequest),
        }[level]
        for message in messages:
            await call(request(message=message), metadata=token_metadata(token), timeout=10)
