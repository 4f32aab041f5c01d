"""Test doubles of egress, for this repository's tests and for any user of the guard:
a resolver answering from a table, and a dialer that refuses to connect
anywhere outside loopback (so a guard bug fails the test instead of sending
traffic to another address)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from ipaddress import ip_address

import httpcore

from extplane.host.egress.addresses import IPAddress
from extplane.host.egress.connect import SocketOption


class StaticResolver:
    """`answers[name]` is a list of answers, one per lookup in turn (the last
    one repeats), each a list of address strings; an unknown name raises
    OSError (as NXDOMAIN would). `asked` records every lookup."""

    def __init__(self, answers: Mapping[str, Sequence[Sequence[str]]] | None = None) -> None:
        self.answers: dict[str, list[list[str]]] = {
            name: [list(a) for a in seq] for name, seq in (answers or {}).items()
        }
        self.asked: list[tuple[str, int]] = []

    def always(self, name: str, *addresses: str) -> None:
        self.answers[name] = [list(addresses)]

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        self.asked.append((host, port))
        answers = self.answers.get(host)
        if not answers:
            raise OSError(f"{host}: no such name (test resolver)")
        turn = sum(1 for asked, _ in self.asked if asked == host) - 1
        return [ip_address(a) for a in answers[min(turn, len(answers) - 1)]]


class LoopbackOnlyDialer(httpcore.AsyncNetworkBackend):
    """Dials only 127.0.0.0/8 and ::1, through the real network. Any other host
    is recorded in `violations` and refused; `dialled` lists every connection."""

    def __init__(self) -> None:
        self._real = httpcore.AnyIOBackend()
        self.dialled: list[tuple[str, int]] = []
        self.violations: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            loopback = ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            self.violations.append((host, port))
            raise httpcore.ConnectError(f"test dialer: {host} is not loopback")
        self.dialled.append((host, port))
        return await self._real.connect_tcp(
            host, port, timeout=timeout, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.violations.append((path, 0))
        raise httpcore.ConnectError("test dialer: no unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._real.sleep(seconds)
