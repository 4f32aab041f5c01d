"""What the WebAssembly host tests share: guests built once per session, jobs and
their outcomes. `run` calls run_job off the event loop (the host's server may
share the test's loop).

Importing it points the worker's disk compile cache at `build/test-wasm-cache`
(gitignored), so a guest is compiled once per engine configuration across test
sessions; the tests of the cache itself use their own directories.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ.setdefault("EXTPLANE_WASM_CACHE_DIR", str(HERE.parents[2] / "build" / "test-wasm-cache"))

from guest_build import Guest, js_guest, python_guest  # noqa: E402

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


async def run(work: WasmJob) -> WasmOutcome:
    return await asyncio.to_thread(run_job, work)


def response(outcome: WasmOutcome) -> handler_pb2.ExecuteResponse:
    assert outcome.failure is None, outcome
    assert outcome.response is not None
    return handler_pb2.ExecuteResponse.FromString(outcome.response)
