"""Connecting only to checked addresses: an httpcore network backend pinned to them.

httpcore asks its backend to connect to the URL's host by name; `PinnedBackend`
refuses any other host or port than the one it was made for and dials the
addresses the guard already resolved and checked, in order, through the inner
backend (`dialer`). There is no second lookup, so DNS rebinding between the
check and the connection cannot happen; TLS still verifies the certificate
against the name (SNI), since httpcore takes that from the URL, not the socket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import httpcore

from extplane.host.egress.addresses import IPAddress

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


def default_dialer() -> httpcore.AsyncNetworkBackend:
    """The real network (anyio on the running asyncio loop)."""
    return httpcore.AnyIOBackend()


class PinnedBackend(httpcore.AsyncNetworkBackend):
    def __init__(
        self,
        dialer: httpcore.AsyncNetworkBackend,
        host: str,
        port: int,
        addresses: Sequence[IPAddress],
    ) -> None:
        self._dialer = dialer
        self._host = host
        self._port = port
        self._addresses = tuple(addresses)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # httpcore hands IPv6 hosts over without brackets, as Target holds them.
        if (host, port) != (self._host, self._port):
            raise httpcore.ConnectError("refused: not the checked destination")
        failure: Exception = httpcore.ConnectError("no checked address to connect to")
        for address in self._addresses:
            try:
                return await self._dialer.connect_tcp(
                    str(address), port, timeout=timeout, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as error:
                failure = error
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("egress never connects to a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._dialer.sleep(seconds)
