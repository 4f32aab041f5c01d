"""Call signatures the capability service names once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc

from extplane.capabilities.snapshot import Snapshot

ChannelFactory = Callable[[str], grpc.aio.Channel]
"""Opens a channel to "host:port"; the runtime passes one that propagates traces."""

Clock = Callable[[], float]
"""Monotonic seconds; injected so tests can move time by hand."""


def insecure_channel(address: str) -> grpc.aio.Channel:
    """The standalone default `ChannelFactory`: a plaintext channel, for a mesh that adds mTLS."""
    return grpc.aio.insecure_channel(address)


SnapshotSource = Callable[[float | None], Awaitable[Snapshot]]
"""Produces the served snapshot given the caller's remaining seconds (None: no deadline)."""
