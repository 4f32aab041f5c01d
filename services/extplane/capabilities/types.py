"""Call signatures the capability service names once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc

from extplane.capabilities.snapshot import Snapshot

ChannelFactory = Callable[[str], grpc.aio.Channel]
"""Opens a channel to "host:port"; by default the runtime's, which propagates traces."""

Clock = Callable[[], float]
"""Monotonic seconds; injected so tests can move time by hand."""


SnapshotSource = Callable[[float | None], Awaitable[Snapshot]]
"""Produces the served snapshot given the caller's remaining seconds (None: no deadline)."""
