"""Remote extension providers: each a `CapabilityProvider` asked concurrently, none trusted.

A provider that is slow, dead or answers nonsense never fails the snapshot: its
answer comes back degraded with a reason (the gRPC status code name, or
`MISSING_SNAPSHOT` / `INVALID_SNAPSHOT` for an answer that cannot be merged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from prometheus_client import Counter

from extplane.capabilities.config import ExtensionProviderSettings
from extplane.capabilities.snapshot import Snapshot
from extplane.capabilities.types import ChannelFactory
from extplane.errors import NotServingError
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

logger = logging.getLogger(__name__)

MISSING_SNAPSHOT = "MISSING_SNAPSHOT"
INVALID_SNAPSHOT = "INVALID_SNAPSHOT"

# Providers get slightly less than the caller's remaining time, so that when they
# time out the merged (degraded) snapshot still reaches the caller before its own
# deadline instead of the whole call failing with DEADLINE_EXCEEDED.
RESPONSE_RESERVE_MAX_S = 0.05
RESPONSE_RESERVE_FRACTION = 0.1


class NotStartedError(NotServingError):
    """Providers were queried before `start()` or after `stop()`."""


@dataclass(frozen=True)
class ProviderAnswer:
    """What one provider contributed to one refresh."""

    name: str
    snapshot: Snapshot | None
    degraded: str | None
    deadline_s: float
    cut_by_caller: bool
    """True when the caller's deadline, not the provider's own timeout, set `deadline_s`."""


def provider_deadline(timeout_s: float, caller_remaining_s: float | None) -> tuple[float, bool]:
    """The deadline to give a provider, and whether the caller's deadline was the shorter."""
    if caller_remaining_s is None:
        return timeout_s, False
    reserve = min(RESPONSE_RESERVE_MAX_S, caller_remaining_s * RESPONSE_RESERVE_FRACTION)
    usable = max(0.0, caller_remaining_s - reserve)
    if usable < timeout_s:
        return usable, True
    return timeout_s, False


def _problem(response: capabilities_pb2.CapabilitiesResponse) -> str | None:
    if not response.HasField("snapshot"):
        return MISSING_SNAPSHOT
    if "" in response.snapshot.features or "" in response.snapshot.metadata:
        return INVALID_SNAPSHOT
    return None


class RemoteProvider:
    """One configured provider behind an open channel."""

    def __init__(
        self, name: str, timeout_s: float, channel: grpc.aio.Channel, queries: Counter
    ) -> None:
        self.name = name
        self.timeout_s = timeout_s
        self._stub = capabilities_pb2_grpc.CapabilityProviderStub(channel)
        self._queries = queries

    async def query(self, caller_remaining_s: float | None) -> ProviderAnswer:
        deadline_s, cut = provider_deadline(self.timeout_s, caller_remaining_s)
        snapshot: Snapshot | None = None
        if deadline_s <= 0:
            reason: str | None = grpc.StatusCode.DEADLINE_EXCEEDED.name
        else:
            try:
                response = await self._stub.Capabilities(
                    capabilities_pb2.CapabilitiesRequest(), timeout=deadline_s
                )
            except grpc.aio.AioRpcError as error:
                reason = error.code().name
            except Exception:
                # A provider must never fail the snapshot, whatever went wrong locally.
                logger.exception("capability provider %s: unexpected failure", self.name)
                reason = grpc.StatusCode.UNKNOWN.name
            else:
                reason = _problem(response)
                if reason is None:
                    snapshot = Snapshot.from_proto(response.snapshot)
        self._queries.labels(provider=self.name, outcome=reason or "OK").inc()
        if reason is not None:
            logger.debug(
                "capability provider %s degraded: %s (deadline %.3fs)",
                self.name,
                reason,
                deadline_s,
            )
        return ProviderAnswer(self.name, snapshot, reason, deadline_s, cut)


class ExtensionProviders:
    """The configured providers: channels opened by `start()`, closed by `stop()`."""

    def __init__(
        self,
        settings: Sequence[ExtensionProviderSettings],
        *,
        default_timeout_s: float,
        channel_factory: ChannelFactory,
        queries: Counter,
    ) -> None:
        self._settings = tuple(settings)
        self._queries = queries
        self._default_timeout_s = default_timeout_s
        self._channel_factory = channel_factory
        self._channels: list[grpc.aio.Channel] = []
        self._providers: tuple[RemoteProvider, ...] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(provider.name for provider in self._settings)

    async def start(self) -> None:
        if self._providers is not None:
            return
        providers = []
        for config in self._settings:
            channel = self._channel_factory(config.address)
            self._channels.append(channel)
            timeout_s = config.timeout_s or self._default_timeout_s
            providers.append(RemoteProvider(config.name, timeout_s, channel, self._queries))
        self._providers = tuple(providers)

    async def stop(self) -> None:
        self._providers = None
        channels, self._channels = self._channels, []
        await asyncio.gather(*(channel.close() for channel in channels))

    async def query(self, caller_remaining_s: float | None) -> list[ProviderAnswer]:
        """Every provider's answer, in configured order, all asked at once."""
        if self._providers is None:
            raise NotStartedError("extension providers are not started")
        return list(
            await asyncio.gather(
                *(provider.query(caller_remaining_s) for provider in self._providers)
            )
        )
