"""Benchmark `StorageService.Get` through the real host service vs a bare servicer, in one run.

    .venv/bin/python bench/host.py           # about half a minute
    .venv/bin/python bench/host.py --quick   # a few seconds, rough figures

Rows (see bench/README.md):
(a) `grpc.StorageGet.c64`: `StorageService.Get` of one stored entry on the host
    service as deployed (`HostService` behind `GrpcServer` with its interceptors:
    the capability enforcement verifying the install token, served from the
    verified-token cache after the first call, and checking `cap:storage.kv`;
    the SQLite store), 64 calls in flight on one channel, vs a bare `grpc.aio`
    server whose `StorageService` servicer returns a prebuilt copy of the same
    reply from memory. Both are sent the same token metadata.
(b) `verify.cached`: install-token verification with the cache vs without,
    the row of bench/host_tokens.py, run here by its own code.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import grpc.aio
import host_tokens
from _harness import BenchmarkError, Comparison, Op, Plan, bench_arguments, compare, plan_from
from _loopback import bare_grpc_server, forget_proxies, grpc_channel
from _report import format_table, run_header
from prometheus_client import CollectorRegistry

from extplane.host import TOKEN_METADATA_KEY
from extplane.host.config import HostSettings
from extplane.host.service import HostService
from extplane.keys import KeyRing, rotate
from extplane.runtime import GrpcServer
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from extplane_client import InstallsClient
from extplane_protos.alga.extension.v1 import storage_pb2, storage_pb2_grpc, types_pb2

GetRequest = storage_pb2.StorageServiceGetRequest
GetResponse = storage_pb2.StorageServiceGetResponse
PutRequest = storage_pb2.StorageServicePutRequest
PutResponse = storage_pb2.StorageServicePutResponse
DeleteRequest = storage_pb2.StorageServiceDeleteRequest
DeleteResponse = storage_pb2.StorageServiceDeleteResponse
ListRequest = storage_pb2.StorageServiceListRequest
ListResponse = storage_pb2.StorageServiceListResponse

IN_FLIGHT = 64
GET_TARGET = 0.6
# Bench-only bearer tokens of the host's admin API, on a loopback server that
# lives as long as the run.
_ADMIN_TOKEN = "bench-installs-admin-0123456789"
_ISSUER_TOKEN = "bench-installs-issuer-0123456789"
_AUTH = {
    "tokens": [
        {"name": "bench-admin", "token": _ADMIN_TOKEN, "roles": ["installs.admin"]},
        {"name": "bench-runner", "token": _ISSUER_TOKEN, "roles": ["installs.issuer"]},
    ]
}
TENANT = "bench-tenant"
INSTALL = "bench-install"
NAMESPACE = "bench"
KEY = "settings"
VALUE = b'{"theme": "dark", "page_size": 50}'


def _print(line: str) -> None:
    print(line, flush=True)


@dataclass(frozen=True)
class Host:
    """The running host service: its address and the metadata carrying the install's token."""

    address: str
    metadata: tuple[tuple[str, str], ...]


@contextlib.asynccontextmanager
async def host_service(work: Path) -> AsyncIterator[Host]:
    """The host service as `extplane up` serves it, on SQLite, with one install and its entry."""
    kit = ServiceKit.for_directory(
        work / "data", auth=AuthSettings.model_validate(_AUTH), registry=CollectorRegistry()
    )
    service = HostService(HostSettings(port=0, database_url=f"sqlite:{work / 'host.db'}"), kit)
    server = GrpcServer(
        service, host="127.0.0.1", port=0, shutdown_grace_s=0, interceptors=service.interceptors
    )
    await server.start()
    try:
        async with InstallsClient(server.address, token=_ADMIN_TOKEN) as admin:
            await admin.register_install(
                tenant=TENANT,
                install_id=INSTALL,
                extension_id="com.example.bench",
                version="1.0.0",
                granted_capabilities=("cap:storage.kv",),
            )
        async with InstallsClient(server.address, token=_ISSUER_TOKEN) as issuer:
            issued = await issuer.issue_install_token(tenant=TENANT, install_id=INSTALL)
        metadata = ((TOKEN_METADATA_KEY, issued.token),)
        async with grpc_channel(server.address) as channel:
            await storage_pb2_grpc.StorageServiceStub(channel).Put(
                storage_pb2.StorageServicePutRequest(
                    entry=types_pb2.StorageEntry(namespace=NAMESPACE, key=KEY, value=VALUE)
                ),
                metadata=metadata,
            )
        yield Host(server.address, metadata)
    finally:
        await server.stop(0)


