"""What the runner dispatches to in these tests.

`EchoHandler`: a gRPC `alga.extension.v1.HandlerService` (a polyglot
extension, written here), which calls the real host's ContextService with the
install token the runner passed, and answers what it saw as JSON.

`ScriptedExecutor`: an `Executor` double for the component path (the real
worker pool arrives at merge). It checks each job's component file against
its hash, then answers the next scripted behaviour, or an echo like the
handler's.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict

from extplane.host.enforcement import TOKEN_METADATA_KEY
from extplane.runner.handler_metadata import HOST_ADDRESS_KEY, INSTALL_TOKEN_KEY
from extplane.runner.jobs import WasmJob, WasmOutcome
from extplane_protos.alga.extension.v1 import (
    context_pb2,
    context_pb2_grpc,
    handler_pb2,
    handler_pb2_grpc,
    types_pb2,
)

Context = grpc.aio.ServicerContext[Any, Any]
# What an answer carries besides its JSON body: one header the gateway passes,
# and some it must not.
GUEST_HEADERS = (
    ("Content-Type", "application/json"),
    ("ETag", '"v1"'),
    ("Set-Cookie", "session=stolen"),
    ("Access-Control-Allow-Origin", "*"),
    ("X-Guest-Secret", "internal"),
)


def seen(request: handler_pb2.ExecuteRequest, **extra: Any) -> bytes:
    return json.dumps(
        {
            "context": MessageToDict(request.context, preserving_proto_field_name=True),
            "method": request.http.method,
            "url": request.http.url,
            "headers": [[h.name, h.value] for h in request.http.headers],
            "body": request.http.body.decode("latin-1") if request.http.HasField("body") else None,
            **extra,
        }
    ).encode()


def echo_response(body: bytes, status: int = 201) -> handler_pb2.ExecuteResponse:
    return handler_pb2.ExecuteResponse(
        status=status,
        headers=[types_pb2.HttpHeader(name=n, value=v) for n, v in GUEST_HEADERS],
        body=body,
    )


@dataclass
class EchoHandler(handler_pb2_grpc.HandlerServiceServicer):
    calls: list[tuple[handler_pb2.ExecuteRequest, dict[str, str]]] = field(default_factory=list)
    # While cleared, executions wait here (concurrent duplicates).
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    fail_with: grpc.StatusCode | None = None

    def __post_init__(self) -> None:
        self.gate.set()

    async def Execute(  # noqa: N802 - the generated servicer names the RPC method
        self, request: handler_pb2.ExecuteRequest, context: Context
    ) -> handler_pb2.ExecuteResponse:
        metadata = {k: str(v) for k, v in (context.invocation_metadata() or ())}
        self.calls.append((request, metadata))
        self.entered.set()
        await self.gate.wait()
        if self.fail_with is not None:
            await context.abort(self.fail_with, "the handler's own failure text")
        # A host call as the install, with the token the runner issued for this execution.
        async with grpc.aio.insecure_channel(metadata[HOST_ADDRESS_KEY]) as channel:
            answer = await context_pb2_grpc.ContextServiceStub(channel).GetContext(
                context_pb2.GetContextRequest(),
                metadata=((TOKEN_METADATA_KEY, metadata[INSTALL_TOKEN_KEY]),),
                timeout=10,
            )
        host = MessageToDict(answer.context, preserving_proto_field_name=True)
        return echo_response(seen(request, host_context=host))


@asynccontextmanager
async def serve_handler(handler: EchoHandler) -> AsyncIterator[str]:
    server = grpc.aio.server()
    handler_pb2_grpc.add_HandlerServiceServicer_to_server(handler, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


Behaviour = Callable[[WasmJob], WasmOutcome]


def echo_outcome(job: WasmJob) -> WasmOutcome:
    request = handler_pb2.ExecuteRequest.FromString(job.request)
    response = echo_response(seen(request, timeout_ms=job.limits.timeout_ms))
    return WasmOutcome(response=response.SerializeToString(), host_calls=3, duration_ms=7)


def failing(failure: str) -> Behaviour:
    return lambda job: WasmOutcome(response=None, failure=failure, host_calls=1, duration_ms=2)


def raising(error: Exception) -> Behaviour:
    def behave(job: WasmJob) -> WasmOutcome:
        raise error

    return behave


@dataclass
class ScriptedExecutor:
    script: deque[Behaviour] = field(default_factory=deque)
    jobs: list[WasmJob] = field(default_factory=list)
    started: bool = False
    stopped: bool = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def run(self, job: WasmJob) -> WasmOutcome:
        assert self.started
        self.jobs.append(job)
        data = await asyncio.to_thread(Path(job.component_path).read_bytes)
        assert hashlib.sha256(data).hexdigest() == job.component_sha256
        behaviour = self.script.popleft() if self.script else echo_outcome
        return behaviour(job)
