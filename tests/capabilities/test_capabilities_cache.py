"""TTL caching with single-flight refreshes, alone and through the real service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from capabilities_support import ManualClock, ServeCapabilities, StartProvider, fetch_snapshot

from extplane.capabilities.cache import Fresh, SingleFlightCache
from extplane.capabilities.config import CapabilitiesSettings


class CountingRefresh:
    """A refresh that returns its call number, optionally held until `release` is set."""

    def __init__(self, *, cacheable: bool = True, hold: bool = False) -> None:
        self.calls = 0
        self.cacheable = cacheable
        self.release = asyncio.Event()
        if not hold:
            self.release.set()

    async def __call__(self) -> Fresh[int]:
        self.calls += 1
        await self.release.wait()
        return Fresh(self.calls, cacheable=self.cacheable)


async def test_within_ttl_the_cached_value_is_served() -> None:
    clock = ManualClock()
    cache: SingleFlightCache[int] = SingleFlightCache(2.0, clock=clock)
    refresh = CountingRefresh()

    values = [await cache.get(refresh) for _ in range(3)]
    clock.advance(1.9)
    values.append(await cache.get(refresh))

    assert values == [1, 1, 1, 1]
    assert refresh.calls == 1


async def test_after_ttl_the_value_is_refreshed() -> None:
    clock = ManualClock()
    cache: SingleFlightCache[int] = SingleFlightCache(2.0, clock=clock)
    refresh = CountingRefresh()

    await cache.get(refresh)
    clock.advance(2.0)

    assert await cache.get(refresh) == 2


async def test_concurrent_callers_share_one_refresh() -> None:
    cache: SingleFlightCache[int] = SingleFlightCache(2.0, clock=ManualClock())
    refresh = CountingRefresh(hold=True)

    waiters = [asyncio.create_task(cache.get(refresh)) for _ in range(10)]
    await asyncio.sleep(0)
    refresh.release.set()

    assert await asyncio.gather(*waiters) == [1] * 10
    assert refresh.calls == 1


async def test_ttl_zero_keeps_nothing_but_still_shares_a_refresh_in_flight() -> None:
    cache: SingleFlightCache[int] = SingleFlightCache(0, clock=ManualClock())
    refresh = CountingRefresh(hold=True)

    waiters = [asyncio.create_task(cache.get(refresh)) for _ in range(5)]
    await asyncio.sleep(0)
    refresh.release.set()
    shared = await asyncio.gather(*waiters)

    assert shared == [1] * 5
    assert await cache.get(refresh) == 2


async def test_a_result_marked_not_cacheable_is_not_kept() -> None:
    cache: SingleFlightCache[int] = SingleFlightCache(60.0, clock=ManualClock())
    refresh = CountingRefresh(cacheable=False)

    assert await cache.get(refresh) == 1
    assert await cache.get(refresh) == 2


async def test_a_caller_giving_up_does_not_cancel_the_shared_refresh() -> None:
    cache: SingleFlightCache[int] = SingleFlightCache(60.0, clock=ManualClock())
    refresh = CountingRefresh(hold=True)

    impatient = asyncio.create_task(cache.get(refresh))
    patient = asyncio.create_task(cache.get(refresh))
    await asyncio.sleep(0)
    impatient.cancel()
    refresh.release.set()

    assert await patient == 1
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert await cache.get(refresh) == 1


async def test_a_failed_refresh_reaches_every_waiter_and_is_not_kept() -> None:
    cache: SingleFlightCache[int] = SingleFlightCache(60.0, clock=ManualClock())
    attempts = 0

    async def failing() -> Fresh[int]:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("boom")

    results = await asyncio.gather(cache.get(failing), cache.get(failing), return_exceptions=True)

    assert [type(result) for result in results] == [RuntimeError, RuntimeError]
    assert attempts == 1
    assert await cache.get(CountingRefresh()) == 1


def test_a_negative_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        SingleFlightCache(-1)


class ArrivalGate(grpc.aio.ServerInterceptor):
    """Sets `all_arrived` once `expected` RPCs reached the server, before their handlers run."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.arrived = 0
        self.all_arrived = asyncio.Event()

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        self.arrived += 1
        if self.arrived >= self.expected:
            self.all_arrived.set()
        return await continuation(handler_call_details)


async def test_concurrent_and_repeated_rpcs_call_each_provider_once_per_ttl(
    start_provider: StartProvider, serve_capabilities: ServeCapabilities
) -> None:
    gate = asyncio.Event()
    first = await start_provider(features={"first": True}, gate=gate)
    second = await start_provider(features={"second": True})
    clock = ManualClock()
    arrivals = ArrivalGate(expected=10)
    settings = CapabilitiesSettings(
        providers=[first.settings("first"), second.settings("second")],
        provider_timeout_s=10.0,
        cache_ttl_s=5.0,
    )
    _, address = await serve_capabilities(settings, clock=clock, interceptors=[arrivals])

    # The first provider is held until all ten RPCs reached the service, so they overlap.
    concurrent = [asyncio.create_task(fetch_snapshot(address, timeout_s=15.0)) for _ in range(10)]
    async with asyncio.timeout(10):
        await arrivals.all_arrived.wait()
    gate.set()
    snapshots = await asyncio.gather(*concurrent)
    snapshots.append(await fetch_snapshot(address))
    clock.advance(4.9)
    snapshots.append(await fetch_snapshot(address))

    assert all(s.features["first"] and s.features["second"] for s in snapshots)
    assert (first.calls, second.calls) == (1, 1)

    clock.advance(0.1)
    await fetch_snapshot(address)
    assert (first.calls, second.calls) == (2, 2)


async def test_ttl_zero_asks_the_providers_on_every_request(
    start_provider: StartProvider, serve_capabilities: ServeCapabilities
) -> None:
    provider = await start_provider(features={"acme": True})
    settings = CapabilitiesSettings(providers=[provider.settings("acme")], cache_ttl_s=0)
    _, address = await serve_capabilities(settings, clock=ManualClock())

    for _ in range(3):
        await fetch_snapshot(address)

    assert provider.calls == 3
