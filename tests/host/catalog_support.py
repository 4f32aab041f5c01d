"""The host service as deployed, for the catalog tests: registry, enforcement,
the clients/services providers and the catalog admin on one real server over
either store, with an in-process audit sink that records the load events."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from host_support import ADMIN_TOKEN, AUTH, AuditLog, token_metadata
from prometheus_client import CollectorRegistry

from extplane.host.config import HostSettings
from extplane.host.service import HostService
from extplane.runtime import GrpcServer
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from extplane_client import CatalogsClient, InstallsClient
from extplane_protos.alga.extension.v1 import clients_pb2_grpc, services_pb2_grpc

ISSUER_TOKEN = "catalog-issuer-token-0123456789"
CATALOG_AUTH = {
    "tokens": [
        *AUTH["tokens"],
        {"name": "runner", "token": ISSUER_TOKEN, "roles": ["installs.issuer"]},
    ]
}
CLIENT_READ = "cap:client.read"
SERVICE_READ = "cap:service.read"
Metadata = tuple[tuple[str, str], ...]


@dataclass
class Host:
    address: str
    channel: grpc.aio.Channel
    audit: AuditLog

    async def token(
        self,
        tenant: str,
        install_id: str,
        capabilities: Sequence[str] = (CLIENT_READ, SERVICE_READ),
    ) -> Metadata:
        """Register an install and return the metadata carrying its fresh token."""
        async with InstallsClient(self.address, token=ADMIN_TOKEN) as admin:
            await admin.register_install(
                tenant=tenant,
                install_id=install_id,
                extension_id="com.example.catalog",
                version="1.0.0",
                granted_capabilities=capabilities,
            )
        async with InstallsClient(self.address, token=ISSUER_TOKEN) as issuer:
            issued = await issuer.issue_install_token(tenant=tenant, install_id=install_id)
        return token_metadata(issued.token)

    def loads(self) -> list[Any]:
        """The catalog load events recorded so far (install changes are audited too)."""
        return [e for e in self.audit.events if e.action.startswith("catalog.")]

    def admin(self, token: str | None = ADMIN_TOKEN) -> CatalogsClient:
        return CatalogsClient(self.channel, token=token)

    def clients(self) -> clients_pb2_grpc.ClientsServiceStub:
        return clients_pb2_grpc.ClientsServiceStub(self.channel)

    def services(self) -> services_pb2_grpc.ServicesServiceStub:
        return services_pb2_grpc.ServicesServiceStub(self.channel)


@asynccontextmanager
async def serve_catalog_host(database_url: str, data_dir: Path) -> AsyncIterator[Host]:
    kit = ServiceKit.for_directory(
        data_dir, auth=AuthSettings.model_validate(CATALOG_AUTH), registry=CollectorRegistry()
    )
    service = HostService(HostSettings(port=0, database_url=database_url), kit)
    audit = AuditLog()
    # The deployed sink goes to the audit service; here the events are kept to read.
    service._audit_sink = lambda: audit  # type: ignore[method-assign]
    server = GrpcServer(
        service, host="127.0.0.1", port=0, shutdown_grace_s=0, interceptors=service.interceptors
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            yield Host(server.address, channel, audit)
    finally:
        await server.stop(0)


def as_json(rows: Sequence[dict[str, Any]]) -> bytes:
    return json.dumps(list(rows)).encode()


def as_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue().encode()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def client_row(ident: str, name: str, **more: Any) -> dict[str, Any]:
    return {"client_id": ident, "client_name": name, "is_inactive": False, **more}


def service_row(ident: str, name: str, **more: Any) -> dict[str, Any]:
    return {
        "service_id": ident,
        "service_name": name,
        "item_kind": "service",
        "billing_method": "hourly",
        "default_rate": 100.0,
        "unit_of_measure": "hour",
        "is_active": True,
        **more,
    }
