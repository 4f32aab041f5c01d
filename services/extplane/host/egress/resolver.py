"""Name resolution for egress, behind a small protocol so tests inject answers.

The guard resolves once per hop and connects only to what it checked; a
resolver is never asked about an IP literal nor a numeric host (see target).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from ipaddress import ip_address
from typing import Protocol

from extplane.host.egress.addresses import IPAddress


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        """Every address `host` (a lower-case DNS name, no trailing dot) has for a
        TCP connection to `port`; raise OSError when it has none."""
        ...


class SystemResolver:
    """The operating system's resolver (`getaddrinfo` on the event loop's executor).

    A name with a dot is looked up fully qualified (a trailing dot), so search
    domains (Kubernetes' `ndots:5`) never turn `api.example.com` into
    `api.example.com.default.svc.cluster.local`; a single label (`localhost`,
    an intranet name) is looked up as given, as /etc/hosts and search domains
    expect. Either way every address is then checked.
    """

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        loop = asyncio.get_running_loop()
        found = await loop.getaddrinfo(
            host + "." if "." in host else host,
            port,
            type=socket.SOCK_STREAM,
            proto=socket.IPPROTO_TCP,
        )
        addresses: list[IPAddress] = []
        for family, _, _, _, sockaddr in found:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            text = str(sockaddr[0])
            scope = sockaddr[3] if len(sockaddr) == 4 else 0
            if scope:
                text = f"{text.split('%')[0]}%{scope}"  # kept so the zone id is refused
            address = ip_address(text)
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise OSError(f"{host} has no IPv4 or IPv6 address")
        return addresses
