"""`/v1/extensions/{install_id}/{path=**}` with real HTTP requests: the guest's own
answer (status, allowlisted headers, body), the context from the token, and the
gateway's usual google.rpc.Status errors, 429 with Retry-After when busy."""

from __future__ import annotations

import pytest

from extplane.runner.jobs import PoolBusyError
from tests.runner.handlers import failing, raising
from tests.runner.runner_support import ACME_TOKEN, GLOBEX_TOKEN, World

ACME = {"Authorization": f"Bearer {ACME_TOKEN}"}


async def test_the_answer_is_the_guests_own_status_headers_and_body(world: World) -> None:
    await world.install("acme", "inst-1")

    answer = await world.http.post(
        "/v1/extensions/inst-1/tickets/42/comments?sort=new&page=2",
        headers={**ACME, "X-Custom": "kept", "Content-Type": "text/plain"},
        content=b"hello",
    )

    assert answer.status_code == 201
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["etag"] == '"v1"'
    for withheld in ("set-cookie", "access-control-allow-origin", "x-guest-secret"):
        assert withheld not in answer.headers
    assert answer.headers["content-security-policy"].startswith("sandbox")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-extplane-request-id"]
    seen = answer.json()
    assert (seen["method"], seen["url"], seen["body"]) == (
        "POST",
        "/tickets/42/comments?sort=new&page=2",
        "hello",
    )
    headers = dict(seen["headers"])
    assert headers["x-custom"] == "kept"
    assert headers["content-type"] == "text/plain"
    assert "authorization" not in headers
    assert seen["context"]["request_id"] == answer.headers["x-extplane-request-id"]


async def test_forged_platform_headers_and_context_change_nothing(world: World) -> None:
    await world.install("acme", "inst-1")

    answer = await world.http.get(
        "/v1/extensions/inst-1/",
        headers={
            **ACME,
            "X-Extplane-Tenant": "globex",
            "X-Extplane-Install-Token": "forged",
            "Grpc-Metadata-X-Extplane-Install-Token": "forged",
            "Connection": "close, x-hop",
            "X-Hop": "dropped",
        },
    )

    assert answer.status_code == 201
    seen = answer.json()
    assert seen["context"]["tenant_id"] == "acme"
    assert seen["host_context"]["tenant_id"] == "acme"
    names = {name for name, _ in seen["headers"]}
    assert not {n for n in names if n.startswith(("x-extplane-", "grpc-"))}
    assert "x-hop" not in names
    assert "connection" not in names
    [(_, metadata)] = world.handler.calls
    assert metadata["x-extplane-install-token"] != "forged"


async def test_the_install_path_alone_and_every_method_reach_the_extension(world: World) -> None:
    await world.install("acme", "inst-1")

    bare = await world.http.get("/v1/extensions/inst-1", headers=ACME)
    deleted = await world.http.delete("/v1/extensions/inst-1/things/1", headers=ACME)
    custom = await world.http.request("PURGE", "/v1/extensions/inst-1/cache", headers=ACME)

    assert [bare.status_code, deleted.status_code, custom.status_code] == [201, 201, 201]
    assert bare.json()["url"] == "/"
    assert deleted.json()["method"] == "DELETE"
    assert custom.json()["method"] == "PURGE"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, 16),
        ({"Authorization": "Bearer not-a-configured-token-0123"}, 401, 16),
        ({"Authorization": f"Bearer {GLOBEX_TOKEN}"}, 404, 5),
    ],
)
async def test_refusals_are_status_bodies(
    world: World, headers: dict[str, str], status: int, code: int
) -> None:
    await world.install("acme", "inst-1")

    answer = await world.http.get("/v1/extensions/inst-1/x", headers=headers)

    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["code"] == code
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert world.handler.calls == []


async def test_a_bad_install_id_is_a_400_naming_it(world: World) -> None:
    answer = await world.http.get("/v1/extensions/bad%20id/x", headers=ACME)

    assert answer.status_code == 400
    [violation] = answer.json()["details"][0]["fieldViolations"]
    assert violation["field"] == "install_id"


async def test_a_busy_runner_is_429_with_retry_after(world: World) -> None:
    world.registry.add_component("com.example.wasm", "1.0.0", b"\x00asm component bytes")
    await world.install("acme", "inst-w", extension_id="com.example.wasm")
    world.executor.script.append(raising(PoolBusyError(3)))

    answer = await world.http.post("/v1/extensions/inst-w/run", headers=ACME, content=b"{}")

    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "3"
    body = answer.json()
    assert body["code"] == 8
    assert "busy" in body["message"]


async def test_a_trap_is_a_status_naming_the_cause(world: World) -> None:
    world.registry.add_component("com.example.wasm", "1.0.0", b"\x00asm component bytes")
    await world.install("acme", "inst-w", extension_id="com.example.wasm")
    world.executor.script.append(failing("trap: wasm `unreachable` instruction executed"))

    answer = await world.http.get("/v1/extensions/inst-w/", headers=ACME)

    assert answer.status_code == 500
    assert "trap: wasm `unreachable`" in answer.json()["message"]
    assert "retry-after" not in answer.headers


async def test_a_body_past_the_gateways_bound_is_413(world: World) -> None:
    await world.install("acme", "inst-1")
    too_large = b"x" * (4 * 1024 * 1024 + 1)

    answer = await world.http.post("/v1/extensions/inst-1/up", headers=ACME, content=too_large)

    assert answer.status_code == 413
    assert world.handler.calls == []
