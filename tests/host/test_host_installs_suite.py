"""The install registry as `extplane up` hosts it: on the host port, behind the
gateway's `/v1/admin/…` routes, auditing every change to the suite's audit service.

Attacks over both paths: no token, a token of another role, a forged token, a
reader writing. Then the change events, read back from the real audit service.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
import pytest_asyncio
from host_support import ADMIN_TOKEN, AUTH, OTHER_TOKEN, READER_TOKEN

from extplane.config import Settings
from extplane.runtime import Metrics
from extplane.suite import Suite, ephemeral_ports
from extplane_client import AuditQueryClient, InstallsClient, InstallsError
from extplane_client.audit_types import AuditRecord

WRITER_TOKEN = "host-audit-writer-0123456789"
AUDITOR_TOKEN = "auditor-token-0123456789"
FORGED_TOKEN = "forged-token-0123456789abcdef"
SUITE_AUTH = {
    "tokens": [
        *AUTH["tokens"],
        {"name": "host-audit", "token": WRITER_TOKEN, "roles": ["audit.writer"]},
        {"name": "compliance", "token": AUDITOR_TOKEN, "roles": ["audit.reader"]},
    ]
}
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


def _host(suite: Suite) -> str:
    return suite.servers["host"].address


def _http(suite: Suite, token: str | None = None) -> httpx.AsyncClient:
    assert suite.gateway is not None
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{suite.gateway.port}", headers=headers)


REGISTER_BODY = {
    "installId": "web-1",
    "extensionId": "com.example.web",
    "version": "1.0.0",
    "grantedCapabilities": ["cap:http.fetch"],
    "egressAllowlist": ["api.example.com"],
}


@on_the_suite_loop
async def test_the_gateway_routes_every_admin_call(suite: Suite) -> None:
    async with _http(suite, ADMIN_TOKEN) as http:
        made = await http.post("/v1/admin/tenants/acme/installs", json=REGISTER_BODY)
        assert made.status_code == 200, made.text
        install = made.json()["install"]
        assert install["revision"] == 1
        assert install["limits"]["storageValueBytes"] == 65536

        changed = await http.patch(
            "/v1/admin/tenants/acme/installs/web-1",
            json={"revision": 1, "version": "1.1.0", "egressAllowlist": {"entries": []}},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["install"]["version"] == "1.1.0"
        assert changed.json()["install"]["egressAllowlist"] == []

        stale = await http.patch(
            "/v1/admin/tenants/acme/installs/web-1", json={"revision": 1, "version": "9"}
        )
        assert stale.status_code == 409

        disabled = await http.post(
            "/v1/admin/tenants/acme/installs/web-1:disable", json={"reason": "test"}
        )
        assert disabled.status_code == 200
        assert disabled.json()["install"]["enabled"] is False
        enabled = await http.post("/v1/admin/tenants/acme/installs/web-1:enable", json={})
        assert enabled.json()["install"]["enabled"] is True

        read = await http.get("/v1/admin/tenants/acme/installs/web-1")
        assert read.json()["install"]["revision"] == 4
        listed = await http.get("/v1/admin/installs", params={"tenant": "acme"})
        assert [i["installId"] for i in listed.json()["installs"]] == ["web-1"]
        missing = await http.get("/v1/admin/tenants/acme/installs/nope")
        assert missing.status_code == 404


@on_the_suite_loop
async def test_bad_input_over_http_is_400_naming_the_field(suite: Suite) -> None:
    async with _http(suite, ADMIN_TOKEN) as http:
        unknown = await http.post(
            "/v1/admin/tenants/acme/installs",
            json={**REGISTER_BODY, "installId": "bad-1", "grantedCapabilities": ["cap:all"]},
        )
        bad_egress = await http.post(
            "/v1/admin/tenants/acme/installs",
            json={**REGISTER_BODY, "installId": "bad-2", "egressAllowlist": ["gopher://x.com/"]},
        )
        bad_tenant = await http.post(
            "/v1/admin/tenants/a%20b/installs", json={**REGISTER_BODY, "installId": "bad-3"}
        )
    for answer, field in (
        (unknown, "granted_capabilities[0]"),
        (bad_egress, "egress_allowlist[0]"),
        (bad_tenant, "tenant"),
    ):
        assert answer.status_code == 400, answer.text
        assert field in answer.text


ATTACKERS = {
    "no token": None,
    "another role": OTHER_TOKEN,
    "forged token": FORGED_TOKEN,
}
EXPECTED_GRPC = {
    "no token": grpc.StatusCode.UNAUTHENTICATED,
    "another role": grpc.StatusCode.PERMISSION_DENIED,
    "forged token": grpc.StatusCode.UNAUTHENTICATED,
}
EXPECTED_HTTP = {"no token": 401, "another role": 403, "forged token": 401}


@on_the_suite_loop
@pytest.mark.parametrize("attacker", ATTACKERS)
async def test_attackers_can_neither_change_nor_read_over_grpc(suite: Suite, attacker: str) -> None:
    async with InstallsClient(_host(suite), token=ATTACKERS[attacker]) as client:
        calls = [
            client.register_install(
                tenant="acme", install_id=f"evil-{attacker[:2]}", extension_id="x", version="1"
            ),
            client.update_install(tenant="acme", install_id="web-1", revision=1, version="6"),
            client.disable_install(tenant="acme", install_id="web-1"),
            client.enable_install(tenant="acme", install_id="web-1"),
            client.get_install(tenant="acme", install_id="web-1"),
            client.list_installs(),
        ]
        for call in calls:
            with pytest.raises(InstallsError) as refused:
                await call
            assert refused.value.code is EXPECTED_GRPC[attacker]
    async with InstallsClient(_host(suite), token=ADMIN_TOKEN) as admin:
        names = [i.install_id async for i in admin.iter_installs()]
    assert not any(name.startswith("evil") for name in names)


@on_the_suite_loop
@pytest.mark.parametrize("attacker", ATTACKERS)
async def test_attackers_can_neither_change_nor_read_over_http(suite: Suite, attacker: str) -> None:
    async with _http(suite, ATTACKERS[attacker]) as http:
        answers = [
            await http.post(
                "/v1/admin/tenants/acme/installs", json={**REGISTER_BODY, "installId": "evil"}
            ),
            await http.patch(
                "/v1/admin/tenants/acme/installs/web-1", json={"revision": 1, "version": "6"}
            ),
            await http.post("/v1/admin/tenants/acme/installs/web-1:disable", json={}),
            await http.get("/v1/admin/tenants/acme/installs/web-1"),
            await http.get("/v1/admin/installs"),
        ]
    assert [a.status_code for a in answers] == [EXPECTED_HTTP[attacker]] * len(answers)


@on_the_suite_loop
async def test_a_reader_reads_but_cannot_change(suite: Suite) -> None:
    async with InstallsClient(_host(suite), token=ADMIN_TOKEN) as admin:
        await admin.register_install(
            tenant="globex", install_id="r-1", extension_id="com.example.r", version="1"
        )
    async with InstallsClient(_host(suite), token=READER_TOKEN) as reader:
        read = await reader.get_install(tenant="globex", install_id="r-1")
        assert read.install_id == "r-1"
        assert [i.install_id async for i in reader.iter_installs(tenant="globex")] == ["r-1"]
        with pytest.raises(InstallsError) as refused:
            await reader.disable_install(tenant="globex", install_id="r-1")
    assert refused.value.code is grpc.StatusCode.PERMISSION_DENIED
    async with _http(suite, READER_TOKEN) as http:
        answer = await http.post("/v1/admin/tenants/globex/installs/r-1:disable", json={})
    assert answer.status_code == 403


async def _audited(suite: Suite, tenant: str, count: int) -> list[AuditRecord]:
    address = suite.servers["audit"].address
    async with AuditQueryClient(address, token=AUDITOR_TOKEN) as auditor:
        for _ in range(100):
            records = [r async for r in auditor.iter_audit_events(namespace=tenant)]
            if len(records) >= count:
                return records
            await asyncio.sleep(0.1)
    raise AssertionError(f"{len(records)} audit records for {tenant}, expected {count}")


@on_the_suite_loop
async def test_every_change_is_an_audit_event_in_the_audit_service(suite: Suite) -> None:
    async with InstallsClient(_host(suite), token=ADMIN_TOKEN) as admin:
        made = await admin.register_install(
            tenant="initech",
            install_id="a-1",
            extension_id="com.example.audited",
            version="1.0.0",
            granted_capabilities=["cap:storage.kv"],
        )
        changed = await admin.update_install(
            tenant="initech",
            install_id="a-1",
            revision=made.revision,
            granted_capabilities=["cap:storage.kv", "cap:secrets.get"],
        )
        await admin.disable_install(tenant="initech", install_id="a-1", reason="offboarding")
        await admin.get_install(tenant="initech", install_id="a-1")  # a read: no event

    records = await _audited(suite, "initech", 3)
    events = [r.event for r in records]
    assert [e.action for e in events] == ["install.register", "install.update", "install.disable"]
    for event in events:
        assert event.actor == "platform-admin"
        assert event.resource == "install/initech/a-1"
        assert event.namespace == "initech"
        assert event.outcome == "allowed"
    register, update, disable = (dict(e.details) for e in events)
    assert register["extension_id"] == "com.example.audited"
    assert json.loads(register["granted_capabilities"]) == ["cap:storage.kv"]
    assert register["revision"] == "1"
    # Only what changed, with its new value.
    assert set(update) == {"granted_capabilities", "revision"}
    assert json.loads(update["granted_capabilities"]) == ["cap:secrets.get", "cap:storage.kv"]
    assert update["revision"] == str(changed.revision)
    assert disable == {"enabled": "false", "reason": "offboarding", "revision": "3"}
