"""A typed async client for `orloj.extensions.v1.CapabilityProvider`.

    async with CapabilitiesClient("127.0.0.1:50051") as client:
        snapshot = await client.snapshot(timeout=5.0)
        if snapshot.features.get("audit"):
            ...

Every failure of the call surfaces as `CapabilitiesError`, carrying the gRPC status code.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import grpc

from extplane_client._rpc import ChannelClient
from extplane_client.errors import ExtplaneError
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

DEGRADED_KEY = "extplane.providers.degraded"
CONFLICTS_KEY = "extplane.providers.conflicts"


class CapabilitiesError(ExtplaneError):
    """A `Capabilities` call failed; `code` says how (UNAVAILABLE, DEADLINE_EXCEEDED, ...)."""


@dataclass(frozen=True)
class CapabilitySnapshot:
    """What the deployment supports.

    A feature missing from `features` is unknown to this deployment; one present
    as False is known and not available here.
    """

    features: Mapping[str, bool] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", MappingProxyType(dict(self.features)))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @property
    def degraded_providers(self) -> dict[str, str]:
        """Extension providers left out of this snapshot, name -> reason."""
        entries = self.metadata.get(DEGRADED_KEY, "")
        pairs = (entry.partition("=") for entry in entries.split(",") if entry)
        return {name: reason for name, _, reason in pairs}

    @property
    def conflicts(self) -> tuple[str, ...]:
        """Keys providers tried to set and did not get, as `provider:section.key`."""
        entries = self.metadata.get(CONFLICTS_KEY, "")
        return tuple(entry for entry in entries.split(",") if entry)


class CapabilitiesClient(ChannelClient):
    """Calls one capability service (or any `CapabilityProvider`).

    Given an address, the client opens and owns a channel (TLS per `tls`,
    plaintext without) and `close()` closes it; given a channel, the caller
    keeps ownership of it.
    """

    error_type = CapabilitiesError

    @functools.cached_property
    def _stub(self) -> capabilities_pb2_grpc.CapabilityProviderAsyncStub:
        return capabilities_pb2_grpc.CapabilityProviderStub(self._channel)

    async def snapshot(self, timeout: float = 5.0) -> CapabilitySnapshot:  # noqa: ASYNC109
        """The deployment's current snapshot; raises `CapabilitiesError` on any RPC failure.

        `timeout` (seconds) is sent as the gRPC deadline, so the service and the
        providers it asks honour it too; a local `asyncio.timeout` could not.
        """
        response = await self._unary(
            self._stub.Capabilities, capabilities_pb2.CapabilitiesRequest(), timeout
        )
        if not response.HasField("snapshot"):
            raise CapabilitiesError(grpc.StatusCode.INTERNAL, "response carries no snapshot")
        return CapabilitySnapshot(
            features=dict(response.snapshot.features), metadata=dict(response.snapshot.metadata)
        )
