"""The catalog loader as `extplane up` hosts it: through the gateway's
`/v1/admin/tenants/{tenant}/…` routes, each load audited to the suite's own
audit service."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from catalog_support import as_json, client_row
from host_support import ADMIN_TOKEN, AUTH, READER_TOKEN

from extplane.config import Settings
from extplane.runtime import Metrics
from extplane.suite import Suite, ephemeral_ports
from extplane_client import AuditQueryClient
from extplane_client.audit_types import AuditRecord

WRITER_TOKEN = "catalog-audit-writer-0123456789"
AUDITOR_TOKEN = "catalog-auditor-token-0123456789"
SUITE_AUTH = {
    "tokens": [
        *AUTH["tokens"],
        {"name": "host-audit", "token": WRITER_TOKEN, "roles": ["audit.writer"]},
        {"name": "compliance", "token": AUDITOR_TOKEN, "roles": ["audit.reader"]},
    ]
}


@pytest_asyncio.fixture
async def suite(tmp_path: Path) -> AsyncIterator[Suite]:
    settings = Settings.model_validate(
        {
            "data_dir": tmp_path / "data",
            "auth": SUITE_AUTH,
            "metrics": {"enabled": False},
            "gateway": {"port": 0},
            **ephemeral_ports(),
            "host_providers": {"port": 0, "audit_token": WRITER_TOKEN},
        }
    )
    async with Suite(settings, metrics=Metrics()) as running:
        yield running


def _http(suite: Suite, token: str) -> httpx.AsyncClient:
    assert suite.gateway is not None
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{suite.gateway.port}",
        headers={"authorization": f"Bearer {token}"},
    )


async def _audited(suite: Suite, tenant: str, count: int) -> list[AuditRecord]:
    address = suite.servers["audit"].address
    async with AuditQueryClient(address, token=AUDITOR_TOKEN) as auditor:
        for _ in range(100):
            records = [r async for r in auditor.iter_audit_events(namespace=tenant)]
            if len(records) >= count:
                return records
            await asyncio.sleep(0.1)
    raise AssertionError(f"{len(records)} audit records for {tenant}, expected {count}")


async def test_load_and_count_through_the_gateway_audited(suite: Suite) -> None:
    content = as_json([client_row("c-1", "Acme"), client_row("c-2", "Beta")])
    body = {"format": "CATALOG_FILE_FORMAT_JSON", "content": base64.b64encode(content).decode()}
    async with _http(suite, ADMIN_TOKEN) as http:
        loaded = await http.post("/v1/admin/tenants/acme/clients:load", json=body)
        assert loaded.status_code == 200, loaded.text
        assert loaded.json()["clientCount"] == 2
        bad = {**body, "content": base64.b64encode(b'[{"client_id": "x"}]').decode()}
        refused = await http.post("/v1/admin/tenants/acme/clients:load", json=bad)
        assert refused.status_code == 400
        assert "row 1: client_name: required" in refused.json()["message"]
    async with _http(suite, READER_TOKEN) as http:
        counts = await http.get("/v1/admin/tenants/acme/catalog")
        assert counts.status_code == 200, counts.text
        assert counts.json()["clientCount"] == 2
        denied = await http.post("/v1/admin/tenants/acme/clients:load", json=body)
        assert denied.status_code == 403

    (record,) = await _audited(suite, "acme", 1)
    assert record.event.action == "catalog.load_clients"
    assert record.event.actor == "platform-admin"
    assert dict(record.event.details)["loaded_count"] == "2"
