"""Secrets as `extplane up` hosts them: set, listed and deleted over the gateway's
`/v1/admin/…/secrets` routes, read by the install over the host port, each
change an audit event in the suite's real audit service that never holds the
value."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
import pytest_asyncio
from host_support import ADMIN_TOKEN, AUTH, READER_TOKEN, token_metadata

from extplane.config import Settings
from extplane.runtime import Metrics
from extplane.suite import Suite, ephemeral_ports
from extplane_client import AuditQueryClient, InstallsClient
from extplane_client.audit_types import AuditRecord
from extplane_protos.alga.extension.v1 import secrets_pb2, secrets_pb2_grpc

WRITER_TOKEN = "host-audit-writer-0123456789"
AUDITOR_TOKEN = "auditor-token-0123456789"
ISSUER_TOKEN = "secrets-suite-issuer-0123456789"
SUITE_AUTH = {
    "tokens": [
        *AUTH["tokens"],
        {"name": "host-audit", "token": WRITER_TOKEN, "roles": ["audit.writer"]},
        {"name": "compliance", "token": AUDITOR_TOKEN, "roles": ["audit.reader"]},
        {"name": "runner", "token": ISSUER_TOKEN, "roles": ["installs.issuer"]},
    ]
}
VALUE = "suite-secret-value-51f0"
SECRETS = "/v1/admin/tenants/acme/installs/web-1/secrets"
on_the_suite_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def suite(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Suite]:
    data_dir: Path = tmp_path_factory.mktemp("data")
    settings = Settings.model_validate(
        {
            "data_dir": data_dir,
            "auth": SUITE_AUTH,
            "metrics": {"enabled": False},
            "gateway": {"port": 0},
            **ephemeral_ports(),
            "host_providers": {"port": 0, "audit_token": WRITER_TOKEN},
        }
    )
    async with Suite(settings, metrics=Metrics()) as running:
        yield running


def _http(suite: Suite, token: str | None = None) -> httpx.AsyncClient:
    assert suite.gateway is not None
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{suite.gateway.port}", headers=headers)


async def _audited(suite: Suite, count: int) -> list[AuditRecord]:
    address = suite.servers["audit"].address
    async with AuditQueryClient(address, token=AUDITOR_TOKEN) as auditor:
        for _ in range(100):
            records = [r async for r in auditor.iter_audit_events(namespace="acme")]
            secrets = [r for r in records if r.event.action.startswith("secret.")]
            if len(secrets) >= count:
                return secrets
            await asyncio.sleep(0.1)
    raise AssertionError(f"{len(secrets)} secret audit records, expected {count}")


@on_the_suite_loop
async def test_secrets_over_the_gateway_read_by_the_install_and_audited(
    suite: Suite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    host = suite.servers["host"].address
    async with InstallsClient(host, token=ADMIN_TOKEN) as admin:
        await admin.register_install(
            tenant="acme",
            install_id="web-1",
            extension_id="com.example.web",
            version="1.0.0",
            granted_capabilities=["cap:secrets.get"],
        )
    async with _http(suite, ADMIN_TOKEN) as http:
        made = await http.put(
            f"{SECRETS}/API_KEY", json={"value": VALUE, "expireTime": "2099-01-01T00:00:00Z"}
        )
        assert made.status_code == 200, made.text
        assert made.json()["secret"]["key"] == "API_KEY"
        assert VALUE not in made.text
        await http.put(f"{SECRETS}/OLD", json={"value": "old"})
        listed = await http.get(SECRETS)
        assert [s["key"] for s in listed.json()["secrets"]] == ["API_KEY", "OLD"]
        assert listed.json()["secrets"][0]["expireTime"] == "2099-01-01T00:00:00Z"
        assert (await http.delete(f"{SECRETS}/OLD")).status_code == 200
        assert (await http.delete(f"{SECRETS}/OLD")).status_code == 404
        unknown = await http.put(
            "/v1/admin/tenants/acme/installs/nope/secrets/K", json={"value": "v"}
        )
        assert unknown.status_code == 404
        bad = await http.put(f"{SECRETS}/-bad", json={"value": "v"})
        assert bad.status_code == 400
        assert "key" in bad.text
    async with _http(suite, READER_TOKEN) as reader:
        assert (await reader.put(f"{SECRETS}/K", json={"value": "v"})).status_code == 403
        assert (await reader.get(SECRETS)).status_code == 200
    async with _http(suite) as anonymous:
        assert (await anonymous.get(SECRETS)).status_code == 401

    async with InstallsClient(host, token=ISSUER_TOKEN) as issuer:
        issued = await issuer.issue_install_token(tenant="acme", install_id="web-1")
    async with grpc.aio.insecure_channel(host) as channel:
        stub = secrets_pb2_grpc.SecretsServiceStub(channel)
        md = token_metadata(issued.token)
        got = await stub.Get(secrets_pb2.SecretsServiceGetRequest(key="API_KEY"), metadata=md)
        assert got.value == VALUE
        names = await stub.List(secrets_pb2.SecretsServiceListRequest(), metadata=md)
        assert list(names.keys) == ["API_KEY"]

    records = await _audited(suite, 3)
    events = [r.event for r in records]
    assert [e.action for e in events] == ["secret.set", "secret.set", "secret.delete"]
    assert events[0].resource == "install/acme/web-1/secret/API_KEY"
    assert events[0].actor == "platform-admin"
    assert dict(events[0].details)["expire_time"] == "2099-01-01T00:00:00Z"
    assert all(VALUE not in str(e) for e in events)
    # Through the gateway too, the value reaches no log line.
    assert caplog.records
    assert not [r for r in caplog.records if VALUE in f"{r.getMessage()} {r.__dict__}"]