class _BareStorage(storage_pb2_grpc.StorageServiceServicer):
    """Answers every Get with a prebuilt copy of the host's reply: no token, no store."""

    def __init__(self, reply: GetResponse) -> None:
        self._reply = reply

    async def Get(  # noqa: N802 (the gRPC method name)
        self, request: GetRequest, context: grpc.aio.ServicerContext[GetRequest, GetResponse]
    ) -> GetResponse:
        return self._reply

    # Only Get is measured; the others exist because the servicer's stub declares them.
    async def Put(  # noqa: N802
        self, request: PutRequest, context: grpc.aio.ServicerContext[PutRequest, PutResponse]
    ) -> PutResponse:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "bare baseline: Get only")

    async def Delete(  # noqa: N802
        self,
        request: DeleteRequest,
        context: grpc.aio.ServicerContext[DeleteRequest, DeleteResponse],
    ) -> DeleteResponse:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "bare baseline: Get only")

    async def List(  # noqa: N802
        self, request: ListRequest, context: grpc.aio.ServicerContext[ListRequest, ListResponse]
    ) -> ListResponse:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "bare baseline: Get only")


def _get_op(channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> Op:
    stub = storage_pb2_grpc.StorageServiceStub(channel)
    request = storage_pb2.StorageServiceGetRequest(namespace=NAMESPACE, key=KEY)

    async def op() -> object:
        reply = await stub.Get(request, metadata=metadata)
        if reply.entry.value != VALUE:
            raise BenchmarkError("Get answered another value")
        return reply

    return op


async def get_row(plan: Plan, work: Path) -> Comparison:
    """Row `grpc.StorageGet.c64`: the host service's Get vs the bare servicer's."""
    async with host_service(work) as host, grpc_channel(host.address) as channel:
        stub = storage_pb2_grpc.StorageServiceStub(channel)
        reply = await stub.Get(
            storage_pb2.StorageServiceGetRequest(namespace=NAMESPACE, key=KEY),
            metadata=host.metadata,
        )
        bare = _BareStorage(reply)
        async with (
            bare_grpc_server(
                lambda server: storage_pb2_grpc.add_StorageServiceServicer_to_server(bare, server)
            ) as bare_address,
            grpc_channel(bare_address) as bare_channel,
        ):
            return await compare(
                f"grpc.StorageGet.c{IN_FLIGHT}",
                [_get_op(channel, host.metadata)] * IN_FLIGHT,
                [_get_op(bare_channel, host.metadata)] * IN_FLIGHT,
                plan=plan,
            )


def target(get: Comparison) -> list[str]:
    verdict = "met" if get.ratio >= GET_TARGET else "MISSED"
    return [
        "",
        "target (issue 11):",
        f"  {get.name}: ratio {get.ratio:.2f} (>= {GET_TARGET}): {verdict}",
    ]


async def run(plan: Plan, work: Path) -> list[str]:
    get = await get_row(plan, work)
    rotate(work / "keys")
    verify = await host_tokens.verify_row(plan, KeyRing.load(work / "keys"))
    return [
        "",
        format_table([get, verify]),
        host_tokens.verify_cost(verify),
        *target(get),
    ]


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments(__doc__.splitlines()[0] if __doc__ else "").parse_args(argv)
    plan = plan_from(args)
    for name in [n for n in os.environ if n.startswith("EXTPLANE_")]:
        del os.environ[name]
    forget_proxies()
    notes = [
        f"grpc.StorageGet: host service (enforcement, cached token, SQLite) vs a bare "
        f"servicer answering from memory, {IN_FLIGHT} in flight on 127.0.0.1",
        f"verify.* ops are {host_tokens.VERIFICATIONS_PER_OP} verifications of one token "
        "in-process; baseline: no token cache",
    ]
    _print(run_header("extplane bench: host storage", plan, notes=notes))
    with tempfile.TemporaryDirectory(prefix="extplane-bench-host-") as directory:
        try:
            lines = asyncio.run(run(plan, Path(directory)))
        except (BenchmarkError, grpc.RpcError) as err:
            print(f"bench: {type(err).__name__}: {err}", file=sys.stderr)
            return 1
    for line in lines:
        _print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
