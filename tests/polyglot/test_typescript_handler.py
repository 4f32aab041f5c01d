"""A HandlerService written in TypeScript, called over real gRPC as the runner calls
it, using the install token it is given to call the real host's StorageService.

The handler is `clients/typescript/examples/handler.ts`, built with `npm run build`
and run with Node as a subprocess. The host is the real HostService (registry,
enforcement, SQLite store) on 127.0.0.1; its tokens are issued by its registry.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from extplane.host import TOKEN_METADATA_KEY
from extplane.runner.handler_metadata import HOST_ADDRESS_KEY, INSTALL_TOKEN_KEY
from extplane_protos.alga.extension.v1 import (
    handler_pb2,
    handler_pb2_grpc,
    storage_pb2,
    storage_pb2_grpc,
    types_pb2,
)
from tests.polyglot.conftest import EXAMPLES_DIST

# real_host imports its siblings by name, as the tests of tests/host do.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))
from real_host import RealHost, serve_real_host

from tests.runner.live_runner import serve_live
from tests.runner.runner_support import ACME_TOKEN

HANDLER_SCRIPT = EXAMPLES_DIST / "handler.js"
STARTUP_TIMEOUT_S = 30.0
EXIT_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 20.0
TENANT = "tenant-a"


@dataclass
class NodeHandler:
    process: asyncio.subprocess.Process
    address: str

    async def stop(self) -> int:
        """SIGTERM, then the exit code; killed if it does not drain in time."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), EXIT_TIMEOUT_S)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        assert self.process.returncode is not None
        return self.process.returncode


async def _start_handler(node: str) -> NodeHandler:
    # The port comes from the environment here (PORT=0: a free one), as a platform sets it.
    env = {**os.environ, "PORT": "0"}
    process = await asyncio.create_subprocess_exec(
        node,
        str(HANDLER_SCRIPT),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), STARTUP_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"TypeScript handler printed nothing in {STARTUP_TIMEOUT_S}s")
    words = line.decode().split()
    if len(words) != 2 or words[0] != "listening":
        await process.wait()
        stderr = (await process.stderr.read()).decode()
        pytest.fail(f"TypeScript handler did not start: {line!r}\n{stderr}")
    return NodeHandler(process, f"127.0.0.1:{int(words[1])}")


@pytest.fixture
async def typescript_handler(node: str) -> AsyncIterator[NodeHandler]:
    handler = await _start_handler(node)
    try:
        yield handler
    finally:
        await handler.stop()


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[RealHost]:
    async with serve_real_host(f"sqlite:{tmp_path / 'host.db'}", tmp_path / "data") as served:
        yield served


def _request(install_id: str, body: bytes | None = None) -> handler_pb2.ExecuteRequest:
    return handler_pb2.ExecuteRequest(
        context=types_pb2.ContextData(
            request_id="req-1",
            tenant_id=TENANT,
            extension_id=f"com.example.{install_id}",
            install_id=install_id,
            version_id="1.0.0",
        ),
        http=types_pb2.HttpRequest(
            method="POST",
            url="https://extensions.example/v1/extensions/app/notes/7?draft=1",
            headers=[types_pb2.HttpHeader(name="content-type", value="text/plain")],
            body=body,
        ),
    )


async def _execute(
    handler: NodeHandler, request: handler_pb2.ExecuteRequest, metadata: tuple[tuple[str, str], ...]
) -> tuple[handler_pb2.ExecuteResponse, dict[str, Any]]:
    async with grpc.aio.insecure_channel(handler.address) as channel:
        stub = handler_pb2_grpc.HandlerServiceStub(channel)
        response = await stub.Execute(request, metadata=metadata, timeout=CALL_TIMEOUT_S)
    assert response.status == 200
    assert [(h.name, h.value) for h in response.headers] == [("content-type", "application/json")]
    assert response.HasField("body")
    body: dict[str, Any] = json.loads(response.body)
    return response, body


async def _runner_metadata(
    host: RealHost, install_id: str, caps: list[str]
) -> tuple[tuple[str, str], ...]:
    """What the runner sends a handler: a fresh token of the install, the host's address."""
    ((key, token),) = await host.install(TENANT, install_id, caps)
    assert key == TOKEN_METADATA_KEY
    return ((INSTALL_TOKEN_KEY, token), (HOST_ADDRESS_KEY, host.address))


