"""One cached `grpc.aio` channel per upstream address, closed together.

Channels come from the suite's `create_channel`, so keepalive and reconnect
policy match every other outbound call and each call gets a CLIENT span;
TLS (mTLS with a client certificate) per `tls`, plaintext when it is None.
"""

from __future__ import annotations

import asyncio

import grpc

from extplane.runtime.channels import create_channel
from extplane.runtime.lifecycle import AsyncLifecycle
from extplane_client.tls import ClientTls


class UpstreamChannels(AsyncLifecycle):
    """Channels are opened on first use; `stop()` closes them all and may run twice."""

    def __init__(self, *, grace_s: float | None = None, tls: ClientTls | None = None) -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._grace_s = grace_s
        self._tls = tls

    def get(self, address: str) -> grpc.aio.Channel:
        channel = self._channels.get(address)
        if channel is None:
            channel = create_channel(address, tls=self._tls)
            self._channels[address] = channel
        return channel

    async def stop(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        await asyncio.gather(*(channel.close(self._grace_s) for channel in channels))
