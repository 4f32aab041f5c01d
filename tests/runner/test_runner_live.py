"""The runner end to end over the real wire: components uploaded to the real
extension registry, installs granted capabilities in the real install registry,
executions on the real worker pool (separate processes, their host calls going
back to the real host over gRPC), answered through the gateway's
`/v1/extensions/{install_id}/…` route to real HTTP requests.

Misbehaving components and workers fail their own request only: the runner
answers the next one."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from host_support import READER_TOKEN

from extplane_protos.alga.extension.v1 import (
    handler_pb2,
    handler_pb2_grpc,
    storage_pb2,
    storage_pb2_grpc,
    types_pb2,
)
from extplane_protos.extplane.admin.v1 import extension_logs_pb2, extension_logs_pb2_grpc
from tests.runner.live_runner import Live, serve_live
from tests.runner.runner_support import ACME_TOKEN, GLOBEX_TOKEN, bearer, error_info
from tests.runner.wasm.guest_build import js_guest, python_guest

# Cold builds and compiles take tens of seconds on a loaded machine.
pytestmark = pytest.mark.timeout(900)


async def _eventually(condition: Callable[[], bool], what: str) -> None:
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


def _execute(live: Live, install_id: str, url: str = "/") -> grpc.aio.UnaryUnaryCall:  # type: ignore[type-arg]
    request = handler_pb2.ExecuteRequest(
        context=types_pb2.ContextData(install_id=install_id),
        http=types_pb2.HttpRequest(method="GET", url=url),
    )
    return handler_pb2_grpc.HandlerServiceStub(live.channel).Execute(
        request, metadata=bearer(ACME_TOKEN), timeout=300
    )


async def test_a_component_answers_through_the_gateway_with_its_host_calls(
    tmp_path: Path,
) -> None:
    async with serve_live(tmp_path) as live:
        await live.upload("com.example.noop", python_guest("noop"))
        await live.install("acme", "app-1", "com.example.noop", ["cap:storage.kv"])
        entry = types_pb2.StorageEntry(namespace="bench", key="settings", value=b"from the host")
        await storage_pb2_grpc.StorageServiceStub(live.host.channel).Put(
            storage_pb2.StorageServicePutRequest(entry=entry),
            metadata=await live.host.token("acme", "app-1"),
        )

        empty = await live.http.get("/v1/extensions/app-1/", headers=_auth(ACME_TOKEN))
        assert empty.status_code == 204, empty.text
        read = await live.http.get("/v1/extensions/app-1/storage-get/3", headers=_auth(ACME_TOKEN))
        assert (read.status_code, read.content) == (200, b"from the host")

        # Another tenant naming the same install id reaches nothing of acme's.
        other = await live.http.get("/v1/extensions/app-1/", headers=_auth(GLOBEX_TOKEN))
        assert other.status_code == 404, other.text


async def test_a_capability_not_granted_fails_that_request_and_the_next_is_served(
    tmp_path: Path,
) -> None:
    async with serve_live(tmp_path) as live:
        await live.upload("com.example.noop", python_guest("noop"))
        await live.install("acme", "bare", "com.example.noop", [])
        denied = await live.http.get("/v1/extensions/bare/storage-get/1", headers=_auth(ACME_TOKEN))
        # The guest does not handle storage's `denied` and traps: its request alone fails.
        assert denied.status_code == 500, denied.text
        assert "trap" in denied.json()["message"]
        assert (
            await live.http.get("/v1/extensions/bare/", headers=_auth(ACME_TOKEN))
        ).status_code == 204


async def test_the_javascript_component_sees_the_context_of_the_call_not_the_clients(
    tmp_path: Path,
) -> None:
    async with serve_live(tmp_path) as live:
        await live.upload("com.example.js", js_guest("js"))
        await live.install(
            "acme",
            "app-js",
            "com.example.js",
            ["cap:context.read", "cap:storage.kv", "cap:log.emit"],
        )
        answer = await live.http.post(
            "/v1/extensions/app-js/hello?x=1",
            headers={
                **_auth(ACME_TOKEN),
                "x-extplane-tenant": "globex",
                "x-extplane-install": "someone-else",
            },
            content=b"hi",
        )
        assert answer.status_code == 200, answer.text
        seen = answer.json()
        assert (seen["tenant"], seen["install"]) == ("acme", "app-js")


async def test_a_trapping_component_fails_alone(tmp_path: Path) -> None:
    async with serve_live(tmp_path) as live:
        await live.upload("com.example.trap", python_guest("trap"))
        await live.upload("com.example.noop", python_guest("noop"))
        await live.install("acme", "trap", "com.example.trap", [])
        await live.install("acme", "fine", "com.example.noop", [])
        trapped = await live.http.get("/v1/extensions/trap/", headers=_auth(ACME_TOKEN))
        assert trapped.status_code == 500
        assert "trap: " in trapped.json()["message"]
        fine = await live.http.get("/v1/extensions/fine/", headers=_auth(ACME_TOKEN))
        assert fine.status_code == 204


async def test_a_worker_killed_mid_request_fails_that_request_only(tmp_path: Path) -> None:
    async with serve_live(tmp_path, workers=1) as live:
        await live.upload("com.example.spin", python_guest("spin"), timeout_ms=120_000)
        await live.upload("com.example.noop", python_guest("noop"))
        await live.install("acme", "spin", "com.example.spin", [])
        await live.install("acme", "fine", "com.example.noop", [])
        pool = live.pool_executor.pool
        [before] = pool.worker_pids()
        stuck = _execute(live, "spin")
        await _eventually(lambda: pool.busy_workers == 1, "the spinning job runs")
        os.kill(before, signal.SIGKILL)
        with pytest.raises(grpc.aio.AioRpcError) as lost:
            await stuck
        assert lost.value.code() is grpc.StatusCode.INTERNAL
        assert error_info(lost.value).reason == "WORKER_LOST"
        after = await _execute(live, "fine")
        assert after.status == 204
        assert pool.worker_pids() != [before]


async def test_a_full_queue_answers_429_with_retry_after(tmp_path: Path) -> None:
    async with serve_live(tmp_path, workers=1, queue_size=1) as live:
        await live.upload("com.example.spin", python_guest("spin"), timeout_ms=3_000)
        await live.install("acme", "spin", "com.example.spin", [])
        pool = live.pool_executor.pool
        running = _execute(live, "spin")
        await _eventually(lambda: pool.busy_workers == 1, "the first job runs")
        waiting = _execute(live, "spin")
        await _eventually(lambda: pool.queued == 1, "the second job waits")
        busy = await live.http.get("/v1/extensions/spin/", headers=_auth(ACME_TOKEN))
        assert busy.status_code == 429, busy.text
        assert int(busy.headers["retry-after"]) >= 1
        for call in (running, waiting):
            with pytest.raises(grpc.aio.AioRpcError) as timed_out:
                await call
            assert timed_out.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
            assert error_info(timed_out.value).reason == "TIMEOUT"


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_what_a_component_writes_to_stderr_reaches_its_install_logs(
    tmp_path: Path,
) -> None:
    """Guest stdout/stderr goes to the logging provider as the install, when it was
    granted `cap:log.emit`; an install without it gets nothing forwarded."""
    async with serve_live(tmp_path) as live:
        await live.upload("com.example.trap", python_guest("trap"))
        await live.install("acme", "loud", "com.example.trap", ["cap:log.emit"])
        await live.install("acme", "quiet", "com.example.trap", [])
        for install in ("loud", "quiet"):
            answer = await live.http.get(f"/v1/extensions/{install}/", headers=_auth(ACME_TOKEN))
            assert answer.status_code == 500

        logs = extension_logs_pb2_grpc.ExtensionLogsServiceStub(live.host.channel)

        async def messages(install: str) -> list[str]:
            listed = await logs.ListExtensionLogs(
                extension_logs_pb2.ListExtensionLogsRequest(tenant="acme", install_id=install),
                metadata=bearer(READER_TOKEN),
            )
            return [record.message for record in listed.records]

        for _ in range(500):
            if any("the trap guest gives up" in m for m in await messages("loud")):
                break
            await asyncio.sleep(0.02)
        loud = await messages("loud")
        assert any(m.startswith("[guest output] ") for m in loud), loud
        assert any("the trap guest gives up" in m for m in loud), loud
        assert await messages("quiet") == []
