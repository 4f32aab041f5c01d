"""One cached `grpc.aio` channel per upstream address, closed together.

Channels come from the suite's `create_channel`, so keepalive and reconnect
policy match every other outbound call and each call gets a CLIENT span.
"""

from __future__ import annotations

import asyncio

import grpc

from extplane.runtime.channels import create_channel
from extplane.runtime.lifecycle import AsyncLifecycle


class UpstreamChannels(AsyncLifecycle):
    """Channels are opened on first use; `stop()` closes them all and may run twice."""

    def __init__(self, *, grace_s: float | None = None) -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._grace_s = grace_s

    def get(self, address: str) -> grpc.aio.Channel:
        channel = self._channels.get(address)
        if channel is None:
            channel = create_channel(address)
            self._channels[address] = channel
        return channel

    async def stop(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        await asyncio.gather(*(channel.close(self._grace_s) for channel in channels))
