"""The system resolver's reading of getaddrinfo's answer. The loop's getaddrinfo is
replaced (no test sends a DNS query): what is checked is the name asked (fully
qualified) and the addresses kept (both families, zone ids kept to be refused)."""

from __future__ import annotations

import asyncio
import socket
from ipaddress import ip_address
from typing import Any

import pytest

from extplane.host.egress import SystemResolver
from extplane.host.egress.addresses import refusal


async def test_the_name_is_asked_fully_qualified_and_every_address_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[Any, ...]] = []

    async def answer(host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
        asked.append((host, port, kwargs["type"]))
        tcp = socket.SOCK_STREAM
        return [
            (socket.AF_INET, tcp, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, tcp, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET6, tcp, 6, "", ("fe80::1", port, 0, 3)),
            (socket.AF_INET6, tcp, 6, "", ("2606:4700::1111", port, 0, 0)),
        ]

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "getaddrinfo", answer)
    found = await SystemResolver().resolve("api.example.test", 443)
    assert asked == [("api.example.test.", 443, socket.SOCK_STREAM)]
    assert [str(a) for a in found] == ["93.184.216.34", "fe80::1%3", "2606:4700::1111"]
    assert refusal(found[1]) is not None
    assert ip_address("fe80::1%3") == found[1]
    await SystemResolver().resolve("localhost", 80)  # a single label: as /etc/hosts has it
    assert asked[-1] == ("localhost", 80, socket.SOCK_STREAM)


async def test_no_usable_address_is_an_os_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async def answer(host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
        return []

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", answer)
    with pytest.raises(OSError, match="no IPv4 or IPv6 address"):
        await SystemResolver().resolve("api.example.test", 443)
