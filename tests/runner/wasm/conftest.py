"""Fixtures of the WebAssembly host tests: guests built once per source hash, the
real host service on 127.0.0.1, and `run` (run_job off the event loop, since the
host's server shares the test's loop).

The worker's disk compile cache is `build/test-wasm-cache` (gitignored), so a
guest is compiled once per engine configuration across test sessions; the
tests of the cache itself use their own directories.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "host"))
os.environ["EXTPLANE_WASM_CACHE_DIR"] = str(HERE.parents[2] / "build" / "test-wasm-cache")

from guest_build import Guest, js_guest, python_guest  # noqa: E402
from real_host import RealHost, serve_real_host  # noqa: E402

from extplane.runner.jobs import ExecutionLimits, WasmJob, WasmOutcome  # noqa: E402
from extplane.runner.wasm import run_job  # noqa: E402
from extplane_protos.alga.extension.v1 import handler_pb2, types_pb2  # noqa: E402

_built: dict[str, Guest] = {}


def guest(name: str) -> Guest:
    """The guest `name`, built at most once per session (and once per source hash)."""
    if name not in _built:
        _built[name] = js_guest(name) if name == "js" else python_guest(name)
    return _built[name]


def request(
    body: bytes | None = None, *, url: str = "/", tenant: str = "t1", install: str = "i1"
) -> bytes:
    return handler_pb2.ExecuteRequest(
        context=types_pb2.ContextData(
            request_id="req-1", tenant_id=tenant, extension_id="com.example.ext", install_id=install
        ),
        http=types_pb2.HttpRequest(method="POST", url=url, body=body),
    ).SerializeToString()


def job(
    name: str,
    body: bytes | None = None,
    *,
    address: str = "127.0.0.1:9",
    token: str = "no-token",
    url: str = "/",
    limits: ExecutionLimits | None = None,
) -> WasmJob:
    built = guest(name)
    return WasmJob(
        component_sha256=built.sha256,
        component_path=str(built.path),
        request=request(body, url=url),
        host_address=address,
        install_token=token,
        limits=limits or ExecutionLimits(),
    )


Run = Callable[[WasmJob], "asyncio.Future[WasmOutcome]"]


async def run(work: WasmJob) -> WasmOutcome:
    return await asyncio.to_thread(run_job, work)


def response(outcome: WasmOutcome) -> handler_pb2.ExecuteResponse:
    assert outcome.failure is None, outcome
    assert outcome.response is not None
    return handler_pb2.ExecuteResponse.FromString(outcome.response)


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[RealHost]:
    async with serve_real_host(f"sqlite:{tmp_path / 'host.db'}", tmp_path / "data") as real:
        yield real