async def test_the_handler_echoes_the_request_and_its_context(
    typescript_handler: NodeHandler,
) -> None:
    _, body = await _execute(typescript_handler, _request("app-1"), ())

    assert body == {
        "method": "POST",
        "path": "/v1/extensions/app/notes/7",
        "context": {
            "requestId": "req-1",
            "tenantId": TENANT,
            "extensionId": "com.example.app-1",
            "installId": "app-1",
            "versionId": "1.0.0",
        },
    }


async def test_with_the_install_token_it_puts_and_gets_through_the_host(
    typescript_handler: NodeHandler, host: RealHost
) -> None:
    metadata = await _runner_metadata(host, "app-1", ["cap:storage.kv"])

    _, body = await _execute(typescript_handler, _request("app-1", b"hi from Python"), metadata)

    assert body["method"] == "POST"
    assert body["path"] == "/v1/extensions/app/notes/7"
    assert body["storage"] == {
        "put": {"revision": 1},
        "get": {
            "namespace": "typescript-handler",
            "key": "greeting",
            "value": "hi from Python",
            "revision": 1,
        },
    }
    # The entry is in the host's store, as that install's: read it back ourselves.
    token = metadata[0][1]
    storage = storage_pb2_grpc.StorageServiceStub(host.channel)
    stored = await storage.Get(
        storage_pb2.StorageServiceGetRequest(namespace="typescript-handler", key="greeting"),
        metadata=((TOKEN_METADATA_KEY, token),),
    )
    assert (stored.entry.value, stored.entry.revision) == (b"hi from Python", 1)

    # Without a body it writes its default value; the revision moves on.
    _, again = await _execute(typescript_handler, _request("app-1"), metadata)
    assert again["storage"]["put"] == {"revision": 2}
    assert again["storage"]["get"]["value"] == "hello from TypeScript"


async def test_without_the_capability_it_reports_the_denial_it_got(
    typescript_handler: NodeHandler, host: RealHost
) -> None:
    metadata = await _runner_metadata(host, "app-2", ["cap:context.read"])

    _, body = await _execute(typescript_handler, _request("app-2", b"nope"), metadata)

    error = body["storage"]["error"]
    assert error["code"] == "PERMISSION_DENIED"
    assert error["reason"] == "STORAGE_ERROR_DENIED"
    assert "cap:storage.kv" in error["message"]
    assert set(body["storage"]) == {"error"}  # the put failed: no get was tried


async def test_a_forged_token_is_refused_by_the_host(
    typescript_handler: NodeHandler, host: RealHost
) -> None:
    metadata = ((INSTALL_TOKEN_KEY, "not-a-token"), (HOST_ADDRESS_KEY, host.address))

    _, body = await _execute(typescript_handler, _request("app-1"), metadata)

    assert body["storage"]["error"]["code"] == "UNAUTHENTICATED"


async def test_a_host_address_that_is_not_host_port_is_not_dialled(
    typescript_handler: NodeHandler,
) -> None:
    metadata = ((INSTALL_TOKEN_KEY, "token"), (HOST_ADDRESS_KEY, "http://127.0.0.1:1/x"))

    _, body = await _execute(typescript_handler, _request("app-1"), metadata)

    assert body["storage"]["error"]["code"] == "INVALID_ARGUMENT"
    assert HOST_ADDRESS_KEY in body["storage"]["error"]["message"]


async def test_the_runner_dispatches_the_gateway_route_to_it_as_the_install(
    typescript_handler: NodeHandler, tmp_path: Path
) -> None:
    """The same route a component answers: an install whose version is the TypeScript
    handler's address, called with real HTTP through the gateway; the context is the
    caller's (its token's tenant) and the registry's, and the handler reaches the host
    with the install token the runner issued for this execution."""
    async with serve_live(tmp_path) as live:
        await live.upload_grpc("com.example.ts", typescript_handler.address)
        await live.install("acme", "app-ts", "com.example.ts", ["cap:storage.kv"])
        answer = await live.http.post(
            "/v1/extensions/app-ts/notes/7?draft=1",
            headers={"authorization": f"Bearer {ACME_TOKEN}", "x-extplane-tenant": "globex"},
            content=b"hi through the gateway",
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["method"] == "POST"
        assert body["path"] == "/notes/7?draft=1"  # the route below the install
        context = body["context"]
        assert (context["tenantId"], context["installId"]) == ("acme", "app-ts")
        assert (context["extensionId"], context["versionId"]) == ("com.example.ts", "1.0.0")
        assert body["storage"]["get"]["value"] == "hi through the gateway"
