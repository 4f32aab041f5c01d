"""Benchmark install-token verification with the verified-token cache vs without, in one run.

    .venv/bin/python bench/host_tokens.py           # about half a minute
    .venv/bin/python bench/host_tokens.py --quick   # a few seconds, rough figures

Rows (see bench/README.md):
(a) `verify.cached`: `InstallTokenVerifier.verify` of a token seen before (a
    SHA-256 of the token, an LRU lookup, the enabled-check hook) vs the same
    verifier with the cache off (`cache_size=0`: header parse, Ed25519
    signature check, claim checks on every call). One op is 100 verifications
    of the same token, in-process.
(b) `GetContext.c16`: `ContextService.GetContext` over a real gRPC channel on
    127.0.0.1 through the capability enforcement, 16 calls in flight, with the
    cached verifier vs the uncached one: what the cache is worth on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import grpc.aio
from _harness import BenchmarkError, Comparison, Op, Plan, bench_arguments, compare, plan_from
from _report import format_table, run_header

from extplane.host import (
    TOKEN_METADATA_KEY,
    CapabilityEnforcement,
    HostProviders,
    InstallTokenIssuer,
    InstallTokenVerifier,
)
from extplane.keys import KeyRing, rotate
from extplane.runtime import GrpcServer
from extplane_protos.alga.extension.v1 import context_pb2, context_pb2_grpc

VERIFICATIONS_PER_OP = 100
IN_FLIGHT = 16


def _print(line: str) -> None:
    print(line, flush=True)


def _verify_op(verifier: InstallTokenVerifier, token: str) -> Op:
    async def op() -> object:
        for _ in range(VERIFICATIONS_PER_OP):
            if verifier.verify(token).install_id != "bench-install":
                raise BenchmarkError("the verifier answered another install")
        return None

    return op


@contextlib.asynccontextmanager
async def _host(verifier: InstallTokenVerifier) -> AsyncIterator[grpc.aio.Channel]:
    server = GrpcServer(
        HostProviders(),
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=0,
        interceptors=[CapabilityEnforcement(verifier)],
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            yield channel
    finally:
        await server.stop(0)


def _context_op(channel: grpc.aio.Channel, token: str) -> Op:
    stub = context_pb2_grpc.ContextServiceStub(channel)
    metadata = ((TOKEN_METADATA_KEY, token),)

    async def op() -> object:
        reply = await stub.GetContext(context_pb2.GetContextRequest(), metadata=metadata)
        if reply.context.install_id != "bench-install":
            raise BenchmarkError("GetContext answered another install")
        return reply

    return op


def bench_token(ring: KeyRing) -> str:
    """A token for the bench install, signed by `ring`'s active key."""
    return InstallTokenIssuer(ring).issue(
        tenant_id="bench-tenant",
        extension_id="bench-extension",
        install_id="bench-install",
        capabilities=["cap:context.read"],
    )


async def verify_row(plan: Plan, ring: KeyRing) -> Comparison:
    """Row `verify.cached`: one token verified with the cache vs with it off."""
    token = bench_token(ring)
    cached = InstallTokenVerifier.from_ring(ring)
    uncached = InstallTokenVerifier.from_ring(ring, cache_size=0)
    return await compare(
        "verify.cached", [_verify_op(cached, token)], [_verify_op(uncached, token)], plan=plan
    )


def verify_cost(verify: Comparison) -> str:
    """The line saying what one verification costs with the cache and without."""
    per_call = [
        1e6 / (side.ops_per_s * VERIFICATIONS_PER_OP) for side in (verify.subject, verify.baseline)
    ]
    return (
        f"verify: {per_call[0]:.2f} us per call with the cache, {per_call[1]:.1f} us without "
        f"({verify.ratio:.1f}x faster)"
    )


async def run(plan: Plan, ring: KeyRing) -> list[str]:
    token = bench_token(ring)
    cached = InstallTokenVerifier.from_ring(ring)
    uncached = InstallTokenVerifier.from_ring(ring, cache_size=0)
    rows: list[Comparison] = [await verify_row(plan, ring)]
    async with _host(cached) as fast, _host(uncached) as slow:
        rows.append(
            await compare(
                f"GetContext.c{IN_FLIGHT}",
                [_context_op(fast, token)] * IN_FLIGHT,
                [_context_op(slow, token)] * IN_FLIGHT,
                plan=plan,
            )
        )
    return ["", format_table(rows), verify_cost(rows[0])]


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments(__doc__.splitlines()[0] if __doc__ else "").parse_args(argv)
    plan = plan_from(args)
    for name in [n for n in os.environ if n.startswith("EXTPLANE_")]:
        del os.environ[name]
    notes = [
        f"verify.* ops are {VERIFICATIONS_PER_OP} verifications of one token in-process; "
        f"GetContext over gRPC on 127.0.0.1, {IN_FLIGHT} in flight; baseline: no token cache",
    ]
    _print(run_header("extplane bench: host tokens", plan, notes=notes))
    with tempfile.TemporaryDirectory(prefix="extplane-bench-tokens-") as directory:
        rotate(Path(directory) / "keys")
        ring = KeyRing.load(Path(directory) / "keys")
        try:
            lines = asyncio.run(run(plan, ring))
        except (BenchmarkError, grpc.RpcError) as err:
            print(f"bench: {type(err).__name__}: {err}", file=sys.stderr)
            return 1
    for line in lines:
        _print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
