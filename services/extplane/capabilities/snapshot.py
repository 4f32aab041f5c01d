"""The capability snapshot as an immutable value, and its protobuf form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from extplane_protos.orloj.extensions.v1 import capabilities_pb2


@dataclass(frozen=True)
class Snapshot:
    """Features (name -> enabled) and free-form metadata, read-only once built."""

    features: Mapping[str, bool] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Copies, so a cached snapshot cannot be changed through a caller's dict.
        object.__setattr__(self, "features", MappingProxyType(dict(self.features)))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    def to_proto(self) -> capabilities_pb2.CapabilitySnapshot:
        return capabilities_pb2.CapabilitySnapshot(
            features=dict(self.features), metadata=dict(self.metadata)
        )

    @classmethod
    def from_proto(cls, message: capabilities_pb2.CapabilitySnapshot) -> Snapshot:
        return cls(features=dict(message.features), metadata=dict(message.metadata))
