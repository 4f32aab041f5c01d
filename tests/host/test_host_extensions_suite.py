"""The extension registry as `extplane up` hosts it: uploads and reads through
the gateway's `/v1/admin/extensions` routes with real HTTP requests, a
component larger than gRPC's default 4 MiB over the suite's own host port,
and each upload audited to the suite's audit service."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from extension_support import ADMIN_TOKEN, LOGGING, READER_TOKEN, component, with_custom_section
from host_support import AUTH

from extplane.config import Settings
from extplane.runtime import Metrics
from extplane.suite import Suite, ephemeral_ports
from extplane_client import AuditQueryClient, ExtensionsClient
from extplane_client.audit_types import AuditRecord

WRITER_TOKEN = "extensions-audit-writer-0123456789"
AUDITOR_TOKEN = "extensions-auditor-token-0123456789"
SUITE_AUTH = {
    "tokens": [
        *AUTH["tokens"],
        {"name": "host-audit", "token": WRITER_TOKEN, "roles": ["audit.writer"]},
        {"name": "compliance", "token": AUDITOR_TOKEN, "roles": ["audit.reader"]},
    ]
}
ROUTE = "/v1/admin/extensions/com.example.tickets/versions"


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


def _http(suite: Suite, token: str | None) -> httpx.AsyncClient:
    assert suite.gateway is not None
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{suite.gateway.port}", headers=headers)


async def _uploads(suite: Suite, count: int) -> list[AuditRecord]:
    address = suite.servers["audit"].address
    async with AuditQueryClient(address, token=AUDITOR_TOKEN) as auditor:
        for _ in range(100):
            records = [r async for r in auditor.iter_audit_events(action="extension.upload")]
            if len(records) >= count:
                return records
            await asyncio.sleep(0.1)
    raise AssertionError(f"{len(records)} upload records, expected {count}")


async def test_upload_get_and_list_through_the_gateway(suite: Suite) -> None:
    content = component([("alga:extension/logging", LOGGING)])
    body = {
        "version": "1.0.0",
        "component": base64.b64encode(content).decode(),
        "declaredCapabilities": ["cap:log.emit"],
        "limits": {"timeoutMs": 2000},
    }
    async with _http(suite, ADMIN_TOKEN) as http:
        uploaded = await http.post(ROUTE, json=body)
        assert uploaded.status_code == 200, uploaded.text
        stored = uploaded.json()["extensionVersion"]
        assert stored["component"]["sha256"] == hashlib.sha256(content).hexdigest()
        assert stored["component"]["imports"] == ["alga:extension/logging"]
        assert stored["limits"]["timeoutMs"] == 2000
        again = await http.post(ROUTE, json=body)
        assert again.json()["extensionVersion"] == stored
        core = {**body, "version": "2", "component": base64.b64encode(b"\0asm\1\0\0\0").decode()}
        refused = await http.post(ROUTE, json=core)
        assert refused.status_code == 400
        assert refused.json()["message"].startswith("component: is a core WebAssembly module")
        unknown = await http.post(ROUTE, json={**body, "declaredCapabilities": ["cap:root"]})
        assert unknown.status_code == 400
        assert "declared_capabilities[0]" in unknown.text
    async with _http(suite, READER_TOKEN) as http:
        got = await http.get(f"{ROUTE}/1.0.0")
        assert got.status_code == 200, got.text
        assert got.json()["extensionVersion"] == stored
        listed = await http.get(
            "/v1/admin/extensions", params={"extensionId": "com.example.tickets"}
        )
        assert listed.status_code == 200, listed.text
        assert [v["version"] for v in listed.json()["extensionVersions"]] == ["1.0.0"]
        missing = await http.get(f"{ROUTE}/9.9.9")
        assert missing.status_code == 404
        denied = await http.post(ROUTE, json={**body, "version": "3"})
        assert denied.status_code == 403
    async with _http(suite, None) as http:
        anonymous = await http.get("/v1/admin/extensions")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Bearer")

    records = await _uploads(suite, 2)
    assert [(r.event.resource, r.event.outcome) for r in records] == [
        ("extension/com.example.tickets@1.0.0", "allowed"),
        ("extension/com.example.tickets@2", "denied"),
    ]
    assert records[0].event.actor == "platform-admin"


async def test_the_suite_host_takes_components_past_the_default_message_limit(
    suite: Suite,
) -> None:
    content = with_custom_section(component([("alga:extension/logging", LOGGING)]), 6 << 20)
    address = suite.servers["host"].address
    async with ExtensionsClient(address, token=ADMIN_TOKEN) as admin:
        stored = await admin.upload_extension_version(
            extension_id="com.example.large", version="1", component=content
        )
        assert stored.component.size_bytes == 6 << 20
        assert await admin.get_component(sha256=stored.component.sha256) == content
