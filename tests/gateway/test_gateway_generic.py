"""A service annotated only in its proto is served with no gateway change.

The ThingService of gateway_support runs on a real grpc.aio server (a generic
handler that echoes what it receives) behind the real gateway.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from gateway_servers import Gateway, close_gateway, open_gateway
from gateway_support import echo_handler, thing_bindings, thing_pool

from extplane.gateway import GatewaySettings

MAX_BODY = 1024


@pytest.fixture
async def things() -> AsyncIterator[Gateway]:
    _, file = thing_pool()
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((echo_handler(file),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    gateway = await open_gateway(
        f"127.0.0.1:{port}",
        settings=GatewaySettings(port=0, max_request_body_bytes=MAX_BODY),
        bindings=thing_bindings(),
    )
    try:
        yield gateway
    finally:
        await close_gateway(gateway)
        await server.stop(None)


async def test_path_and_query_reach_the_upstream(things: Gateway) -> None:
    response = await things.client.get(
        "/v1/things/lamp%20one",
        params=[("color", "RED"), ("tags", "a"), ("tags", "b"), ("inner.count", "3")],
    )
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "things/lamp one"
    assert body["color"] == "RED"
    assert body["tags"] == ["a", "b"]
    assert body["inner"] == {"label": "", "count": "3"}
    assert "etag" in response.headers


async def test_post_with_a_whole_body(things: Gateway) -> None:
    response = await things.client.post(
        "/v1/things", json={"name": "n", "createdAt": "2024-02-03T04:05:06Z", "labels": {"a": "b"}}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["createdAt"] == "2024-02-03T04:05:06Z"
    assert body["labels"] == {"a": "b"}
    assert "etag" not in response.headers


async def test_patch_with_a_body_field_and_a_query_field(things: Gateway) -> None:
    response = await things.client.patch(
        "/v1/things/t1", params={"updateMask": "size"}, json={"size": 5}
    )
    assert response.status_code == 200
    assert response.json()["name"] == "things/t1"
    assert response.json()["size"] == 5
    assert response.json()["tags"] == ["size"]


async def test_custom_verb_and_deep_wildcard(things: Gateway) -> None:
    archived = await things.client.post("/v1/things/t1:archive", json={})
    assert archived.json()["name"] == "things/t1"
    deep = await things.client.get("/v1/files/dir/sub/readme.md")
    assert deep.json()["name"] == "dir/sub/readme.md"


async def test_response_body_field(things: Gateway) -> None:
    response = await things.client.get("/v1/tags", params=[("tags", "x"), ("tags", "y")])
    assert response.json() == ["x", "y"]


async def test_bad_input_is_400_naming_the_field(things: Gateway) -> None:
    response = await things.client.get("/v1/things", params={"size": "large"})
    assert response.status_code == 400
    assert response.json()["code"] == 3
    assert response.json()["message"].startswith('query parameter "size": ')

    body = await things.client.post("/v1/things", json={"sise": 1})
    assert body.status_code == 400
    assert '"sise"' in body.json()["message"]


async def test_an_oversized_body_is_413(things: Gateway) -> None:
    too_big = b'{"name": "' + b"x" * MAX_BODY + b'"}'
    declared = await things.client.post("/v1/things", content=too_big)
    assert declared.status_code == 413
    assert declared.json()["code"] == 3

    async def chunks() -> AsyncIterator[bytes]:
        yield too_big[:600]
        yield too_big[600:]

    chunked = await things.client.post("/v1/things", content=chunks())
    assert chunked.status_code == 413


async def test_wrong_method_lists_the_allowed_ones(things: Gateway) -> None:
    response = await things.client.put("/v1/things/t1", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH"
