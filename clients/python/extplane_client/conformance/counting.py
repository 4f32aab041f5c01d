"""Counters: how a run sees how many events an implementation stored.

The sink contracts cannot say whether a retry was stored twice (the answer
can claim `duplicate` and store it anyway), so "counted once" needs a side
channel. Two ship here: an extplane query service (ours, or yours if you
implement MeteringQueryService / AuditQueryService), and any command that
prints the count (for an implementation in another language: `psql`, `curl`,
a script reading its log). A Python implementer may pass any coroutine.
"""

from __future__ import annotations

import asyncio
import os
import shlex

from extplane_client.audit_query import AuditQueryClient
from extplane_client.conformance._probe import Counter
from extplane_client.metering_query import MeteringQueryClient

NAMESPACE_ENV = "EXTPLANE_CONFORMANCE_NAMESPACE"


def query_counter(client: MeteringQueryClient | AuditQueryClient) -> Counter:
    """Counts through a query service (a `metering.reader` / `audit.reader` token)."""

    async def count(namespace: str) -> int:
        if isinstance(client, MeteringQueryClient):
            return sum([1 async for _ in client.iter_metering_events(namespace=namespace)])
        return sum([1 async for _ in client.iter_audit_events(namespace=namespace)])

    return count


class CountCommandError(RuntimeError):
    """The count command failed or printed something other than one integer."""


def command_counter(command: str, *, timeout_s: float = 10.0) -> Counter:
    """Runs `command` (a shell-style word list, no shell) with the namespace in
    EXTPLANE_CONFORMANCE_NAMESPACE; its standard output must be one integer >= 0."""
    argv = shlex.split(command)
    if not argv:
        raise ValueError("count command: empty")

    async def count(namespace: str) -> int:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, NAMESPACE_ENV: namespace},
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise CountCommandError(f"{argv[0]}: no answer in {timeout_s:g}s") from None
        text = out.decode().strip()
        if process.returncode != 0 or not text.isdigit():
            raise CountCommandError(
                f"{argv[0]} exited {process.returncode}, printed {text[:80]!r}, "
                f"stderr {err.decode()[:200]!r}"
            )
        return int(text)

    return count
