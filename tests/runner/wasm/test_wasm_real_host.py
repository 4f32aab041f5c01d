"""A component's imports against the real host service: granted and denied.

Every import of the Alga world the host serves, called by a component built
from source, over the worker's real gRPC channel with the install's token.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from real_host import RealHost
from ui_proxy_support import route, serve_upstream
from wasm_support import job, response, run

from extplane_protos.extplane.admin.v1 import installs_pb2

# The first session builds and compiles the guest (a minute on a busy machine).
pytestmark = pytest.mark.timeout(900)

ALL = (
    "cap:context.read",
    "cap:secrets.get",
    "cap:storage.kv",
    "cap:log.emit",
    "cap:user.read",
    "cap:client.read",
    "cap:service.read",
)
USER = installs_pb2.InstallTokenUser(user_id="u-7", user_name="Ada", user_email="ada@example.com")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def calls(*items: list[Any]) -> bytes:
    return json.dumps({"calls": list(items)}).encode()


async def seen(real: RealHost, token: str, *items: list[Any]) -> list[dict[str, Any]]:
    outcome = await run(job("imports", calls(*items), address=real.address, token=token))
    assert outcome.host_calls == len(items)
    results: list[dict[str, Any]] = json.loads(response(outcome).body)["results"]
    return results


async def token_of(real: RealHost, capabilities: tuple[str, ...], **kwargs: Any) -> str:
    metadata = await real.install("t1", "i1", capabilities, **kwargs)
    return metadata[0][1]


async def test_granted_imports_reach_the_providers(host: RealHost) -> None:
    token = await token_of(host, ALL, user=USER, request_id="req-1")
    entry = {"namespace": "notes", "key": "a", "value": b64(b"hello")}
    results = await seen(
        host,
        token,
        ["context.get-context"],
        ["storage.put", entry],
        ["storage.get", "notes", "a"],
        ["storage.list", "notes", None],
        ["storage.delete", "notes", "a"],
        ["storage.get", "notes", "a"],
        ["storage.delete", "notes", "a"],
        ["secrets.get", "api-key"],
        ["secrets.list"],
        ["logging.info", "hello from the guest"],
        ["logging.warn", "careful"],
        ["logging.error", "oops"],
        ["user.get-user"],
        ["user-v2.get-user"],
        ["clients.list-clients", {}],
        ["clients.get-client", "c-unknown"],
        ["services.list-services", {"item_kind": "product"}],
        ["services.get-service", "s-unknown"],
    )
    context = results[0]["ok"]
    assert context["tenant_id"] == "t1"
    assert context["install_id"] == "i1"
    put = results[1]["ok"]
    assert put["value"] == {"b64": b64(b"hello")}
    assert put["revision"] is not None
    assert results[2]["ok"] == put
    assert results[3]["ok"] == [put]
    assert results[4] == {"ok": None}
    assert results[5] == {"err": "missing"}
    assert results[6] == {"err": "missing"}
    assert results[7] == {"err": "missing"}
    assert results[8] == {"ok": []}
    assert results[9:12] == [{"ok": None}] * 3
    assert results[12]["ok"]["user_id"] == "u-7"
    assert results[13]["ok"]["user_email"] == "ada@example.com"
    assert results[14]["ok"]["items"] == []
    assert results[15] == {"ok": None}
    assert results[16]["ok"]["items"] == []
    assert results[17] == {"ok": None}


async def test_denied_imports_answer_their_wit_denial(host: RealHost) -> None:
    token = await token_of(host, ())
    results = await seen(
        host,
        token,
        ["secrets.get", "k"],
        ["storage.get", "n", "k"],
        ["storage.put", {"namespace": "n", "key": "k", "value": b64(b"v")}],
        ["storage.delete", "n", "k"],
        ["storage.list", "n", None],
        ["user.get-user"],
        ["user-v2.get-user"],
        ["clients.list-clients", {}],
        ["clients.get-client", "c"],
        ["services.list-services", {}],
        ["services.get-service", "s"],
    )
    assert results == [
        {"err": "denied"},
        *[{"err": "denied"}] * 4,
        *[{"err": "not-allowed"}] * 6,
    ]


async def test_a_denied_import_without_an_error_variant_traps_that_execution(
    host: RealHost,
) -> None:
    token = await token_of(host, ("cap:storage.kv",))
    for name in ("context.get-context", "secrets.list", "logging.info"):
        args = ["hello"] if name.startswith("logging") else []
        outcome = await run(job("imports", calls([name, *args]), address=host.address, token=token))
        assert outcome.response is None
        assert outcome.failure is not None
        assert outcome.failure.startswith(f"trap: host call {name}: PERMISSION_DENIED"), outcome
        assert outcome.host_calls == 1
    # The next execution of the same component is untouched by those traps.
    after = await seen(host, token, ["storage.get", "n", "k"])
    assert after == [{"err": "missing"}]


async def test_an_unknown_install_token_traps_the_call(host: RealHost) -> None:
    outcome = await run(
        job("imports", calls(["storage.get", "n", "k"]), address=host.address, token="forged")
    )
    assert outcome.failure is not None
    assert outcome.failure.startswith("trap: host call storage.get: UNAUTHENTICATED"), outcome


async def test_guest_output_is_captured(host: RealHost) -> None:
    outcome = await run(job("imports", calls(), address=host.address))
    assert outcome.failure is None
    assert "imports guest: handling POST /" in outcome.guest_output


async def test_http_fetch_and_the_ui_proxy_reach_their_real_providers(host: RealHost) -> None:
    """`http.fetch` through the host's egress guard (an allowlisted loopback address,
    and a metadata address it refuses without dialling), `ui-proxy.call` through the
    install's route; without the capabilities, their WIT denials."""
    with serve_upstream() as upstream:
        metadata = await host.install(
            "t1",
            "web",
            ("cap:http.fetch", "cap:ui.proxy"),
            egress_allowlist=[upstream.base_url],
            ui_proxy_routes=[route("reports", f"{upstream.base_url}/r")],
        )
        results = await seen(
            host,
            metadata[0][1],
            ["http.fetch", {"method": "GET", "url": f"{upstream.base_url}/fetched"}],
            ["http.fetch", {"method": "GET", "url": "http://169.254.169.254/latest/meta-data"}],
            ["http.fetch", {"method": "GET", "url": "gopher://127.0.0.1:70/"}],
            ["ui-proxy.call", "reports/summary", None],
            ["ui-proxy.call", "elsewhere", None],
        )
        assert results[0]["ok"]["status"] == 200
        assert results[0]["ok"]["body"] == {"b64": b64(b"upstream ok")}
        assert results[1] == {"err": "not-allowed"}
        assert results[2]["err"] in ("invalid-url", "not-allowed")
        assert results[3] == {"ok": {"b64": b64(b"upstream ok")}}
        assert results[4] == {"err": "route-not-found"}
        assert [r.path for r in upstream.received] == ["/fetched", "/r/summary"]

        bare = await host.install("t1", "bare", ())
        denied = await seen(
            host,
            bare[0][1],
            ["http.fetch", {"method": "GET", "url": f"{upstream.base_url}/x"}],
            ["ui-proxy.call", "reports", None],
        )
        assert denied == [{"err": "not-allowed"}, {"err": "denied"}]
        assert upstream.hits == 2
